import { readTlsFiles } from '../config/tls-files.ts';
import type { ConsumeConfig } from './consume-config.ts';
import type { DtsConsumerOptions } from './consumer.ts';
import type { ConsumerLogger } from './kafka-client.ts';

/** The library's options for a validated config: TLS files read, the rest as is. */
export function consumerOptionsFromConfig(c: ConsumeConfig, logger?: ConsumerLogger): DtsConsumerOptions {
  return {
    brokers: c.brokers,
    topic: c.topic,
    group: c.group,
    clientId: c.clientId,
    ...(c.sasl ? { sasl: c.sasl } : {}),
    ...(c.tls.enabled ? { tls: readTlsFiles(c.tls, 'tls') } : {}),
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
