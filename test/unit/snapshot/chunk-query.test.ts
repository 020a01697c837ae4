import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundaryQuery, type ChunkTable, chunkKeyOf, chunkQuery, keyLiteral, rawRow, rawRowOf, rawValue, textRow, textRowFields } from '../../../src/snapshot/chunk-query.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../src/model/table-schema.ts';
import { column as fixtureColumn } from '../../fixtures/column.ts';

const column = (c: Partial<ColumnSchema> & { name: string; type: ColumnType }): ColumnSchema => fixtureColumn(c.name, c.type, c);

const schema: TableSchema = {
  database: 'shop',
  table: 'or`ders',
  columns: [
    column({ name: 'region', type: 'varchar', charset: 'utf8mb4', nullable: false, length: 8 }),
    column({ name: 'id', type: 'bigint', nullable: false }),
    column({ name: 'price', type: 'float' }),
    column({ name: 'state', type: 'enum', charset: 'utf8mb4', values: ['new', 'paid'] }),
    column({ name: 'flags', type: 'set', charset: 'utf8mb4', values: ['a', 'b', 'c'] }),
  ],
  primaryKey: null,
  uniqueKeys: [{ name: 'uk', columns: ['region', 'id'] }],
};
const table: ChunkTable = { schema, key: { name: 'uk', columns: ['region', 'id'] }, collations: ['utf8mb4_general_ci', null, null, null, null] };

test('the first chunk: every column in its exact form, key order, a limit, no WHERE', () => {
  assert.equal(chunkQuery(table, null, 500),
    'SELECT `region`, `id`, CAST(`price` AS DOUBLE), `state`+0, `flags`+0 FROM `shop`.`or``ders` FORCE INDEX (`uk`) ORDER BY `region`, `id` LIMIT 500');
});

test('a later chunk continues after the last key, with literals in the column collation', () => {
  const after = chunkKeyOf(table, [Buffer.from('Eu'), Buffer.from('42'), null, null, null]);
  assert.deepEqual(after, ['4575', '3432']);
  const sql = chunkQuery(table, after, 10);
  assert.match(sql, / WHERE \(\(`region` > _utf8mb4 X'4575' COLLATE utf8mb4_general_ci\) OR \(`region` = _utf8mb4 X'4575' COLLATE utf8mb4_general_ci AND `id` > 42\)\) ORDER BY/);
});

