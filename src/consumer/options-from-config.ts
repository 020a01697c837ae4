import fs from 'node:fs';
import { SyncError } from '../errors.ts';
import type { ConsumeConfig } from './consume-config.ts';
import type { DtsConsumerOptions } from './consumer.ts';
import type { ConsumerLogger, ConsumerTls } from './kafka-client.ts';

/** The library's options for a validated config: TLS files read, the rest as is. */
export function consumerOptionsFromConfig(c: ConsumeConfig, logger?: ConsumerLogger): DtsConsumerOptions {
  return {
    brokers: c.brokers,
    topic: c.topic,
    group: c.group,
    clientId: c.clientId,
    ...(c.sasl ? { sasl: c.sasl } : {}),
    ...(c.tls.enabled ? { tls: readTls(c.tls) } : {}),
    mode: c.mode,
    ...(c.partitions ? { partitions: c.partitions } : {}),
    checkpoint: c.checkpoint ?? null,
    useConfigCheckpoint: c.useConfigCheckpoint,
    checkpointFile: c.checkpointFile,
    commitIntervalMs: c.commitIntervalMs,
    sessionTimeoutMs: c.sessionTimeoutMs,
    exitAtEnd: c.exitAtEnd,
    ...(logger ? { logger } : {}),
  };
}

function readTls(tls: ConsumeConfig['tls']): ConsumerTls {
  const read = (option: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new SyncError('CONFIG_INVALID', `tls.${option} ${file} cannot be read (${(e as Error).message}); give the path of a PEM file`, { cause: e });
    }
  };
  const ca = read('ca', tls.ca);
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}
