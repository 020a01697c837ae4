import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RowChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnValue, TemporalValue } from '../../../src/model/column-value.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../src/model/table-schema.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord, type DecodedColumn } from '../../../src/dts/record-render.ts';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import { column } from '../../fixtures/column.ts';

const col = column;

function temporal(parts: Partial<TemporalValue>): TemporalValue {
  return {
    kind: 'temporal', negative: false, year: null, month: null, day: null,
    hour: null, minute: null, second: null, micros: null, ...parts,
  };
}

const dateTime = (year: number, month: number, day: number, hour: number, minute: number, second: number, micros: number) =>
  temporal({ year, month, day, hour, minute, second, micros });

const source: SourceInfo = {
  position: { file: 'mysql-bin.000078', position: 72469 },
  transactionStart: { file: 'mysql-bin.000078', position: 72000 },
  commitTimestamp: 1_700_000_000,
  serverId: 1,
  threadId: 9,
  gtid: null,
};

const POINT_WKB = Buffer.from('0101000000000000000000f03f0000000000000040', 'hex');

/** [column, value, text as MySQL prints it, raw bytes where the record keeps them] */
type Case = [ColumnSchema, ColumnValue, string, Buffer?];

const cases: Case[] = [
  [col('tiny_min', 'tinyint'), -128n, '-128'],
  [col('tiny_umax', 'tinyint', { unsigned: true }), 255n, '255'],
  [col('small_min', 'smallint'), -32768n, '-32768'],
  [col('medium_umax', 'mediumint', { unsigned: true }), 16777215n, '16777215'],
  [col('int_min', 'int'), -2147483648n, '-2147483648'],
  [col('big_min', 'bigint'), -9223372036854775808n, '-9223372036854775808'],
  [col('big_umax', 'bigint', { unsigned: true }), 18446744073709551615n, '18446744073709551615'],
  [col('bit1', 'bit', { length: 1 }), 1n, '1'],
  [col('bit64', 'bit', { length: 64 }), 18446744073709551615n, '18446744073709551615'],
  [col('dec_max', 'decimal', { precision: 65, scale: 30 }), `${'9'.repeat(35)}.${'9'.repeat(30)}`, `${'9'.repeat(35)}.${'9'.repeat(30)}`],
  [col('dec_neg', 'decimal', { precision: 5, scale: 2 }), '-348.00', '-348.00'],
  [col('dec_small', 'decimal', { precision: 5, scale: 2 }), '0.05', '0.05'],
  [col('float_11', 'float'), Math.fround(1.1), '1.1'],
  [col('float_max', 'float'), Math.fround(3.4028235e38), '3.4028235e38'],
  [col('float_negzero', 'float'), -0, '-0'],
  [col('double_max', 'double'), Number.MAX_VALUE, '1.7976931348623157e308'],
  [col('double_min', 'double'), Number.MIN_VALUE, '5e-324'],
  [col('double_tenth', 'double'), 0.1, '0.1'],
  [col('double_big', 'double'), 1e15, '1e15'],
  [col('double_neg', 'double'), -123.456, '-123.456'],
  [col('date_max', 'date'), temporal({ year: 9999, month: 12, day: 31 }), '9999-12-31'],
  [col('date_zero', 'date'), temporal({ year: 0, month: 0, day: 0 }), '0000-00-00'],
  [col('dt_max', 'datetime', { fsp: 6 }), dateTime(9999, 12, 31, 23, 59, 59, 999999), '9999-12-31 23:59:59.999999'],
  [col('dt_ms', 'datetime', { fsp: 3 }), dateTime(2024, 2, 29, 1, 2, 3, 120000), '2024-02-29 01:02:03.120000'],
  [col('dt_0', 'datetime', { fsp: 0 }), dateTime(1000, 1, 1, 0, 0, 0, 0), '1000-01-01 00:00:00'],
  [col('dt_zero', 'datetime'), dateTime(0, 0, 0, 0, 0, 0, 0), '0000-00-00 00:00:00'],
  [col('ts_max', 'timestamp', { fsp: 6 }), { kind: 'timestamp', epochSeconds: 2147483647, micros: 999999 }, '2038-01-19 03:14:07.999999'],
  [col('ts_min', 'timestamp'), { kind: 'timestamp', epochSeconds: 1, micros: 0 }, '1970-01-01 00:00:01'],
  [col('ts_zero', 'timestamp'), { kind: 'timestamp', epochSeconds: 0, micros: 0 }, '0000-00-00 00:00:00'],
  [col('ts_leap', 'timestamp', { fsp: 2 }), { kind: 'timestamp', epochSeconds: 951782400, micros: 10000 }, '2000-02-29 00:00:00.010000'],
  [col('time_min', 'time'), temporal({ negative: true, hour: 838, minute: 59, second: 59, micros: 0 }), '-838:59:59'],
  [col('time_max', 'time'), temporal({ hour: 838, minute: 59, second: 59, micros: 0 }), '838:59:59'],
  [col('time_small_neg', 'time', { fsp: 1 }), temporal({ negative: true, hour: 0, minute: 0, second: 1, micros: 500000 }), '-00:00:01.500000'],
  [col('time_frac_neg', 'time', { fsp: 6 }), temporal({ negative: true, hour: 0, minute: 0, second: 0, micros: 1 }), '-00:00:00.000001'],
  [col('time_zero', 'time'), temporal({ hour: 0, minute: 0, second: 0, micros: 0 }), '00:00:00'],
  [col('year_zero', 'year'), temporal({ year: 0 }), '0000'],
  [col('year_max', 'year'), temporal({ year: 2155 }), '2155'],
  [col('char_emoji', 'char', { charset: 'utf8mb4', length: 2 }), Buffer.from('a😀', 'utf8'), 'a😀', Buffer.from('a😀', 'utf8')],
  [col('varchar_mb3', 'varchar', { charset: 'utf8mb3', length: 5 }), Buffer.from('ñ', 'utf8'), 'ñ', Buffer.from('ñ', 'utf8')],
  [col('latin1_e', 'varchar', { charset: 'latin1', length: 5 }), Buffer.from([0xe9, 0x80]), 'é€', Buffer.from([0xe9, 0x80])],
  // The five bytes cp1252 leaves undefined: MySQL maps them to the C1 controls.
  [col('latin1_holes', 'varchar', { charset: 'latin1', length: 8 }), Buffer.from([0x80, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0xff]), '€\u0081\u008d\u008f\u0090\u009dÿ', Buffer.from([0x80, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0xff])],
  [col('gbk_zhong', 'char', { charset: 'gbk', length: 1 }), Buffer.from([0xd6, 0xd0]), '中', Buffer.from([0xd6, 0xd0])],
  [col('bin4', 'binary', { length: 4, charset: 'binary' }), Buffer.from([0x01]), '01000000', Buffer.from([1, 0, 0, 0])],
  [col('varbin', 'varbinary', { length: 4, charset: 'binary' }), Buffer.from([0xab, 0x00]), 'AB00', Buffer.from([0xab, 0x00])],
  [col('tinytext', 'tinytext', { charset: 'utf8mb4' }), Buffer.from('héllo', 'utf8'), 'héllo', Buffer.from('héllo', 'utf8')],
  [col('longtext', 'longtext', { charset: 'utf8mb4' }), Buffer.from('x'.repeat(70_000)), 'x'.repeat(70_000), Buffer.from('x'.repeat(70_000))],
  [col('blob', 'blob', { charset: 'binary' }), Buffer.from([0x00, 0xff, 0x10]), '00FF10', Buffer.from([0x00, 0xff, 0x10])],
  [col('mediumblob', 'mediumblob', { charset: 'binary' }), Buffer.alloc(0), '', Buffer.alloc(0)],
  [col('json', 'json'), '{"a": [1, "é"]}', '{"a": [1, "é"]}'],
  [col('enum', 'enum', { values: ['a', 'b'] }), 'b', 'b'],
  [col('enum_invalid', 'enum', { values: ['a', 'b'] }), '', ''],
  [col('set', 'set', { values: ['a', 'b', 'c'] }), 'a,c', 'a,c'],
  [col('point', 'point'), POINT_WKB, POINT_WKB.toString('hex').toUpperCase(), POINT_WKB],
  [col('geometry', 'geometry'), POINT_WKB, POINT_WKB.toString('hex').toUpperCase(), POINT_WKB],
  [col('uuid', 'uuid'), '123e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456-426614174000', Buffer.from('123e4567-e89b-12d3-a456-426614174000')],
  [col('inet6', 'inet6'), '2001:db8::1', '2001:db8::1', Buffer.from('2001:db8::1')],
  [col('inet4', 'inet4'), '192.0.2.1', '192.0.2.1', Buffer.from('192.0.2.1')],
];

