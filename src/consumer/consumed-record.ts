/**
 * One Kafka message as the consumer hands it on: decoded and rendered, or null for what
 * holds no record (a tombstone, DTS's small NOOP padding). Pure.
 */
import type { KafkaMessage } from 'kafkajs';
import { decodeRecord } from '../dts/decoder.ts';
import type { DtsRecord } from '../dts/dts-record.ts';
import { renderRecord } from '../dts/record-render.ts';
import { SyncError } from '../errors.ts';
import type { ConsumedRecord } from './consumer-types.ts';

/** DTS pads idle partitions with small NOOP records; the public Java demo drops values of 48 bytes or fewer. */
const NOOP_MAX_BYTES = 48;

/** The record of message `m` at `topic`[`partition`]@`offset`; DECODE_FAILED when it is not a DTS record. */
export function consumedRecord(topic: string, partition: number, offset: bigint, m: KafkaMessage): ConsumedRecord | null {
  const value = m.value;
  if (value === null || value.length === 0) return null; // a tombstone
  let raw: DtsRecord;
  try {
    raw = decodeRecord(value);
  } catch (e) {
    if (value.length <= NOOP_MAX_BYTES) return null;
    const why = e instanceof Error ? e.message : String(e);
    throw new SyncError('DECODE_FAILED', `the message at ${topic}[${partition}]@${offset} is ${why}; it was not processed or committed`, { cause: e });
  }
  return {
    topic,
    partition,
    offset,
    key: m.key ?? null,
    timestamp: BigInt(m.timestamp),
    value,
    raw,
    record: renderRecord(raw),
  };
}
