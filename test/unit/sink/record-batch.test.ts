/**
 * The sink's record batch encoder (src/sink/record-batch.ts) must give byte for byte what
 * kafkajs' own RecordBatch encoder (kafkajs 2.2.4, src/protocol/recordBatch/v0) gives for
 * the same records and producer fields, and what kafkajs' decoder reads back as the records.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { isSyncError } from '../../../src/errors.ts';
import { crc32c } from '../../../src/sink/crc32c.ts';
import { type BatchRecord, encodeRecordBatch, encodeRecordBatchAsync, RECORD_BATCH_HEADER_BYTES, type RecordBatchOptions } from '../../../src/sink/record-batch.ts';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: Record<string, unknown>) => unknown;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<DecodedBatch>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;

interface DecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  records: { key: Buffer | null; value: Buffer | null; timestamp: string; offset: string; headers: Record<string, unknown> }[];
}

/** kafkajs' encoding of one partition's batch, as its produce request v3 builds it (timestamps of equal length). */
async function kafkajsBatch(records: readonly BatchRecord[], options: RecordBatchOptions = {}): Promise<Buffer> {
  const sorted = records.map((r) => r.timestamp).sort();
  const firstTimestamp = sorted[0]!;
  const encoded = records.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: Number(r.timestamp) - Number(firstTimestamp) }));
  const batch = await RecordBatch({
    compression: options.compression === 'gzip' ? 1 : 0,
    records: encoded,
    firstTimestamp,
    maxTimestamp: sorted[sorted.length - 1],
    producerId: String(options.producerId ?? -1),
    producerEpoch: options.producerEpoch ?? -1,
    firstSequence: options.baseSequence ?? -1,
    transactional: options.transactional === true,
    lastOffsetDelta: encoded.length - 1,
  });
  return batch.buffer;
}

async function decoded(batch: Buffer): Promise<DecodedBatch> {
  return decodeRecordBatch(new Decoder(batch));
}

const T0 = 1_700_000_000_000;

function records(n: number, make: (i: number) => Partial<BatchRecord> = () => ({})): BatchRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.alloc(200, i & 0xff),
    timestamp: String(T0 + i),
    ...make(i),
  }));
}

const cases: [string, BatchRecord[]][] = [
  ['one record', records(1)],
  ['null keys and empty values', records(50, (i) => ({ key: i % 3 === 0 ? null : Buffer.alloc(i % 5), value: i % 4 === 0 ? Buffer.alloc(0) : Buffer.from(`v${i}`) }))],
  ['values across every varint length (0 to 2 MiB)', [0, 1, 63, 64, 127, 128, 8191, 8192, 1_048_575, 1_048_576, 2 * 1024 * 1024].map((n, i) => ({ key: Buffer.alloc(i * 20, 1), value: Buffer.alloc(n, i), timestamp: String(T0) }))],
  ['a 900 KiB value among small ones', records(5, (i) => (i === 2 ? { value: Buffer.alloc(900 * 1024, 7) } : {}))],
  ['20,000 records (offset deltas over 2^14)', records(20_000, (i) => ({ value: Buffer.alloc(i % 300, i & 0xff) }))],
  [
    'timestamps out of order, deltas of every varint length, one over 2^32 ms',
    [0, 63, 64, 8191, 8192, 2 ** 20, 2 ** 27, 2 ** 28, 2 ** 31, 2 ** 32 + 5, 7, 3].map((d, i) => ({ key: null, value: Buffer.from([i]), timestamp: String(T0 + d) })),
  ],
  ['all in the same millisecond', records(100, () => ({ timestamp: String(T0) }))],
];

for (const [name, recs] of cases) {
  test(`same bytes as kafkajs: ${name}`, async () => {
    assert.ok(encodeRecordBatch(recs).equals(await kafkajsBatch(recs)), 'compression none');
    assert.ok(encodeRecordBatch(recs, { compression: 'gzip' }).equals(await kafkajsBatch(recs, { compression: 'gzip' })), 'gzip');
  });
}

