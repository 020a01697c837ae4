/**
 * verify's topic and bucket logic without servers: records built with the codec, source
 * rows as canonical values, compared through real bucket files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ConsumedRecord } from '../../../src/consumer/consumer.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import type { ChangeEvent, RowOperation } from '../../../src/model/change-event.ts';
import type { ColumnValue } from '../../../src/model/column-value.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import type { Canonical } from '../../../src/verify/canonical.ts';
import { compareBucket, type CompareContext } from '../../../src/verify/compare.ts';
import { emptyTableReport, type TableReport } from '../../../src/verify/report.ts';
import { sourceLine } from '../../../src/verify/source-scan.ts';
import { BucketWriter } from '../../../src/verify/spill.ts';
import { parsePosition, TopicOps } from '../../../src/verify/topic-ops.ts';
import type { VerifiedTable } from '../../../src/verify/verified-table.ts';
import { column } from '../../fixtures/column.ts';

const keyed: TableSchema = {
  database: 'd', table: 't',
  columns: [column('id', 'int', { nullable: false }), column('name', 'varchar', { charset: 'utf8mb4' })],
  primaryKey: { name: 'PRIMARY', columns: ['id'] }, uniqueKeys: [],
};
const keyless: TableSchema = { database: 'd', table: 'bag', columns: [column('x', 'int')], primaryKey: null, uniqueKeys: [] };
const tables: VerifiedTable[] = [
  { index: 0, database: 'd', table: 't', topic: 'topic', schema: keyed, key: ['id'], keyIndexes: [0] },
  { index: 1, database: 'd', table: 'bag', topic: 'topic', schema: keyless, key: null, keyIndexes: [] },
];

let offset = 0n;
/** A consumed record: `op` on `schema` at binlog position `pos` of file 3, with record id `id`. */
function record(schema: TableSchema, op: RowOperation, pos: number, id: bigint, before: ColumnValue[] | null, after: ColumnValue[] | null, partition = 0): ConsumedRecord {
  const at = { file: 'mysql-bin.000003', position: pos };
  const event: ChangeEvent = { kind: 'row', operation: op, table: schema, before, after, source: { position: at, transactionStart: at, commitTimestamp: 1, serverId: 1, threadId: 1, gtid: null } };
  const value = Buffer.from(encodeEvent(event, { id, sourceVersion: 'x', readerTimestampMs: 0 }));
  const raw = decodeRecord(value);
  return { topic: 'topic', partition, offset: offset++, key: null, timestamp: 0n, value, raw, record: renderRecord(raw) };
}

function ddl(sql: string, pos: number, id: bigint): ConsumedRecord {
  const at = { file: 'mysql-bin.000003', position: pos };
  const value = Buffer.from(encodeEvent({ kind: 'ddl', database: 'd', sql, source: { position: at, transactionStart: at, commitTimestamp: 1, serverId: 1, threadId: 1, gtid: null } }, { id, sourceVersion: 'x', readerTimestampMs: 0 }));
  const raw = decodeRecord(value);
  return { topic: 'topic', partition: 0, offset: offset++, key: null, timestamp: 0n, value, raw, record: renderRecord(raw) };
}

const r = (id: number, name: string): ColumnValue[] => [BigInt(id), Buffer.from(name)];