const table: TableSchema = {
  database: 'types',
  table: 'all_types',
  columns: cases.map(([c]) => c),
  primaryKey: null,
  uniqueKeys: [],
};

function roundTrip(event: RowChangeEvent): DecodedColumn[] {
  const bytes = encodeEvent(event, { id: 7n, sourceVersion: '8.0.28', readerTimestampMs: 1_700_000_000_123 });
  return [...renderRecord(decodeRecord(bytes)).columns];
}

const CODES: Record<string, [number, string]> = {
  tinyint: [1, 'MYSQL_TYPE_TINY'], smallint: [2, 'MYSQL_TYPE_SHORT'], mediumint: [9, 'MYSQL_TYPE_INT24'],
  int: [3, 'MYSQL_TYPE_LONG'], bigint: [8, 'MYSQL_TYPE_LONGLONG'], bit: [16, 'MYSQL_TYPE_BIT'],
  decimal: [246, 'MYSQL_TYPE_NEWDECIMAL'], float: [4, 'MYSQL_TYPE_FLOAT'], double: [5, 'MYSQL_TYPE_DOUBLE'],
  date: [10, 'MYSQL_TYPE_DATE'], datetime: [12, 'MYSQL_TYPE_DATETIME'], timestamp: [7, 'MYSQL_TYPE_TIMESTAMP'],
  time: [11, 'MYSQL_TYPE_TIME'], year: [13, 'MYSQL_TYPE_YEAR'], char: [254, 'MYSQL_TYPE_STRING'],
  binary: [254, 'MYSQL_TYPE_STRING'], varchar: [253, 'MYSQL_TYPE_VAR_STRING'], varbinary: [253, 'MYSQL_TYPE_VAR_STRING'],
  tinytext: [249, 'MYSQL_TYPE_TINY_BLOB'], longtext: [251, 'MYSQL_TYPE_LONG_BLOB'], blob: [252, 'MYSQL_TYPE_BLOB'],
  mediumblob: [250, 'MYSQL_TYPE_MEDIUM_BLOB'], json: [245, 'MYSQL_TYPE_JSON'], enum: [247, 'MYSQL_TYPE_ENUM'],
  set: [248, 'MYSQL_TYPE_SET'], point: [255, 'MYSQL_TYPE_GEOMETRY'], geometry: [255, 'MYSQL_TYPE_GEOMETRY'],
  uuid: [254, 'MYSQL_TYPE_STRING'], inet6: [254, 'MYSQL_TYPE_STRING'], inet4: [254, 'MYSQL_TYPE_STRING'],
};

