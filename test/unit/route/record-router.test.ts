import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, type SyncConfig } from '../../../src/config/index.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { encodeEvent } from '../../../src/dts/output-format.ts';
import type { Logger } from '../../../src/logger.ts';
import { type DdlEvent, initSource, type RowChangeEvent, type SourceInfo } from '../../../src/model/change-event.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import { integerKeyColumn, messageKey } from '../../../src/route/message-key.ts';
import { ddlRoute, partitionOf, RecordRouter, recordKey, selectedTable, tableRoute } from '../../../src/route/record-router.ts';
import { partitionFor } from '../../../src/sink/partitioner.ts';
import type { RecordLimit, SinkMessage } from '../../../src/sink/sink.ts';
import { column } from '../../fixtures/column.ts';

function config(policy: SyncConfig['partitionPolicy'], oversized: 'stop' | 'skip' = 'stop'): SyncConfig {
  return parseConfig(
    `source: { host: db, user: u, password: p }
kafka: { brokers: [k:9092], oversizedRecord: ${oversized} }
objects: [shop.orders, shop.items, crm.*]
partitionPolicy: ${policy}
topics:
  default: all
  mapping: { shop.orders: orders, crm.*: crm }
`,
    {},
  );
}

const counts = new Map([['orders', 8], ['all', 5], ['crm', 1]]);
const partitions = (topic: string) => counts.get(topic) ?? 1;

const orders: TableSchema = {
  database: 'shop', table: 'orders',
  columns: [column('id', 'bigint', { nullable: false }), column('note', 'varchar', { charset: 'utf8mb4' })],
  primaryKey: { name: 'PRIMARY', columns: ['id'] }, uniqueKeys: [],
};
const keyless: TableSchema = { ...orders, table: 'items', primaryKey: null };
const position = { file: 'mysql-bin.000007', position: 1234 };
const source: SourceInfo = { position, transactionStart: position, commitTimestamp: 1_700_000_000, serverId: 3, threadId: 77, gtid: '0-3-9' };
const row = (id: bigint, table = orders, note = 'n'): RowChangeEvent => ({ kind: 'row', operation: 'INSERT', table, before: null, after: [id, Buffer.from(note)], source });
const ddl: DdlEvent = { kind: 'ddl', database: 'shop', sql: 'ALTER TABLE orders ADD x INT', source };

const silent = { warn() {}, info() {}, debug() {}, error() {} } as unknown as Logger;
function router(c: SyncConfig, limit = 1_000_000, warnings: string[] = []) {
  let id = 100n;
  const recordLimit = (): RecordLimit => ({ bytes: limit, maxRecordBytes: limit, maxMessageBytes: limit + 100, compressed: false });
  const logger = { ...silent, warn: (_: unknown, m: string) => warnings.push(m) } as unknown as Logger;
  return new RecordRouter({ config: () => c, sink: { recordLimit }, logger, scope: 'in this test', partitions, sourceVersion: '10.11', nextId: () => id++ });
}

test('topic: the table mapping, else the database mapping, else topics.default; DDL: its selected table\'s topic, else the default', () => {
  const c = config('single');
  assert.equal(tableRoute(c, partitions, 'shop', 'orders').topic, 'orders');
  assert.equal(tableRoute(c, partitions, 'crm', 'people').topic, 'crm');
  assert.equal(tableRoute(c, partitions, 'shop', 'items').topic, 'all');
  assert.equal(ddlRoute(c, partitions, { database: 'shop', table: 'orders' }).topic, 'orders');
  assert.equal(ddlRoute(c, partitions, null).topic, 'all');
  assert.equal(tableRoute(c, partitions, 'shop', 'orders').partitionCount, 8);
});

test('DDL routing: the first selected table the statement names (a rename\'s new name before its old one)', () => {
  const c = config('table');
  const r = router(c);
  assert.deepEqual(selectedTable(c, [{ database: 'shop', table: 'nope' }, { database: 'shop', table: 'orders' }, { database: 'crm', table: 'x' }]), { database: 'shop', table: 'orders' });
  assert.equal(selectedTable(c, [{ database: 'shop', table: null }, { database: 'other', table: 'orders' }]), null);
  assert.equal(r.ddl([{ database: 'shop', table: 'gone' }, { database: 'crm', table: 'people' }]).topic, 'crm');
  const toDefault = r.ddl([{ database: 'shop', table: null }]);
  assert.equal(toDefault.topic, 'all');
  assert.equal(toDefault.partition, 0, 'a DDL of no selected table goes to partition 0');
  // Under `table`, a table's DDL goes where its rows go.
  const route = r.ddl([{ database: 'shop', table: 'orders' }]);
  assert.equal(route.partition, partitionFor('table', 8, { database: 'shop', table: 'orders', key: null }));
  const m = r.message(ddl, route, 1, '1700000000000')!;
  assert.equal(m.key, null);
  assert.equal(m.topic, 'orders');
  assert.equal(m.partition, tableRoute(c, partitions, 'shop', 'orders').partition);
});

test('key: messageKey of the row (an integer key as ["<digits>"]); none for a keyless table or a DDL', () => {
  const r = router(config('single'));
  const route = r.table('shop', 'orders');
  assert.equal(r.message(row(42n), route, 1, 't')!.key!.toString(), '["42"]');
  assert.equal(r.message(row(-7n), route, 1, 't')!.key!.toString(), '["-7"]');
  assert.deepEqual(r.message(row(2n ** 62n), route, 1, 't')!.key, messageKey(row(2n ** 62n)));
  assert.equal(r.message(row(1n, keyless), r.table('shop', 'items'), 1, 't')!.key, null);
  assert.equal(recordKey(ddl), null);
  assert.equal(integerKeyColumn(orders), 0);
  assert.equal(integerKeyColumn(keyless), -1);
  assert.equal(integerKeyColumn({ ...orders, primaryKey: { name: 'PRIMARY', columns: ['note'] } }), -1);
});

