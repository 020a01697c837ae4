import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../src/model/table-schema.ts';
import { formatInet6, normalizeRow, normalizeValue } from '../../../src/source/row-normalizer.ts';
import { parseLabels } from '../../../src/source/schema-reader.ts';
import { daysFromCivil } from '../../../src/model/temporal-text.ts';
import { classicTemporal } from '../../../src/source/zongji-exact-rows.ts';
import { column } from '../../fixtures/column.ts';

const col = (type: ColumnType, extra: Partial<ColumnSchema> = {}): ColumnSchema => column('c', type, extra);

test('integers of every width become bigint, whatever form they arrive in', () => {
  assert.equal(normalizeValue(col('bigint', { unsigned: true }), '18446744073709551615'), 18446744073709551615n);
  assert.equal(normalizeValue(col('tinyint'), -128), -128n);
  assert.equal(normalizeValue(col('int'), 7n), 7n);
});

test('BINARY(n) is right-padded with zero bytes to n; VARBINARY is not', () => {
  assert.deepEqual(normalizeValue(col('binary', { length: 4, charset: 'binary' }), Buffer.from([1, 2])), Buffer.from([1, 2, 0, 0]));
  assert.deepEqual(normalizeValue(col('varbinary', { length: 4, charset: 'binary' }), Buffer.from([1, 2])), Buffer.from([1, 2]));
});

test('MariaDB UUID, INET4 and INET6 bytes become their canonical text', () => {
  const uuid = Buffer.from('123e4567e89b12d3a4564266554400', 'hex'); // trailing zeros stripped by the row image
  assert.equal(normalizeValue(col('uuid'), uuid), '123e4567-e89b-12d3-a456-426655440000');
  assert.equal(normalizeValue(col('inet4'), Buffer.from([10, 0, 0])), '10.0.0.0');
  assert.equal(formatInet6(Buffer.from('00000000000000000000000000000001', 'hex')), '::1');
  assert.equal(formatInet6(Buffer.from('00000000000000000000000000000000', 'hex')), '::');
  assert.equal(formatInet6(Buffer.from('00000000000000000000ffff01020304', 'hex')), '::ffff:1.2.3.4');
  assert.equal(formatInet6(Buffer.from('20010db8000000000001000000000001', 'hex')), '2001:db8::1:0:0:1');
  assert.equal(formatInet6(Buffer.from('20010db8000100020003000400050006', 'hex')), '2001:db8:1:2:3:4:5:6');
});

test('MariaDB JSON (LONGTEXT bytes) becomes its text', () => {
  assert.equal(normalizeValue(col('json'), Buffer.from('{"a": "é"}')), '{"a": "é"}');
});

test('NULL stays null for every type', () => {
  for (const t of ['int', 'binary', 'uuid', 'json', 'datetime', 'varchar'] as ColumnType[]) {
    assert.equal(normalizeValue(col(t), null), null);
  }
});

test('a row with a different column count than the schema is an error, not a shifted row', () => {
  const schema: TableSchema = { database: 'd', table: 't', columns: [col('int'), col('int')], primaryKey: null, uniqueKeys: [] };
  assert.throws(() => normalizeRow(schema, [1n]), /has 1 columns but the schema in force has 2/);
});

test('daysFromCivil matches known dates without using Date', () => {
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(2038, 1, 19), 24855);
  assert.equal(daysFromCivil(2000, 3, 1), 11017);
  assert.equal(daysFromCivil(1969, 12, 31), -1);
});

test('classic temporal text parses into components, TIMESTAMP into its instant', () => {
  assert.deepEqual(classicTemporal('-838:59:59.5', 11), { kind: 'temporal', negative: true, year: null, month: null, day: null, hour: 838, minute: 59, second: 59, micros: 500000 });
  assert.deepEqual(classicTemporal('2038-01-19 03:14:07.999999', 7), { kind: 'timestamp', epochSeconds: 2147483647, micros: 999999 });
  assert.deepEqual(classicTemporal('0000-00-00 00:00:00', 7), { kind: 'timestamp', epochSeconds: 0, micros: 0 });
  assert.equal((classicTemporal('0000-00-00 00:00:00', 12) as { year: number }).year, 0);
  assert.throws(() => classicTemporal('garbage', 12), /unexpected/);
});

test('ENUM/SET labels are parsed from COLUMN_TYPE with quotes and commas intact', () => {
  assert.deepEqual(parseLabels("enum('a','b,c','it''s')"), ['a', 'b,c', "it's"]);
  assert.deepEqual(parseLabels("set('x','y')"), ['x', 'y']);
});