test('same bytes as kafkajs with an idempotent producer (producer id, epoch, base sequence)', async () => {
  const recs = records(10);
  for (const options of [
    { producerId: '4711', producerEpoch: 3, baseSequence: 100 },
    { producerId: 9_007_199_254_740_993n, producerEpoch: 0, baseSequence: 0 },
    { producerId: 0, producerEpoch: 32_767, baseSequence: 2_147_483_600, compression: 'gzip' as const },
  ]) {
    const ours = encodeRecordBatch(recs, options);
    assert.ok(ours.equals(await kafkajsBatch(recs, options)), JSON.stringify(options, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    const back = await decoded(ours);
    assert.equal(back.producerId, String(options.producerId));
    assert.equal(back.producerEpoch, options.producerEpoch);
    assert.equal(back.firstSequence, options.baseSequence);
  }
});

test('a transactional producer: the transactional attribute bit, with and without gzip, as kafkajs writes it', async () => {
  const recs = records(10);
  for (const compression of ['none', 'gzip'] as const) {
    const options = { producerId: '4711', producerEpoch: 3, baseSequence: 100, transactional: true, compression };
    const ours = await encodeRecordBatchAsync(recs, options);
    assert.ok(ours.equals(await kafkajsBatch(recs, options)), compression);
    assert.equal((await decoded(ours)).inTransaction, true);
    assert.equal((await decoded(encodeRecordBatch(recs, { ...options, transactional: false }))).inTransaction, false);
  }
});

test('kafkajs decodes the records back exactly, gzip too; header fields as documented', async () => {
  const recs = cases[1]![1].concat(cases[5]![1]);
  for (const compression of ['none', 'gzip'] as const) {
    const batch = encodeRecordBatch(recs, { compression });
    const back = await decoded(batch);
    assert.equal(back.firstOffset, '0');
    assert.equal(back.lastOffsetDelta, recs.length - 1);
    const times = recs.map((r) => Number(r.timestamp));
    assert.equal(back.firstTimestamp, String(Math.min(...times)));
    assert.equal(back.maxTimestamp, String(Math.max(...times)));
    assert.equal(back.producerId, '-1');
    assert.equal(back.producerEpoch, -1);
    assert.equal(back.firstSequence, -1);
    assert.equal(back.inTransaction, false);
    assert.equal(back.records.length, recs.length);
    back.records.forEach((r, i) => {
      const want = recs[i]!;
      assert.equal(r.offset, String(i));
      assert.equal(r.timestamp, want.timestamp, `timestamp ${i}`);
      assert.deepEqual(r.key, want.key, `key ${i}`);
      assert.deepEqual(r.value, want.value, `value ${i}`);
      assert.deepEqual(r.headers, {});
    });
    // Magic 2, the length, the attributes and the CRC over attributes..end.
    assert.equal(batch[16], 2);
    assert.equal(batch.readInt32BE(8), batch.length - 12);
    assert.equal(batch.readInt16BE(21), compression === 'gzip' ? 1 : 0);
    assert.equal(batch.readUInt32BE(17), crc32c(batch, 21));
  }
});

test('gzip holds exactly the uncompressed records section', () => {
  const recs = records(300, (i) => ({ key: i % 2 === 0 ? null : Buffer.from([i & 0xff]) }));
  const plain = encodeRecordBatch(recs);
  const gzipped = encodeRecordBatch(recs, { compression: 'gzip' });
  assert.ok(gzipped.length < plain.length / 5);
  assert.ok(zlib.gunzipSync(gzipped.subarray(RECORD_BATCH_HEADER_BYTES)).equals(plain.subarray(RECORD_BATCH_HEADER_BYTES)));
  // Everything of the header but the length, the CRC and the attributes is the same.
  assert.ok(gzipped.subarray(23, RECORD_BATCH_HEADER_BYTES).equals(plain.subarray(23, RECORD_BATCH_HEADER_BYTES)));
});

test('the async encoder gives the same bytes', async () => {
  const recs = records(2_000);
  for (const compression of ['none', 'gzip'] as const) {
    assert.ok((await encodeRecordBatchAsync(recs, { compression })).equals(encodeRecordBatch(recs, { compression })), compression);
  }
});

test('the records are read, never changed, and the caller can reuse one value buffer', () => {
  const shared = Buffer.from('same value');
  const recs = records(3, () => ({ value: shared }));
  const before = recs.map((r) => ({ ...r }));
  const batch = encodeRecordBatch(recs);
  assert.deepEqual(recs, before);
  assert.equal(shared.toString(), 'same value');
  let copies = 0;
  for (let at = batch.indexOf('same value'); at >= 0; at = batch.indexOf('same value', at + 1)) copies++;
  assert.equal(copies, 3);
});

test('a timestamp that is not whole milliseconds from 0 to 2^50 is ENCODE_FAILED, naming the record', () => {
  for (const bad of ['', 'abc', '1.5', '-1', '1e20', String(2 ** 50 + 1), 'NaN']) {
    const recs = records(3);
    recs[1] = { ...recs[1]!, timestamp: bad };
    assert.throws(
      () => encodeRecordBatch(recs),
      (e: unknown) => isSyncError(e) && e.code === 'ENCODE_FAILED' && e.message.includes('record 1') && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  assert.doesNotThrow(() => encodeRecordBatch(records(1, () => ({ timestamp: '0' }))));
  assert.doesNotThrow(() => encodeRecordBatch(records(1, () => ({ timestamp: String(2 ** 50) }))));
});

test('an empty batch is refused', () => {
  assert.throws(() => encodeRecordBatch([]), RangeError);
});
