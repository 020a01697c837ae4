import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import type { RowChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import { chunkMessages, EncodedChunkWriter, ID_ROOM, writeVersionAndId } from '../../../src/snapshot/encoded-chunk.ts';
import { column } from '../../fixtures/column.ts';

const table: TableSchema = {
  database: 'shop',
  table: 'orders',
  columns: [column('id', 'bigint', { nullable: false }), column('note', 'text', { charset: 'utf8mb4' })],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [],
};
const low = { file: 'mysql-bin.000003', position: 4567, gtid: '0-1-9' };
const source: SourceInfo = { position: low, transactionStart: low, commitTimestamp: 1_700_000_000, serverId: 1, threadId: 0, gtid: low.gtid };
const ctx = { sourceVersion: '10.11.19-MariaDB-log', readerTimestampMs: 1_700_000_000_500 };
const row = (id: bigint, note: string): RowChangeEvent => ({
  kind: 'row', operation: 'INIT', table, before: null, after: [id, Buffer.from(note.repeat(1 + Number(id % 50n)))], source,
});

test('a chunk sent with ids gives, record by record, the bytes encodeEvent writes with those ids', () => {
  // Small first sizes: the writer must grow its buffer and its offsets on the way.
  const writer = new EncodedChunkWriter(2, 64);
  const events = Array.from({ length: 300 }, (_, i) => row(BigInt(i), `n${i} ✓ `));
  events.forEach((e, i) => writer.add(i % 7 === 0 ? null : Buffer.from(`["${i}"]`), Buffer.from(encodeEvent(e, { ...ctx, id: 0n })), i % 3));
  const chunk = writer.finish();
  assert.equal(chunk.count, 300);
  // Ids across the number and bigint ranges of the varint writer.
  const ids = events.map((_, i) => (i < 150 ? BigInt(i * 1000) : 2n ** 51n - 75n + BigInt(i) * 2n ** 40n));
  let next = 0;
  const messages = chunkMessages(chunk, { topic: 't', timestamp: '1700000000500', nextId: () => ids[next++]! });
  assert.equal(messages.length, 300);
  messages.forEach((m, i) => {
    assert.deepEqual(m.value, encodeEvent(events[i]!, { ...ctx, id: ids[i]! }), `record ${i}`);
    assert.deepEqual(m.key, i % 7 === 0 ? null : Buffer.from(`["${i}"]`));
    assert.equal(m.partition, i % 3);
    assert.equal(m.topic, 't');
    assert.equal(m.timestamp, '1700000000500');
  });
});

test('the largest id fits the room left before a value; values not encoded with id 0 are refused', () => {
  const bytes = new Uint8Array(ID_ROOM);
  assert.equal(writeVersionAndId(bytes, ID_ROOM, 2n ** 63n - 1n), 0);
  assert.deepEqual([...bytes], [0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.throws(() => writeVersionAndId(bytes, ID_ROOM, 2n ** 64n), /does not fit a long/);
  const writer = new EncodedChunkWriter();
  assert.throws(() => writer.add(null, encodeEvent(row(1n, 'x'), { ...ctx, id: 5n }), 0), /id 0/);
});

test("a writer given a sent chunk's buffers writes into them", () => {
  const first = new EncodedChunkWriter(10, 4096);
  first.add(null, encodeEvent(row(1n, 'a'), { ...ctx, id: 0n }), 0);
  const sent = first.finish();
  const again = new EncodedChunkWriter(10, 4096, sent);
  again.add(Buffer.from('k'), encodeEvent(row(2n, 'b'), { ...ctx, id: 0n }), 0);
  const chunk = again.finish();
  assert.equal(chunk.bytes, sent.bytes);
  assert.equal(chunk.offsets, sent.offsets);
  const [m] = chunkMessages(chunk, { topic: 't', timestamp: '1', nextId: () => 77n });
  assert.deepEqual(m!.value, encodeEvent(row(2n, 'b'), { ...ctx, id: 77n }));
});
