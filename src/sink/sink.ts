/**
 * What the pipeline needs of a sink, and nothing of how Kafka does it: the session, the
 * snapshot and the scripts hold a `Sink`; only run-active.ts and the scripts build one
 * (`KafkaSink`). A module of its own, without kafkajs, so that the pieces of the sink
 * (produce-plan.ts, send-queue.ts, kafka-sink.ts) and its callers share these types without
 * importing each other.
 */
import type { SyncError } from '../errors.ts';

/** One record for Kafka. `timestamp` is milliseconds since the epoch, as a decimal string. */
export interface SinkMessage {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer;
  timestamp: string;
}

export interface EnsureTopicsOptions {
  create: boolean;
  partitions: number;
  replicationFactor: number;
}

/** The largest record a topic takes, as `Sink.recordLimit` tells it. */
export interface RecordLimit {
  /** The largest key + value bytes a record may have to be accepted. */
  bytes: number;
  maxRecordBytes: number;
  maxMessageBytes: number;
  /** With compression the broker checks the compressed batch: only maxRecordBytes is certain. */
  compressed: boolean;
}

export interface Sink {
  /**
   * Connects; after a failed send, also what makes the sink take sends again (once the
   * sends issued before the failure settled). Rejects with a SyncError.
   */
  connect(): Promise<void>;
  /**
   * Makes sure the topics exist (creating the missing ones when `create` is set) and
   * returns each topic's partition count: the partitions records may be sent to.
   */
  ensureTopics(topics: readonly string[], opts: EnsureTopicsOptions): Promise<Map<string, number>>;
  /**
   * Sends the records and resolves once the brokers acknowledged all of them. Sends land in
   * call order, also when the caller does not wait for one before the next. A failed send
   * rejects, and so does every send after it, without sending anything of them, until
   * `connect()` is called again. The messages and their buffers must not change until the
   * send settled.
   */
  send(messages: readonly SinkMessage[]): Promise<void>;
  /**
   * A transactional sink's (delivery exactly-once): ends the open transaction behind every
   * send before the call and ahead of every send after it. `last()` is asked once the sends
   * before it were acknowledged and the callbacks chained on them ran; its records (the
   * checkpoint that covers the transaction) go last into it. Resolves once committed.
   */
  commit?(last: () => readonly SinkMessage[]): Promise<void>;
  /** The largest record `topic` takes, to skip or refuse one before it is queued. */
  recordLimit(topic: string): RecordLimit;
  /** Closes the connections. Sends in flight fail: await them first. */
  disconnect(): Promise<void>;
}

/** Told of every send and of the sink's connection (metrics and health, src/ops; the sink knows nothing of them). */
export interface SinkObserver {
  /** A send was queued. Each is followed by exactly one `settled`. */
  sending(messages: readonly SinkMessage[]): void;
  /** The send was acknowledged (`error` null) or failed. */
  settled(messages: readonly SinkMessage[], error: SyncError | null): void;
  /** The sink connected (true), or was disconnected or failed a send, so that it needs connect() again (false). */
  connection(up: boolean): void;
}
