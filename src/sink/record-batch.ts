/**
 * Encodes one partition's records as a Kafka RecordBatch v2 (magic 2, brokers >= 0.11), the
 * bytes a produce request v3+ carries per partition. Pure (no I/O but gzip).
 *
 * Why not kafkajs' own encoder: it builds a Record object, an Encoder and several small
 * Buffers per record, writes varints through Long objects and byte arrays, and checksums a
 * byte at a time; that was about 8-10 µs of CPU per 200-byte record, most of the sink's CPU.
 * This one computes an upper bound of the size, writes every record straight into one
 * Buffer (no object per record), and checksums with a slicing-by-16 CRC-32C (crc32c.ts).
 *
 * The output is byte for byte what kafkajs' RecordBatch encoder (kafkajs 2.2.4,
 * src/protocol/recordBatch/v0) makes of the same records and producer fields
 * (test/unit/sink/record-batch.test.ts checks it), so the broker sees nothing new:
 * - baseOffset 0, partitionLeaderEpoch 0 (the broker sets both), magic 2;
 * - firstTimestamp is the SMALLEST timestamp of the batch and maxTimestamp the largest
 *   (kafkajs' choice; each record's delta is then >= 0), CreateTime;
 * - no headers, record attributes 0;
 * - producerId / producerEpoch / baseSequence as given: -1, -1, -1 (the Java client's "none")
 *   for a producer that is not idempotent; the transactional attribute bit (0x10) for a
 *   transactional producer's batches;
 * - gzip (zlib defaults, as kafkajs) compresses the records section only; the CRC covers
 *   attributes to the end, compressed bytes included.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SyncError } from '../errors.ts';
import { crc32c } from './crc32c.ts';

const gzipAsync = promisify(zlib.gzip);

/** What a record batch needs of a record; SinkMessage has these fields. */
export interface BatchRecord {
  key: Buffer | null;
  value: Buffer;
  /** Milliseconds since the epoch (CreateTime), as a decimal string. */
  timestamp: string;
}

export interface RecordBatchOptions {
  compression?: 'none' | 'gzip';
  /** -1 (the default) for a producer that is not idempotent; a string as kafkajs holds it otherwise. */
  producerId?: bigint | number | string;
  /** -1 by default. */
  producerEpoch?: number;
  /** The first record's sequence number; -1 by default. */
  baseSequence?: number;
  /** Part of a transaction (a transactional producer): the batch's attributes say so. */
  transactional?: boolean;
}

/** Bytes before the first record: baseOffset .. record count. */
export const RECORD_BATCH_HEADER_BYTES = 61;
/** Most a record adds to its key and value: length 5, attributes 1, timestamp delta 8, offset delta 5, key and value lengths 5 + 5, headers 1. */
const RECORD_MAX_OVERHEAD = 30;
/** Largest timestamp taken (year ~37,000): keeps every delta and its zigzag form exact in a double. */
const MAX_TIMESTAMP = 2 ** 50;
const ATTRIBUTES_GZIP = 1;
const ATTRIBUTES_TRANSACTIONAL = 0x10;

// Offsets in the batch header.
const LENGTH_AT = 8;
const MAGIC_AT = 16;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

/** Timestamps of the batch being encoded (one encode at a time: everything here is synchronous). */
let timestamps = new Float64Array(1024);

/** Bytes of an unsigned varint of v (0 <= v < 2^53). */
function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (let x = Math.floor(v / 0x800000000); x > 0; x = Math.floor(x / 0x80)) n++;
  return n;
}

/** Writes v (0 <= v < 2^53) as an unsigned varint at pos; returns the position after it. */
function writeUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80; // & takes the low 32 bits, which hold the low 7
    v = v < 0x80000000 ? v >>> 7 : Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Copies src to buf at pos; a short one by hand, because a native call costs more than the bytes. */
function put(buf: Buffer, pos: number, src: Buffer): number {
  const n = src.length;
  if (n <= 16) {
    for (let j = 0; j < n; j++) buf[pos + j] = src[j]!;
  } else {
    buf.set(src, pos);
  }
  return pos + n;
}

function writeUint64(buf: Buffer, pos: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / 0x100000000), pos);
  buf.writeUInt32BE(v >>> 0, pos + 4);
}

function badTimestamp(index: number, value: unknown): SyncError {
  return new SyncError(
    'ENCODE_FAILED',
    `record ${index} of a record batch has timestamp ${JSON.stringify(value)}; a Kafka record timestamp must be milliseconds since the epoch, ` +
      `a decimal integer from 0 to ${MAX_TIMESTAMP}`,
  );
}

/** Most bytes the uncompressed batch of `records` can take (recordBatchBound; writeRecordBatchInto needs that much room). */
export function recordBatchBound(records: readonly BatchRecord[]): number {
  let bound = RECORD_BATCH_HEADER_BYTES + records.length * RECORD_MAX_OVERHEAD;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    bound += r.value.length + (r.key === null ? 0 : r.key.length);
  }
  return bound;
}

/**
 * The batch with its records uncompressed and every header field but the CRC and the
 * length filled in, exactly as long as its bytes.
 */
function encodePlain(records: readonly BatchRecord[], options: RecordBatchOptions): Buffer {
  const buf = Buffer.allocUnsafe(recordBatchBound(records));
  return buf.subarray(0, writePlain(records, options, buf, 0));
}

