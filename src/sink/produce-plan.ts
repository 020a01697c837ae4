/**
 * How one `send` becomes produce requests, without I/O: checks every record against
 * maxRecordBytes and the topic's partition count, groups the records by topic and partition
 * (keeping their order) and cuts each partition's records into record batches the broker
 * accepts.
 *
 * Why cut: kafkajs puts all records of one partition in a produce request into ONE record
 * batch, and the broker refuses a batch above the topic's `max.message.bytes` (1 MiB by
 * default) with MESSAGE_TOO_LARGE, so 5,000 records of 200 bytes for one partition cannot
 * go in one request. A partition's batches go into consecutive "rounds"; round k+1 starts only
 * after round k was acknowledged, so a partition's records land in the order given.
 */
import { SyncError } from '../errors.ts';
import type { SinkMessage } from './sink.ts';

/** What the plan needs to know of a topic. */
export interface TopicLimits {
  partitions: number;
  /** The topic's max.message.bytes: the largest record batch the broker accepts. */
  maxMessageBytes: number;
}

export interface PlanOptions {
  /** Largest key + value of one record; above it the whole send is refused. */
  maxRecordBytes: number;
  /** At most this many records of one partition in one record batch. */
  maxBatchRecords: number;
  /** A round (one produce request) holds at most about this many bytes of records. */
  maxRequestBytes: number;
  /** The topic's limits, or undefined when the sink does not know the topic yet. */
  limits: (topic: string) => TopicLimits | undefined;
}

/** A topic's part of a round: its records in order, and the same grouped by partition (one record batch each). */
export interface RoundTopic {
  topic: string;
  messages: SinkMessage[];
  partitions: { partition: number; messages: SinkMessage[] }[];
}

/** One produce request: what goes to kafkajs `sendBatch` as `topicMessages`. */
export interface ProduceRound {
  topicMessages: RoundTopic[];
  records: number;
  /** Key + value bytes of the round's records. */
  bytes: number;
}

export interface ProducePlan {
  rounds: ProduceRound[];
  /** Topics the limits function did not know; the plan must be made again once they are known. */
  unknownTopics: string[];
  records: number;
  bytes: number;
  /** The largest record (key + value bytes), for messages about it. */
  largest: { topic: string; partition: number; bytes: number } | null;
}

/** Upper bound of what a record adds to its key and value in a v2 record batch (varints, attributes, no headers). */
export const RECORD_OVERHEAD_BYTES = 32;
/** The v2 record batch header. */
export const BATCH_OVERHEAD_BYTES = 61;
/** The broker default of max.message.bytes (message.max.bytes), used for a topic whose setting is unknown. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

interface PartitionBatches {
  partition: number;
  batches: SinkMessage[][];
  /** Key + value bytes of each batch. */
  batchBytes: number[];
  current: SinkMessage[];
  /** Estimated size of the current batch in the record batch (with per-record overhead). */
  currentBytes: number;
  /** Key + value bytes of the current batch. */
  currentRaw: number;
}

interface TopicGroup {
  topic: string;
  limits: TopicLimits | undefined;
  /** Largest estimated record batch (max.message.bytes less the batch header). */
  batchLimit: number;
  partitions: Map<number, PartitionBatches>;
  order: PartitionBatches[];
}

function tooLarge(m: SinkMessage, size: number, limit: number): SyncError {
  const keyBytes = m.key === null ? 0 : m.key.length;
  return new SyncError(
    'RECORD_TOO_LARGE',
    `a record for topic ${m.topic} partition ${m.partition} has ${size} bytes (key ${keyBytes} + value ${m.value.length}), ` +
      `more than kafka.maxRecordBytes (${limit}); nothing of this batch was sent. Raise kafka.maxRecordBytes (and the topic's ` +
      'max.message.bytes) if Kafka should take such records, or leave the table or column that makes them out of the sync',
  );
}

function badPartition(m: SinkMessage, limits: TopicLimits | undefined): SyncError {
  const range = limits === undefined ? 'a partition is an integer >= 0' : `it has partitions 0 to ${limits.partitions - 1}`;
  return new SyncError(
    'KAFKA_TOPIC_MISSING',
    `topic ${m.topic} has no partition ${String(m.partition)} (${range}); nothing of this batch was sent. ` +
      "A topic's partition count must not change while syncing: restore it, or restart the sync so that it reads the count again",
  );
}

/**
 * The plan for `messages`. Throws SyncError RECORD_TOO_LARGE for a record above
 * maxRecordBytes and KAFKA_TOPIC_MISSING for a partition the topic does not have, before
 * anything is sent. One pass over the messages; the message objects are passed on as they
 * are (kafkajs reads key, value, partition and timestamp, and ignores topic).
 */