test('key literals keep each type exact and comparable as ORDER BY sorts', () => {
  const lit = (c: Parameters<typeof column>[0], text: string | Buffer, collation: string | null = null) => keyLiteral(column(c), collation, Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'));
  assert.equal(lit({ name: 'x', type: 'bigint', unsigned: true }, '18446744073709551615'), '18446744073709551615');
  assert.equal(lit({ name: 'x', type: 'decimal' }, '-348.00'), '-348.00');
  assert.equal(lit({ name: 'x', type: 'double' }, '0.1'), '0.1e0');
  assert.equal(lit({ name: 'x', type: 'double' }, '1e-300'), '1e-300');
  assert.equal(lit({ name: 'x', type: 'varbinary' }, Buffer.from([0, 255])), "X'00ff'");
  assert.equal(lit({ name: 'x', type: 'varchar', charset: 'utf8mb3' }, 'a', 'utf8mb3_bin'), "_utf8 X'61' COLLATE utf8mb3_bin");
  assert.equal(lit({ name: 'x', type: 'datetime' }, '2024-01-02 03:04:05.500000'), "'2024-01-02 03:04:05.500000'");
  assert.equal(lit({ name: 'x', type: 'uuid' }, '123e4567-e89b-12d3-a456-426614174000'), "'123e4567-e89b-12d3-a456-426614174000'");
  assert.equal(lit({ name: 'x', type: 'enum', values: ['a'] }, '1'), '1');
  assert.equal(lit({ name: 'x', type: 'bit', length: 8 }, Buffer.from([5])), '0x05');
  // Nothing that is not the type's own text reaches the SQL.
  assert.throws(() => lit({ name: 'x', type: 'int' }, '1 OR 1=1'), /unexpected value/);
  assert.throws(() => lit({ name: 'x', type: 'date' }, "2024-01-01' OR '1"), /unexpected value/);
});

test('a resume key that does not fit the key is refused', () => {
  assert.throws(() => chunkQuery(table, ['41'], 10), /does not fit key uk/);
});

test('rows become the binlog reader raw forms', () => {
  const row = rawRow(schema, [Buffer.from('eu'), Buffer.from('-9223372036854775808'), Buffer.from('1.100000023841858'), Buffer.from('2'), Buffer.from('5')]);
  assert.deepEqual(row, [Buffer.from('eu'), -9223372036854775808n, 1.100000023841858, 'paid', 'a,c']);
  assert.deepEqual(rawRow(schema, [Buffer.from('x'), Buffer.from('1'), null, Buffer.from('0'), Buffer.from('0')]), [Buffer.from('x'), 1n, null, '', '']);
  assert.throws(() => rawRow(schema, [null]), /1 fields, the schema 5 columns/);
});

test('temporal text becomes components; TIMESTAMP (printed in UTC) an instant', () => {
  const v = (type: Parameters<typeof column>[0]['type'], text: string) => rawValue(column({ name: 'x', type }), Buffer.from(text));
  assert.deepEqual(v('time', '-838:59:59.000001'), { kind: 'temporal', negative: true, year: null, month: null, day: null, hour: 838, minute: 59, second: 59, micros: 1 });
  assert.deepEqual(v('date', '0000-00-00'), { kind: 'temporal', negative: false, year: 0, month: 0, day: 0, hour: null, minute: null, second: null, micros: null });
  assert.deepEqual(v('datetime', '2024-02-29 12:34:56.5'), { kind: 'temporal', negative: false, year: 2024, month: 2, day: 29, hour: 12, minute: 34, second: 56, micros: 500000 });
  assert.deepEqual(v('year', '0000'), { kind: 'temporal', negative: false, year: 0, month: null, day: null, hour: null, minute: null, second: null, micros: null });
  assert.deepEqual(v('timestamp', '1970-01-02 00:00:01.000001'), { kind: 'timestamp', epochSeconds: 86401, micros: 1 });
  assert.deepEqual(v('timestamp', '0000-00-00 00:00:00'), { kind: 'timestamp', epochSeconds: 0, micros: 0 });
  assert.throws(() => v('datetime', 'garbage'), /unexpected value/);
});

test('geometry loses its SRID prefix; BIT becomes its bits', () => {
  assert.deepEqual(rawValue(column({ name: 'g', type: 'point' }), Buffer.from([0, 0, 0, 0, 1, 2])), Buffer.from([1, 2]));
  assert.equal(rawValue(column({ name: 'b', type: 'bit', length: 64 }), Buffer.from('8000000000000000', 'hex')), 1n << 63n);
});

test('integers and DATETIMEs read from the bytes agree with the slow path at the edges', () => {
  const int = (text: string) => rawValue(column({ name: 'x', type: 'bigint' }), Buffer.from(text));
  for (const text of ['0', '-1', '999999999999999', '-999999999999999', '1000000000000000', '9223372036854775807', '-9223372036854775808', '18446744073709551615']) {
    assert.equal(int(text), BigInt(text), text);
  }
  assert.throws(() => int('12x'));
  const dt = (text: string) => rawValue(column({ name: 'x', type: 'datetime' }), Buffer.from(text)) as { micros: number; second: number };
  assert.equal(dt('2024-01-01 00:00:59.1').micros, 100000);
  assert.equal(dt('2024-01-01 00:00:59.000001').micros, 1);
  assert.equal(dt('2024-01-01 00:00:59.123456').micros, 123456);
  assert.equal(dt('0000-00-00 00:00:00').second, 0);
});

test('a chunk with an end: the range (after, upTo], no LIMIT; the composite end is inclusive on its last column only', () => {
  const after = chunkKeyOf(table, [Buffer.from('Eu'), Buffer.from('42'), null, null, null]);
  const upTo = chunkKeyOf(table, [Buffer.from('Us'), Buffer.from('7'), null, null, null]);
  const sql = chunkQuery(table, after, 10, upTo);
  assert.match(sql, / AND \(\(`region` < _utf8mb4 X'5573' COLLATE utf8mb4_general_ci\) OR \(`region` = _utf8mb4 X'5573' COLLATE utf8mb4_general_ci AND `id` <= 7\)\) ORDER BY `region`, `id`$/);
  assert.match(chunkQuery(table, null, 10, upTo), /FORCE INDEX \(`uk`\) WHERE \(\(`region` < .* `id` <= 7\)\) ORDER BY `region`, `id`$/);
});

test('the boundary query selects the key columns of the n-th row after the last key, in their chunk form', () => {
  assert.equal(boundaryQuery(table, null, 500),
    'SELECT `region`, `id` FROM `shop`.`or``ders` FORCE INDEX (`uk`) ORDER BY `region`, `id` LIMIT 1 OFFSET 499');
  const floatKey: ChunkTable = { schema, key: { name: 'pk', columns: ['price'] }, collations: table.collations };
  assert.match(boundaryQuery(floatKey, ['31'], 10), /^SELECT CAST\(`price` AS DOUBLE\) FROM .* WHERE \(`price` > 1e0\) ORDER BY `price` LIMIT 1 OFFSET 9$/);
});

test('a TextRow (field ranges of one buffer) reads as the same values as its fields', () => {
  const fields = [Buffer.from('eu'), Buffer.from('-9223372036854775808'), null, Buffer.from('2'), Buffer.from('5')];
  const row = textRow(5);
  const parts: Buffer[] = [];
  let at = 3;
  parts.push(Buffer.from('xyz'));
  fields.forEach((f, i) => {
    row.starts[i] = f ? at : -1;
    row.ends[i] = f ? at + f.length : -1;
    if (f) { parts.push(f); at += f.length; }
  });
  row.buf = Buffer.concat(parts);
  row.count = 5;
  assert.deepEqual(textRowFields(row), fields);
  assert.deepEqual(rawRowOf(schema, row), rawRow(schema, fields));
  row.count = 4;
  assert.throws(() => rawRowOf(schema, row), /4 fields, the schema 5 columns/);
});