/**
 * Writes the uncompressed batch at `at` (recordBatchBound(records) bytes of room), every
 * field but the CRC and the length; returns where it ends.
 */
function writePlain(records: readonly BatchRecord[], options: RecordBatchOptions, buf: Buffer, at: number): number {
  const count = records.length;
  if (count === 0) throw new RangeError('a record batch needs at least one record');
  if (timestamps.length < count) timestamps = new Float64Array(Math.max(count, timestamps.length * 2));
  const ts = timestamps;

  // Pass 1: timestamps (their smallest is the base of the deltas).
  let first = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    const t = Number(r.timestamp);
    if (!(t >= 0 && t <= MAX_TIMESTAMP && Number.isInteger(t)) || r.timestamp === '') throw badTimestamp(i, r.timestamp);
    ts[i] = t;
    if (t < first) first = t;
    if (t > max) max = t;
  }

  // Pass 2: the records. A record is: length, attributes 0, timestamp delta, offset delta,
  // key, value, header count 0; lengths and deltas as zigzag varints (2n for n >= 0, 1 for -1).
  let pos = at + RECORD_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    const key = r.key;
    const value = r.value;
    const delta2 = (ts[i]! - first) * 2;
    const offset2 = i * 2;
    const value2 = value.length * 2;
    const keyBytes = key === null ? 1 : uvarintSize(key.length * 2) + key.length;
    const body = 2 + uvarintSize(delta2) + uvarintSize(offset2) + keyBytes + uvarintSize(value2) + value.length;
    pos = writeUvarint(buf, pos, body * 2);
    buf[pos++] = 0;
    pos = writeUvarint(buf, pos, delta2);
    pos = writeUvarint(buf, pos, offset2);
    if (key === null) {
      buf[pos++] = 1;
    } else {
      pos = writeUvarint(buf, pos, key.length * 2);
      pos = put(buf, pos, key);
    }
    pos = writeUvarint(buf, pos, value2);
    pos = put(buf, pos, value);
    buf[pos++] = 0;
  }

  buf.writeUInt32BE(0, at); // baseOffset
  buf.writeUInt32BE(0, at + 4);
  buf.writeInt32BE(0, at + 12); // partitionLeaderEpoch
  buf[at + MAGIC_AT] = 2;
  buf.writeInt16BE(options.transactional === true ? ATTRIBUTES_TRANSACTIONAL : 0, at + ATTRIBUTES_AT);
  buf.writeInt32BE(count - 1, at + 23); // lastOffsetDelta
  writeUint64(buf, at + 27, first);
  writeUint64(buf, at + 35, max);
  buf.writeBigInt64BE(BigInt(options.producerId ?? -1), at + 43);
  buf.writeInt16BE(options.producerEpoch ?? -1, at + 51);
  buf.writeInt32BE(options.baseSequence ?? -1, at + 53);
  buf.writeInt32BE(count, at + 57);
  return pos;
}

/**
 * encodeRecordBatch without compression, written into `out` at `at` (which needs
 * recordBatchBound(records) bytes of room) instead of a Buffer of its own, so that a
 * produce request is one allocation; returns where the batch ends.
 */
export function writeRecordBatchInto(records: readonly BatchRecord[], options: RecordBatchOptions, out: Buffer, at: number): number {
  if ((options.compression ?? 'none') !== 'none') throw new RangeError('writeRecordBatchInto writes uncompressed batches only');
  const end = writePlain(records, options, out, at);
  seal(out.subarray(at, end));
  return end;
}

/** Sets the length and the CRC, once everything else is in place. */
function seal(batch: Buffer): Buffer {
  batch.writeInt32BE(batch.length - LENGTH_AT - 4, LENGTH_AT);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_AT, batch.length), CRC_AT);
  return batch;
}

/** The batch with `compressed` as its records section and the gzip attribute set (beside the plain batch's others). */
function withCompressed(plain: Buffer, compressed: Buffer): Buffer {
  const batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + compressed.length);
  plain.copy(batch, 0, 0, RECORD_BATCH_HEADER_BYTES);
  batch.set(compressed, RECORD_BATCH_HEADER_BYTES);
  batch.writeInt16BE(plain.readInt16BE(ATTRIBUTES_AT) | ATTRIBUTES_GZIP, ATTRIBUTES_AT);
  return seal(batch);
}

/** The record batch of `records` (at least one), gzip on this thread. */
export function encodeRecordBatch(records: readonly BatchRecord[], options: RecordBatchOptions = {}): Buffer {
  const batch = encodePlain(records, options);
  if ((options.compression ?? 'none') === 'none') return seal(batch);
  return withCompressed(batch, zlib.gzipSync(batch.subarray(RECORD_BATCH_HEADER_BYTES)));
}

/**
 * The same bytes as encodeRecordBatch, but gzip runs on libuv's thread pool, so that the
 * main thread (which also reads the binlog and encodes Avro) does not spend its time
 * compressing, and several partitions compress at once. Without compression it is
 * synchronous work in a promise.
 */
export async function encodeRecordBatchAsync(records: readonly BatchRecord[], options: RecordBatchOptions = {}): Promise<Buffer> {
  const batch = encodePlain(records, options);
  if ((options.compression ?? 'none') === 'none') return seal(batch);
  return withCompressed(batch, await gzipAsync(batch.subarray(RECORD_BATCH_HEADER_BYTES)));
}