describe('build → encode → decode → render', () => {
  const insert: RowChangeEvent = {
    kind: 'row', operation: 'INSERT', table, before: null, after: cases.map(([, v]) => v), source,
  };
  const columns = roundTrip(insert);

  for (const [i, [column, , text, bytes]] of cases.entries()) {
    it(`${column.name} (${column.type}) renders as ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`, () => {
      const rendered = columns[i];
      assert.equal(rendered.name, column.name);
      assert.deepEqual([rendered.dataTypeNumber, rendered.mysqlType], CODES[column.type]);
      assert.equal(rendered.before, null);
      assert.equal(rendered.after, text);
      assert.equal(rendered.beforeBytes, null);
      if (bytes) assert.ok(rendered.afterBytes?.equals(bytes), `bytes of ${column.name}`);
      else assert.equal(rendered.afterBytes, null);
    });
  }

  it('renders NULL in every column as null, before and after', () => {
    const nulls = cases.map(() => null);
    const rendered = roundTrip({ kind: 'row', operation: 'UPDATE', table, before: nulls, after: nulls, source });
    assert.equal(rendered.length, cases.length);
    for (const c of rendered) {
      assert.deepEqual([c.before, c.after, c.beforeBytes, c.afterBytes], [null, null, null, null], c.name);
    }
  });

  it('keeps before and after apart in an UPDATE and a DELETE', () => {
    const small: TableSchema = {
      database: 'd', table: 't',
      columns: [col('id', 'int'), col('name', 'varchar', { charset: 'utf8mb4' })],
      primaryKey: { name: 'PRIMARY', columns: ['id'] }, uniqueKeys: [],
    };
    const update = roundTrip({
      kind: 'row', operation: 'UPDATE', table: small, source,
      before: [1n, Buffer.from('old')], after: [1n, Buffer.from('new')],
    });
    assert.deepEqual(update.map((c) => [c.name, c.before, c.after]), [['id', '1', '1'], ['name', 'old', 'new']]);
    const deleted = roundTrip({ kind: 'row', operation: 'DELETE', table: small, source, before: [2n, null], after: null });
    assert.deepEqual(deleted.map((c) => [c.name, c.before, c.after]), [['id', '2', null], ['name', null, null]]);
  });
});
