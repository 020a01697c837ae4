/**
 * How every connection to the source connects (the sync's binlog and queries, its snapshot
 * workers and streamed copies, the server-id lock, verify): one function, so that none of
 * them can differ in TLS (the host-name check included, sourceSsl) or timeouts. In config/
 * rather than pipeline/ so that verify and the pipeline's modules take it without importing
 * the sync session.
 */
import type { SyncConfig } from './config-schema.ts';
import { sourceSsl } from './tls-files.ts';

export function sourceConnection(config: SyncConfig) {
  const ssl = sourceSsl(config.source.tls);
  return {
    host: config.source.host,
    port: config.source.port,
    user: config.source.user,
    password: config.source.password,
    connectTimeoutMs: config.source.connectTimeoutMs,
    ...(ssl ? { ssl } : {}),
  };
}