/** Runs the topic records and source rows through bucket files and compares them. */
async function verify(records: ConsumedRecord[], sourceRows: { t: [string, string][]; bag: string[] }, o: { buckets?: number; maxBucketBytes?: number; snapshot?: { file: number; pos: number } } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-unit-'));
  try {
    const buckets = o.buckets ?? 1;
    const file = (b: number, side: string) => path.join(dir, `b${b}.${side}`);
    const topicWriter = new BucketWriter(Array.from({ length: buckets }, (_, b) => file(b, 'topic')), 0);
    const ops = new TopicOps(tables, topicWriter, o.snapshot ?? null);
    for (const rec of records) ops.add(rec);
    topicWriter.close();
    const sourceWriter = new BucketWriter(Array.from({ length: buckets }, (_, b) => file(b, 'source')), 0);
    for (const [id, name] of sourceRows.t) {
      const { digest, line } = sourceLine(tables[0]!, [id, Buffer.from(name)] as Canonical[]);
      sourceWriter.add(digest, line);
    }
    for (const x of sourceRows.bag) {
      const { digest, line } = sourceLine(tables[1]!, [x]);
      sourceWriter.add(digest, line);
    }
    sourceWriter.close();
    const reports: TableReport[] = tables.map((t) => emptyTableReport(t.database, t.table, t.topic, t.key));
    const ctx: CompareContext = { tables, reports, truncates: ops.truncates, maxBucketBytes: o.maxBucketBytes ?? 1 << 30, examples: 3, splits: 0 };
    for (let b = 0; b < buckets; b++) await compareBucket(file(b, 'topic'), file(b, 'source'), 0, ctx);
    return { t: reports[0]!, bag: reports[1]!, counters: ops.counters, splits: ctx.splits, left: fs.readdirSync(dir) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const line = (t: TableReport) => [t.sourceRows, t.topicRows, t.missing, t.extra, t.different];

test('last image per key: UPDATE, DELETE, a key-changing UPDATE, INIT as INSERT', async () => {
  const res = await verify([
    record(keyed, 'INIT', 10, 1n, null, r(1, 'a')),
    record(keyed, 'INSERT', 20, 2n, null, r(2, 'b')),
    record(keyed, 'INSERT', 30, 3n, null, r(3, 'c')),
    record(keyed, 'UPDATE', 40, 4n, r(1, 'a'), r(1, 'a2')),
    record(keyed, 'DELETE', 50, 5n, r(2, 'b'), null),
    record(keyed, 'UPDATE', 60, 6n, r(3, 'c'), r(30, 'c')),
  ], { t: [['1', 'a2'], ['30', 'c']], bag: [] });
  assert.deepEqual(line(res.t), [2, 2, 0, 0, 0]);
  assert.equal(res.t.matching, 2);
});

test('order is the binlog order, whatever the partitions and offsets; records produced again change nothing', async () => {
  const res = await verify([
    // partition 1 was read first; the UPDATE moved key 1 to 2 there.
    record(keyed, 'UPDATE', 40, 4n, r(1, 'a'), r(2, 'a'), 1),
    record(keyed, 'INSERT', 10, 1n, null, r(1, 'a'), 0),
    // the synchronizer crashed and produced 10..40 again with new ids
    record(keyed, 'INSERT', 10, 1001n, null, r(1, 'a'), 0),
    record(keyed, 'UPDATE', 40, 1002n, r(1, 'a'), r(2, 'a'), 1),
  ], { t: [['2', 'a']], bag: [] });
  assert.deepEqual(line(res.t), [1, 1, 0, 0, 0]);
});

test('missing, extra and different rows, with examples', async () => {
  const res = await verify([
    record(keyed, 'INSERT', 10, 1n, null, r(1, 'a')),
    record(keyed, 'INSERT', 11, 2n, null, r(2, 'b')),
    record(keyed, 'INSERT', 12, 3n, null, r(3, 'c')),
    record(keyed, 'DELETE', 13, 4n, r(3, 'c'), null),
  ], { t: [['1', 'a'], ['2', 'B'], ['3', 'c'], ['4', 'd']], bag: [] });
  assert.deepEqual(line(res.t), [4, 2, 2, 0, 1]);
  assert.deepEqual(res.t.examples.missing.sort(), [
    'key ["3"]: the topic\'s last record of it removes it (DELETE at topic[0]@' + String(offset - 1n) + ' (position 13@3))',
    'key ["4"]: no record of it in the topic',
  ]);
  assert.match(res.t.examples.different[0]!, /^key \["2"\]: name differ; last record INSERT at topic\[0\]@\d+ \(position 11@3\)$/);
  const extra = await verify([record(keyed, 'INSERT', 10, 1n, null, r(9, 'z'))], { t: [], bag: [] });
  assert.deepEqual(line(extra.t), [0, 1, 0, 1, 0]);
  assert.match(extra.t.examples.extra[0]!, /^key \["9"\]: not in the source; last record INSERT/);
});

test('a TRUNCATE removes the rows written before it; records after the snapshot and of other tables are left out', async () => {
  const other: TableSchema = { ...keyed, table: 'other' };
  const res = await verify([
    record(keyed, 'INSERT', 10, 1n, null, r(1, 'a')),
    record(keyed, 'INSERT', 11, 2n, null, r(2, 'b')),
    ddl('TRUNCATE TABLE `d`.`t`', 20, 3n),
    record(keyed, 'INSERT', 30, 4n, null, r(3, 'c')),
    record(keyed, 'INSERT', 500, 5n, null, r(4, 'late')),
    record(other, 'INSERT', 31, 6n, null, r(1, 'x')),
  ], { t: [['3', 'c']], bag: [] }, { snapshot: { file: 3, pos: 100 } });
  assert.deepEqual(line(res.t), [1, 1, 0, 0, 0]);
  assert.deepEqual(res.counters, { records: 3, afterSnapshot: 1, otherTables: 1, unkeyable: 0 });
  assert.deepEqual(parsePosition('72469@78'), { file: 78, pos: 72469 });
  assert.deepEqual(parsePosition('weird'), { file: 0, pos: 0 });
});

test('keyless tables: a multiset of rows; duplicates in the table count, a change produced twice does not', async () => {
  const x = (v: number): ColumnValue[] => [BigInt(v)];
  const first = record(keyless, 'INSERT', 10, 1n, null, x(1));
  const second = record(keyless, 'INSERT', 10, 2n, null, x(1)); // same rows event: a real duplicate row
  const res = await verify([
    first, second,
    record(keyless, 'INSERT', 20, 3n, null, x(2)),
    record(keyless, 'UPDATE', 30, 4n, x(2), x(3)),
    // produced again after a crash: the same event's rows with new ids
    record(keyless, 'INSERT', 10, 101n, null, x(1)),
    record(keyless, 'INSERT', 10, 102n, null, x(1)),
    record(keyless, 'DELETE', 40, 5n, x(9), null), // a row the topic never had
  ], { t: [], bag: ['1', '1', '3', '4'] });
  assert.deepEqual(line(res.bag), [4, 3, 1, 0, 0]);
  assert.deepEqual(res.bag.examples.missing, ['1 × row x=4']);
});

test('buckets: many at the first level, and a bucket over the budget is split again', async () => {
  const records: ConsumedRecord[] = [];
  const source: [string, string][] = [];
  for (let i = 1; i <= 400; i++) {
    records.push(record(keyed, 'INSERT', 10 + i, BigInt(i), null, r(i, `n${i}`)));
    if (i % 50 !== 0) source.push([String(i), i % 77 === 0 ? 'changed' : `n${i}`]);
  }
  source.push(['1000', 'new']);
  const expected = [393, 400, 1, 8, 5];
  const plain = await verify(records, { t: source, bag: [] });
  assert.deepEqual(line(plain.t), expected);
  const split = await verify(records, { t: source, bag: [] }, { buckets: 3, maxBucketBytes: 4096 });
  assert.deepEqual(line(split.t), expected);
  assert.ok(split.splits >= 3, `splits: ${split.splits}`);
});

test('a row last written before a column was added differs only by layout, and is told apart from a real difference', async () => {
  const before: TableSchema = { ...keyed, columns: [keyed.columns[0]!] };
  const res = await verify(
    [
      record(before, 'INSERT', 100, 1n, null, [1n]), // written before ADD COLUMN name: lacks it
      record(before, 'INSERT', 110, 2n, null, [2n]),
      record(keyed, 'INSERT', 120, 3n, null, r(3, 'c')), // written after, but its value differs
    ],
    { t: [['1', 'a'], ['2', 'b'], ['3', 'other']], bag: [] },
  );
  assert.equal(res.t.different, 3);
  assert.equal(res.t.layoutOnly, 2);
  const text = res.t.examples.different.join('\n');
  assert.match(text, /key \["1"\]: layout only: the last record predates column\(s\) name/);
  assert.match(text, /key \["3"\]: name differ;/);
  assert.doesNotMatch(text, /key \["3"\]: layout only/);
});
