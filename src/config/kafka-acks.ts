import type { SyncConfig } from './config-schema.ts';

/** `kafka.acks` as kafkajs takes it: all → -1, 1 → 1, 0 → 0. */
export function kafkaAcks(config: Pick<SyncConfig, 'kafka'>): -1 | 0 | 1 {
  const { acks } = config.kafka;
  return acks === 'all' ? -1 : acks;
}
