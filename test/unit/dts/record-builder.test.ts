import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import type { DdlEvent, RowChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../src/model/table-schema.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeEvent, encodeRecord } from '../../../src/dts/encoder.ts';
import { buildRecord } from '../../../src/dts/record-builder.ts';
import { column } from '../../fixtures/column.ts';

const col = column;

const source: SourceInfo = {
  position: { file: 'mysql-bin.000078', position: 72469 },
  transactionStart: { file: 'mysql-bin.000077', position: 1234 },
  commitTimestamp: 1_700_000_123,
  serverId: 3306,
  threadId: 42,
  gtid: '0-1-73',
};

const ctx = { id: 9_007_199_254_740_993n, sourceVersion: '10.11.19-MariaDB-log', readerTimestampMs: 1_700_000_123_456 };

const table: TableSchema = {
  database: 'a.b',
  table: 't.c',
  columns: [
    col('id', 'bigint', { nullable: false }),
    col('a', 'int', { nullable: false }),
    col('b', 'varchar', { charset: 'utf8mb4', nullable: false }),
    col('note', 'text', { charset: 'utf8mb4' }),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [{ name: 'uk_name', columns: ['a', 'b'] }, { name: '2', columns: ['note'] }],
};

const row = [1n, 2n, Buffer.from('x'), null];
const insert: RowChangeEvent = { kind: 'row', operation: 'INSERT', table, before: null, after: row, source };
const ddl: DdlEvent = { kind: 'ddl', database: 'shop.eu', sql: 'ALTER TABLE t ADD COLUMN c INT', source };

describe('buildRecord for a row', () => {
  const record = buildRecord(insert, ctx);

  it('fills the record fields per docs/format.md', () => {
    assert.equal(record.version, 0);
    assert.equal(record.id, 9_007_199_254_740_993n);
    assert.equal(record.sourceTimestamp, 1_700_000_123n);
    assert.equal(record.bornTimestamp, record.sourceTimestamp);
    assert.equal(record.sourcePosition, '72469@78');
    assert.equal(record.safeSourcePosition, '1234@77');
    assert.equal(record.sourceTxid, '0');
    assert.deepEqual({ ...record.source }, { sourceType: 'MySQL', version: '10.11.19-MariaDB-log' });
    assert.equal(record.operation, 'INSERT');
    assert.equal(record.processTimestamps, null);
    assert.deepEqual(record.fields, [
      { name: 'id', dataTypeNumber: 8 }, { name: 'a', dataTypeNumber: 3 },
      { name: 'b', dataTypeNumber: 253 }, { name: 'note', dataTypeNumber: 252 },
    ]);
    assert.equal(record.beforeImages, null);
    assert.equal((record.afterImages as unknown[]).length, 4);
  });

  it('escapes a dot inside the database or table name as \\u002E', () => {
    assert.equal(record.objectName, 'a\\u002Eb.t\\u002Ec');
    assert.equal(record.objectName?.length, 'a.b.t.c'.length + 10);
    const rendered = renderRecord(decodeRecord(encodeRecord(record)));
    assert.equal(rendered.database, 'a.b');
    assert.equal(rendered.table, 't.c');
  });

  it('writes the DML tags, pk_uk_info with the primary key first, in key order', () => {
    assert.deepEqual(Object.entries(record.tags), [
      ['pk_uk_info', '{"PRIMARY":["id"],"uk_name":["a","b"],"2":["note"]}'],
      ['thread_id', '42'],
      ['server_id', '3306'],
      ['readerThroughoutTime', '1700000123456'],
    ]);
    const noKeys = buildRecord({ ...insert, table: { ...table, primaryKey: null, uniqueKeys: [] } }, ctx);
    assert.equal(noKeys.tags.pk_uk_info, '{}');
    const onlyUnique = buildRecord({ ...insert, table: { ...table, primaryKey: null } }, ctx);
    assert.equal(onlyUnique.tags.pk_uk_info, '{"uk_name":["a","b"],"2":["note"]}');
  });

  it('sets before and after images by operation', () => {
    const images = (operation: RowChangeEvent['operation'], before: typeof row | null, after: typeof row | null) => {
      const r = buildRecord({ ...insert, operation, before, after }, ctx);
      return [r.operation, r.beforeImages === null ? null : 'array', r.afterImages === null ? null : 'array'];
    };
    assert.deepEqual(images('INSERT', null, row), ['INSERT', null, 'array']);
    assert.deepEqual(images('INIT', null, row), ['INIT', null, 'array']);
    assert.deepEqual(images('DELETE', row, null), ['DELETE', 'array', null]);
    assert.deepEqual(images('UPDATE', row, row), ['UPDATE', 'array', 'array']);
  });

  it('refuses images that do not fit the operation or the table', () => {
    const fails = (event: RowChangeEvent, pattern: RegExp) =>
      assert.throws(() => buildRecord(event, ctx), (e: unknown) => e instanceof SyncError && e.code === 'ENCODE_FAILED' && pattern.test(e.message));
    fails({ ...insert, before: row }, /INSERT on a\.b\.t\.c must have no before image/);
    fails({ ...insert, operation: 'UPDATE', before: null }, /UPDATE/);
    fails({ ...insert, operation: 'DELETE', before: row }, /DELETE/);
    fails({ ...insert, after: [1n, 2n] }, /2 values for 4 columns/);
    fails({ ...insert, after: [1n, 2, Buffer.from('x'), null] }, /a\.b\.t\.c: column a \(int\)/);
    fails({ ...insert, source: { ...source, commitTimestamp: 1.5 } }, /commitTimestamp/);
    fails({ ...insert, source: { ...source, position: { file: 'binlog', position: 4 } } }, /binlog:4/);
  });

  it('shares one frozen fields list between the rows of a table', () => {
    const other = buildRecord({ ...insert, after: [5n, 6n, Buffer.from('y'), Buffer.from('n')] }, ctx);
    assert.equal(other.fields, record.fields);
    assert.ok(Object.isFrozen(record.fields));
    const changed = buildRecord({ ...insert, table: { ...table } }, ctx);
    assert.notEqual(changed.fields, record.fields);
  });
});

describe('buildRecord for a DDL', () => {
  const record = buildRecord(ddl, ctx);

  it('has the DDL shape: the database alone, no fields, no before image, the SQL as afterImages', () => {
    assert.equal(record.operation, 'DDL');
    assert.equal(record.objectName, 'shop\\u002Eeu');
    assert.equal(record.fields, null);
    assert.equal(record.beforeImages, null);
    assert.equal(record.afterImages, 'ALTER TABLE t ADD COLUMN c INT');
    assert.equal(record.sourcePosition, '72469@78');
    assert.equal(record.safeSourcePosition, record.sourcePosition);
    assert.equal(record.bornTimestamp, 1_700_000_123n);
    assert.equal(record.id, ctx.id);
  });

  it('writes the DDL tags, GTID only where there is one', () => {
    assert.deepEqual(Object.entries(record.tags), [
      ['GTID', '0-1-73'],
      ['server_id', '3306'],
      ['thread_id', '42'],
      ['readerThroughoutTime', '1700000123456'],
      ['commitTimestamp', '1700000123'],
    ]);
    const noGtid = buildRecord({ ...ddl, source: { ...source, gtid: null } }, ctx);
    assert.deepEqual(Object.keys(noGtid.tags), ['server_id', 'thread_id', 'readerThroughoutTime', 'commitTimestamp']);
  });

  it('survives encoding: afterImages is the string branch', () => {
    const bytes = encodeRecord(record);
    const decoded = decodeRecord(bytes);
    assert.equal(decoded.afterImages, 'ALTER TABLE t ADD COLUMN c INT');
    assert.equal(decoded.fields, null);
    assert.equal(decoded.beforeImages, null);
    const rendered = renderRecord(decoded);
    assert.equal(rendered.ddl, 'ALTER TABLE t ADD COLUMN c INT');
    assert.equal(rendered.database, 'shop.eu');
    assert.equal(rendered.table, null);
    assert.deepEqual(rendered.columns, []);
  });
});

describe('buildRecord for a table it cannot map', () => {
  it('names the table and keeps the error code', () => {
    const strange: TableSchema = { ...table, columns: [col('id', 'bigint'), col('m', 'money' as ColumnType)] };
    assert.throws(
      () => buildRecord({ ...insert, table: strange, after: [1n, 2n] }, ctx),
      (e: unknown) => e instanceof SyncError && e.code === 'UNSUPPORTED_COLUMN_TYPE' && /^a\.b\.t\.c: column m/.test(e.message),
    );
    const noCharset: TableSchema = { ...table, columns: [col('v', 'varchar')] };
    assert.throws(
      () => buildRecord({ ...insert, table: noCharset, after: [Buffer.from('x')] }, ctx),
      (e: unknown) => e instanceof SyncError && e.code === 'ENCODE_FAILED' && /^a\.b\.t\.c: column v \(varchar\).*charset/.test(e.message),
    );
  });
});

describe('text_charsets', () => {
  const latin: TableSchema = {
    ...table,
    columns: [...table.columns, col('old', 'mediumtext', { charset: 'latin1' }), col('mb3', 'text', { charset: 'utf8mb3' }), col('bin', 'blob', { charset: 'binary' })],
  };
  const event: RowChangeEvent = { ...insert, table: latin, after: [...row, Buffer.from('636166e9', 'hex'), Buffer.from('x'), Buffer.from([0])] };

  it('names the charsets of TEXT columns that are not UTF-8, after pk_uk_info; none when every TEXT is UTF-8', () => {
    const r = buildRecord(event, ctx);
    assert.deepEqual(Object.keys(r.tags), ['pk_uk_info', 'text_charsets', 'thread_id', 'server_id', 'readerThroughoutTime']);
    assert.equal(r.tags.text_charsets, '{"old":"latin1"}');
    assert.equal(buildRecord(insert, ctx).tags.text_charsets, undefined);
  });

  it('the fast row path writes the same bytes as the general writer of the built record', () => {
    for (const e of [event, { ...event, operation: 'DELETE' as const, before: event.after, after: null }]) {
      const fast = Buffer.from(encodeEvent(e, ctx));
      const general = Buffer.from(encodeRecord(buildRecord(e, ctx)));
      assert.ok(fast.equals(general), e.operation);
      assert.equal(renderRecord(decodeRecord(fast)).tags.text_charsets, '{"old":"latin1"}');
    }
  });
});
