/**
 * The consumer library: `DtsConsumer` (records one by one with `for await`, or to a
 * handler with `run`), the config loader `npm run consume` uses, and its printers.
 * docs/consumer.md shows both ways.
 */
export { DtsConsumer, type ConsumedRecord, type ConsumerStats, type DtsConsumerOptions, type RecordHandler } from './consumer.ts';
export { consumeConfigSchema, type ConsumeConfig } from './consume-config.ts';
export { loadConsumeConfig, parseConsumeConfig, type ConsumeOverrides } from './load-consume-config.ts';
export type { ConsumerLogger, ConsumerSasl, ConsumerTls } from './kafka-client.ts';
export { readLocalCheckpoint, type LocalCheckpoint, type PartitionCheckpoint } from './local-checkpoint.ts';
export { formatJson, formatText, toJsonRecord, type JsonColumn, type JsonRecord } from './record-format.ts';
export { consumerOptionsFromConfig } from './options-from-config.ts';