test('partition per policy: single 0; table the hash of db.table for every row; primary-key the hash of the key', () => {
  const single = router(config('single'));
  for (const id of [1n, 2n, 3n]) assert.equal(single.message(row(id), single.table('shop', 'orders'), 1, 't')!.partition, 0);

  const table = router(config('table'));
  const tr = table.table('shop', 'orders');
  const expected = partitionFor('table', 8, { database: 'shop', table: 'orders', key: null });
  assert.equal(tr.partition, expected);
  const byTable = new Set([1n, 2n, 3n, 4n, 5n].map((id) => table.message(row(id), tr, 1, 't')!.partition));
  assert.deepEqual([...byTable], [expected]);
  // A table whose name hashes elsewhere lands elsewhere: the route is not a constant.
  const other = tableRoute(config('table'), () => 8, 'shop', 'items').partition;
  assert.equal(other, partitionFor('table', 8, { database: 'shop', table: 'items', key: null }));

  const pk = router(config('primary-key'));
  const pr = pk.table('shop', 'orders');
  assert.equal(pr.partition, -1, 'the partition depends on the key');
  const seen = new Set<number>();
  for (let id = 0n; id < 40n; id++) {
    const m = pk.message(row(id), pr, 1, 't')!;
    assert.equal(m.partition, partitionFor('primary-key', 8, { database: 'shop', table: 'orders', key: m.key }), `id ${id}`);
    seen.add(m.partition);
  }
  assert.ok(seen.size > 3, 'keys spread over the partitions');
  assert.equal(pk.message(row(1n, keyless), pk.table('shop', 'items'), 1, 't')!.partition, 0, 'a keyless row goes to 0');
  // One partition: nothing to hash.
  assert.equal(tableRoute(config('primary-key'), () => 1, 'shop', 'orders').partition, 0);
  assert.equal(partitionOf({ ...pr }, null), 0);
});

test('the value is encodeEvent with the next id, the timestamp as given', () => {
  const r = router(config('single'));
  const a = r.message(row(1n), r.table('shop', 'orders'), 1_700_000_000_500, '1700000000000')!;
  const b = r.message(row(2n), r.table('shop', 'orders'), 1_700_000_000_500, '1700000000000')!;
  assert.deepEqual(a.value, encodeEvent(row(1n), { id: 100n, sourceVersion: '10.11', readerTimestampMs: 1_700_000_000_500 }));
  assert.equal(decodeRecord(b.value).id, 101n);
  assert.equal(a.timestamp, '1700000000000');
});

test('oversize: stop throws RECORD_TOO_LARGE naming the row and place; skip leaves it out, logged and counted; the limit itself passes', () => {
  const big = row(7n, orders, 'x'.repeat(600));
  const size = (m: SinkMessage) => m.value.length + m.key!.length;
  const exact = size(router(config('single')).message(big, router(config('single')).table('shop', 'orders'), 1, 't')!);
  const atLimit = router(config('single'), exact);
  assert.ok(atLimit.message(big, atLimit.table('shop', 'orders'), 1, 't'));

  const stop = router(config('single'), exact - 1);
  assert.throws(() => stop.message(big, stop.table('shop', 'orders'), 1, 't'),
    (e: { code?: string; message: string }) => e.code === 'RECORD_TOO_LARGE' && /INSERT of shop\.orders with key \["7"\] at mysql-bin\.000007:1234/.test(e.message));

  const warnings: string[] = [];
  const skip = router(config('single', 'skip'), exact - 1, warnings);
  assert.equal(skip.message(big, skip.table('shop', 'orders'), 1, 't', 'the initial snapshot'), null);
  assert.equal(skip.message(row(8n), skip.table('shop', 'orders'), 1, 't')!.key!.toString(), '["8"]', 'a small row passes');
  assert.equal(skip.skipped, 1);
  assert.match(warnings[0]!, /INSERT of shop\.orders with key \["7"\] at the initial snapshot .*\(1 skipped in this test\)/);
  assert.throws(() => stop.message({ ...ddl, sql: 'x'.repeat(exact) }, stop.ddl([]), 1, 't'), /DDL of shop/);
});

test('oversize of worker-encoded records: the ids are stamped first, then the ones over the limit are left out (skip)', () => {
  const skip = router(config('single', 'skip'), 50);
  const route = skip.table('shop', 'orders');
  const made = (n: number) => ({ topic: 'orders', partition: 0, key: null, value: Buffer.alloc(n), timestamp: 't' });
  const ids: bigint[] = [];
  const out = skip.encoded(route, (nextId) => [10, 60, 20].map((n) => { ids.push(nextId()); return made(n); }), 'INIT of shop.orders', 'the initial snapshot');
  assert.deepEqual(out.map((m) => m.value.length), [10, 20]);
  assert.deepEqual(ids, [100n, 101n, 102n]);
  assert.equal(skip.skipped, 1);
  const stop = router(config('single'), 50);
  assert.throws(() => stop.encoded(route, () => [made(60)], 'INIT of shop.orders', 'the initial snapshot'), /INIT of shop\.orders with key none at the initial snapshot/);
});

test('initSource: the watermark\'s position and GTID, the server id, the read time; no thread', () => {
  const s = initSource({ file: 'mysql-bin.000003', position: 99, gtid: '0-1-5' }, 12, 1_700_000_001);
  assert.deepEqual(s, {
    position: { file: 'mysql-bin.000003', position: 99 }, transactionStart: { file: 'mysql-bin.000003', position: 99 },
    commitTimestamp: 1_700_000_001, serverId: 12, threadId: 0, gtid: '0-1-5',
  });
});
