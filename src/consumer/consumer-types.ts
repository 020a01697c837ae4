/** What a DtsConsumer takes and hands out (consumer.ts has the behaviour). */
import type { DecodedRecord } from '../dts/record-render.ts';
import type { DtsRecord } from '../dts/dts-record.ts';
import type { ConsumerLogger, ConsumerSasl, ConsumerTls } from './kafka-client.ts';

export interface DtsConsumerOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** consumer group id: committed offsets are stored under it */
  readonly group: string;
  readonly clientId?: string;
  readonly sasl?: ConsumerSasl;
  readonly tls?: ConsumerTls;
  /** default 'assign' */
  readonly mode?: 'assign' | 'subscribe';
  /** assign mode: the partitions to read (default [0]) */
  readonly partitions?: readonly number[];
  /** the initial checkpoint: UNIX seconds, or 'earliest' for the start of the topic */
  readonly checkpoint?: number | 'earliest' | null;
  /** default true: start from `checkpoint` at each start; false: from the stored checkpoint */
  readonly useConfigCheckpoint?: boolean;
  /** the local checkpoint file; null or absent: none */
  readonly checkpointFile?: string | null;
  /** default true; false never commits (a read-only pass, e.g. verify) */
  readonly commit?: boolean;
  /** default 1000; 0 commits after every record */
  readonly commitIntervalMs?: number;
  /** default 30000 */
  readonly sessionTimeoutMs?: number;
  /** assign mode: stop once every partition is read up to its end as of the start */
  readonly exitAtEnd?: boolean;
  readonly logger?: ConsumerLogger;
  /** kafkajs' retries of a failed request (default 5) */
  readonly retries?: number;
}

/** One record as the handler gets it. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** the message key: for DML, the JSON array of the key values (src/route/message-key.ts) */
  readonly key: Buffer | null;
  /** the message timestamp, ms (the commit time: sourceTimestamp × 1000) */
  readonly timestamp: bigint;
  readonly value: Buffer;
  /** the Avro record as decoded */
  readonly raw: DtsRecord;
  /** the same with every value as MySQL prints it */
  readonly record: DecodedRecord;
}

export type RecordHandler = (record: ConsumedRecord) => void | Promise<void>;

export interface ConsumerStats {
  /** records handed to the handler and processed */
  readonly records: number;
  /** messages skipped: tombstones and DTS NOOP fillers */
  readonly skipped: number;
}
