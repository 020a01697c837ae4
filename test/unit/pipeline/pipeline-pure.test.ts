import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RowChangeEvent } from '../../../src/model/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../src/model/table-schema.ts';
import { ddlDatabases, ddlTarget } from '../../../src/pipeline/ddl-target.ts';
import { InFlight } from '../../../src/pipeline/in-flight.ts';
import { messageKey } from '../../../src/route/message-key.ts';
import { column } from '../../fixtures/column.ts';

const pos = (position: number) => ({ position: { file: 'mysql-bin.000001', position }, gtid: null });

test('the checkpoint advances over the acknowledged prefix only', () => {
  const f = new InFlight(pos(4));
  const a = f.add(pos(100), 10);
  const b = f.add(null, 10); // part of a large transaction: no boundary inside
  const c = f.add(pos(300), 10);
  assert.equal(f.ack(c), null, 'c is acknowledged before a and b: nothing moves');
  assert.equal(f.safeBoundary!.position.position, 4);
  assert.equal(f.ack(a)!.position.position, 100);
  assert.equal(f.bytes, 10);
  assert.equal(f.ack(b)!.position.position, 300, 'b completes the prefix up to c');
  assert.equal(f.batches, 0);
  assert.equal(f.ack(b), null, 'a second ack changes nothing');
});

test('DDL targets: database and table, quoted names, renames, database DDL', () => {
  assert.deepEqual(ddlTarget('ALTER TABLE t ADD COLUMN x INT', 'shop'), { database: 'shop', table: 't', renames: [] });
  assert.deepEqual(ddlTarget('create table if not exists `my db`.`t.1` (id int)', ''), { database: 'my db', table: 't.1', renames: [] });
  assert.deepEqual(ddlTarget('DROP TABLE IF EXISTS other.x', 'shop'), { database: 'other', table: 'x', renames: [] });
  assert.deepEqual(ddlTarget('RENAME TABLE shop.a TO shop.b', ''), { database: 'shop', table: 'b', renames: [{ from: { database: 'shop', table: 'a' }, to: { database: 'shop', table: 'b' } }] });
  assert.deepEqual(ddlTarget('ALTER TABLE a RENAME TO b', 'shop'), { database: 'shop', table: 'b', renames: [{ from: { database: 'shop', table: 'a' }, to: { database: 'shop', table: 'b' } }] });
  assert.deepEqual(ddlTarget('ALTER TABLE a RENAME COLUMN x TO y', 'shop'), { database: 'shop', table: 'a', renames: [] });
  assert.deepEqual(ddlTarget('ALTER TABLE a RENAME INDEX i TO j, RENAME AS `other`.`b`', 'shop'),
    { database: 'other', table: 'b', renames: [{ from: { database: 'shop', table: 'a' }, to: { database: 'other', table: 'b' } }] });
  assert.deepEqual(ddlTarget('CREATE DATABASE IF NOT EXISTS `x`', ''), { database: 'x', table: null, renames: [] });
  assert.deepEqual(ddlTarget('GRANT SELECT ON *.* TO u', 'shop'), { database: 'shop', table: null, renames: [] });
  assert.equal(ddlTarget('GRANT SELECT ON *.* TO u', ''), null);
});

test('RENAME TABLE a TO b, c TO d: every pair, in order, each name qualified or in the default database', () => {
  const t = ddlTarget('RENAME TABLE a TO b, shop.c TO `arch ive`.`d``x`,e TO f', 'shop');
  assert.deepEqual(t, {
    database: 'shop', table: 'b', renames: [
      { from: { database: 'shop', table: 'a' }, to: { database: 'shop', table: 'b' } },
      { from: { database: 'shop', table: 'c' }, to: { database: 'arch ive', table: 'd`x' } },
      { from: { database: 'shop', table: 'e' }, to: { database: 'shop', table: 'f' } },
    ],
  });
  assert.deepEqual(ddlDatabases(t!), ['shop', 'arch ive']);
  // MariaDB's forms: TABLES, IF EXISTS, NOWAIT / WAIT n; a leading comment.
  assert.deepEqual(ddlTarget('/* x */ RENAME TABLES IF EXISTS WAIT 5 s1.a TO s2.a , s1.b TO s2.b', '')!.renames.map((r) => `${r.from.database}.${r.from.table}>${r.to.database}.${r.to.table}`),
    ['s1.a>s2.a', 's1.b>s2.b']);
  assert.deepEqual(ddlTarget('RENAME TABLE x.a TO y.a', '')!.renames.length, 1);
  assert.deepEqual(ddlDatabases(ddlTarget('RENAME TABLE x.a TO y.a', '')!), ['y', 'x']);
});

function col(name: string, type: ColumnSchema['type'], charset: string | null = null): ColumnSchema {
  return column(name, type, { charset, nullable: false });
}

test('the message key is the key columns as a JSON array, the same for every operation of a row', () => {
  const table: TableSchema = {
    database: 'd', table: 't',
    columns: [col('region', 'varchar', 'utf8mb4'), col('v', 'int'), col('id', 'bigint'), col('raw', 'varbinary', 'binary')],
    primaryKey: { name: 'PRIMARY', columns: ['region', 'id'] }, uniqueKeys: [],
  };
  const source = { position: { file: 'f.000001', position: 9 }, transactionStart: { file: 'f.000001', position: 4 }, commitTimestamp: 1, serverId: 1, threadId: 0, gtid: null };
  const row = [Buffer.from('eu'), 5n, 18446744073709551615n, Buffer.from([1, 2])];
  const insert: RowChangeEvent = { kind: 'row', operation: 'INSERT', table, before: null, after: row, source };
  const del: RowChangeEvent = { kind: 'row', operation: 'DELETE', table, before: row, after: null, source };
  assert.equal(messageKey(insert)!.toString(), '["eu","18446744073709551615"]');
  assert.deepEqual(messageKey(del), messageKey(insert));
  const noKey: TableSchema = { ...table, primaryKey: null };
  assert.equal(messageKey({ ...insert, table: noKey }), null);
  const binaryKey: TableSchema = { ...table, primaryKey: { name: 'PRIMARY', columns: ['raw'] } };
  assert.equal(messageKey({ ...insert, table: binaryKey })!.toString(), '["0102"]');
});