export function planProduce(messages: readonly SinkMessage[], options: PlanOptions): ProducePlan {
  const { maxRecordBytes, maxBatchRecords, maxRequestBytes } = options;
  const groups = new Map<string, TopicGroup>();
  const groupOrder: TopicGroup[] = [];
  const unknownTopics: string[] = [];
  let bytes = 0;
  let largest: ProducePlan['largest'] = null;
  let largestBytes = -1;

  // The last topic and partition seen, to skip map look-ups for runs of the same ones.
  let lastTopic: string | undefined;
  let group: TopicGroup | undefined;
  let lastPartition = -1;
  let part: PartitionBatches | undefined;

  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const size = m.value.length + (m.key === null ? 0 : m.key.length);
    if (size > maxRecordBytes) throw tooLarge(m, size, maxRecordBytes);
    bytes += size;

    if (m.topic !== lastTopic || group === undefined) {
      group = groups.get(m.topic);
      if (group === undefined) {
        const limits = options.limits(m.topic);
        if (limits === undefined) unknownTopics.push(m.topic);
        const maxMessageBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
        group = {
          topic: m.topic,
          limits,
          batchLimit: Math.max(1, maxMessageBytes - BATCH_OVERHEAD_BYTES),
          partitions: new Map(),
          order: [],
        };
        groups.set(m.topic, group);
        groupOrder.push(group);
      }
      lastTopic = m.topic;
      lastPartition = -1;
    }

    const p = m.partition;
    if (p !== lastPartition || part === undefined) {
      part = group.partitions.get(p);
      if (part === undefined) {
        if (!Number.isInteger(p) || p < 0 || (group.limits !== undefined && p >= group.limits.partitions)) {
          throw badPartition(m, group.limits);
        }
        part = { partition: p, batches: [], batchBytes: [], current: [], currentBytes: 0, currentRaw: 0 };
        group.partitions.set(p, part);
        group.order.push(part);
      }
      lastPartition = p;
    }

    if (size > largestBytes) {
      largestBytes = size;
      largest = { topic: m.topic, partition: p, bytes: size };
    }

    const recordBytes = size + RECORD_OVERHEAD_BYTES;
    if (part.current.length > 0 && (part.current.length >= maxBatchRecords || part.currentBytes + recordBytes > group.batchLimit)) {
      part.batches.push(part.current);
      part.batchBytes.push(part.currentRaw);
      part.current = [];
      part.currentBytes = 0;
      part.currentRaw = 0;
    }
    part.current.push(m);
    part.currentBytes += recordBytes;
    part.currentRaw += size;
  }

  // Batch k of every partition goes in a round before batch k+1 of any: a "level". A level
  // above maxRequestBytes is split into several rounds (by partition, so order still holds).
  let levels = 0;
  for (const g of groupOrder) {
    for (const p of g.order) {
      if (p.current.length > 0) {
        p.batches.push(p.current);
        p.batchBytes.push(p.currentRaw);
        p.current = [];
      }
      if (p.batches.length > levels) levels = p.batches.length;
    }
  }

  const rounds: ProduceRound[] = [];
  for (let level = 0; level < levels; level++) {
    let round: ProduceRound | undefined;
    let roundTopic: RoundTopic | undefined;
    let shared = false; // whether roundTopic.messages is still a batch array (not a copy)
    for (const g of groupOrder) {
      for (const p of g.order) {
        const batch = p.batches[level];
        if (batch === undefined) continue;
        const batchBytes = p.batchBytes[level]!;
        if (round === undefined || (round.records > 0 && round.bytes + batchBytes > maxRequestBytes)) {
          round = { topicMessages: [], records: 0, bytes: 0 };
          rounds.push(round);
          roundTopic = undefined;
        }
        if (roundTopic === undefined || roundTopic.topic !== g.topic) {
          roundTopic = { topic: g.topic, messages: batch, partitions: [] };
          shared = true;
          round.topicMessages.push(roundTopic);
        } else {
          if (shared) {
            roundTopic.messages = roundTopic.messages.slice();
            shared = false;
          }
          for (let i = 0; i < batch.length; i++) roundTopic.messages.push(batch[i]!);
        }
        roundTopic.partitions.push({ partition: p.partition, messages: batch });
        round.records += batch.length;
        round.bytes += batchBytes;
      }
    }
  }

  return { rounds, unknownTopics, records: messages.length, bytes, largest };
}
