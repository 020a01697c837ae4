import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import type { ColumnValue } from '../../../src/model/column-value.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import {
  ABSENT, canonicalFromRecord, canonicalFromSource, differingColumns, keyText, normalizeFraction, rowDigest, sourceExpression,
} from '../../../src/verify/canonical.ts';
import { column } from '../../fixtures/column.ts';

const table: TableSchema = {
  database: 'd',
  table: 't',
  columns: [
    column('id', 'int', { nullable: false }),
    column('f', 'float'),
    column('d', 'double'),
    column('dt', 'datetime', { fsp: 3 }),
    column('ts', 'timestamp', { fsp: 6 }),
    column('c', 'varchar', { charset: 'latin1' }),
    column('tx', 'text', { charset: 'gbk' }),
    column('b', 'bit', { length: 64 }),
    column('g', 'point'),
    column('e', 'enum', { values: ['a', 'b'] }),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [],
};

const source = {
  position: { file: 'mysql-bin.000001', position: 100 }, transactionStart: { file: 'mysql-bin.000001', position: 50 },
  commitTimestamp: 1, serverId: 1, threadId: 1, gtid: null,
};

/** The decoded columns of a record holding `after`. */
function decoded(after: ColumnValue[]) {
  const value = encodeEvent({ kind: 'row', operation: 'INSERT', table, before: null, after, source }, { id: 1n, sourceVersion: 'x', readerTimestampMs: 0 });
  return renderRecord(decodeRecord(Buffer.from(value))).columns;
}

const WKB = Buffer.from('0101000000000000000000F03F0000000000000040', 'hex');
const GBK = Buffer.from('babad7d6', 'hex');

test('the decoded record and what the server prints reach the same canonical values', () => {
  const columns = decoded([
    7n, Math.fround(1.1), 0.1, { kind: 'temporal', negative: false, year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, micros: 600000 },
    { kind: 'timestamp', epochSeconds: 1714557600, micros: 0 }, Buffer.from([0xe9]), GBK, 18446744073709551615n, WKB, '',
  ]);
  // What the source SELECT returns for sourceExpression() of each column, in a UTC session.
  const server: unknown[] = [
    '7', '1.100000023841858', '0.1', '2024-01-02 03:04:05.600', '2024-05-01 10:00:00.000000', Buffer.from([0xe9]), GBK, '18446744073709551615', WKB, '',
  ];
  table.columns.forEach((col, i) => {
    const fromRecord = canonicalFromRecord(col, columns[i], 'after');
    const fromSource = canonicalFromSource(col, server[i]);
    assert.deepEqual(fromRecord, fromSource, col.name);
  });
  assert.equal(canonicalFromRecord(table.columns[0]!, columns[0], 'before'), null, 'no before image: NULL');
  assert.equal(canonicalFromRecord(table.columns[0]!, undefined, 'after'), ABSENT);
});

test('FLOAT compares as float32, DOUBLE as float64: close is not equal', () => {
  const f = table.columns[1]!;
  assert.deepEqual(canonicalFromSource(f, '1.100000023841858'), canonicalFromSource(f, '1.1'));
  assert.notDeepEqual(canonicalFromSource(f, '1.1'), canonicalFromSource(f, '1.1000001'));
  const d = table.columns[2]!;
  assert.notDeepEqual(canonicalFromSource(d, '0.1'), canonicalFromSource(d, '0.10000000000000002'));
  assert.equal(canonicalFromSource(d, 'junk'), 'not a number: junk');
});

test('fractions: none when zero, else six digits', () => {
  assert.equal(normalizeFraction('12:00:00.000'), '12:00:00');
  assert.equal(normalizeFraction('-838:59:59.9'), '-838:59:59.900000');
  assert.equal(normalizeFraction('2024-01-01 00:00:00'), '2024-01-01 00:00:00');
});

test('source expressions pin the stored value', () => {
  const [id, f, d, dt, , c, tx, b, g] = table.columns;
  assert.equal(sourceExpression(id!), 'CAST(`id` AS CHAR CHARACTER SET utf8mb4)');
  assert.equal(sourceExpression(f!), 'CAST(`f` + 0e0 AS CHAR)');
  assert.equal(sourceExpression(d!), 'CAST(`d` AS CHAR CHARACTER SET utf8mb4)');
  assert.equal(sourceExpression(dt!), 'CAST(`dt` AS CHAR CHARACTER SET utf8mb4)');
  assert.equal(sourceExpression(c!), 'CAST(`c` AS BINARY)');
  assert.equal(sourceExpression(tx!), 'CAST(`tx` AS BINARY)');
  assert.equal(sourceExpression(b!), 'CAST(`b` + 0 AS CHAR)');
  assert.equal(sourceExpression(g!), 'SUBSTRING(CAST(`g` AS BINARY), 5)');
  assert.equal(sourceExpression({ ...id!, name: 'we`ird' }), 'CAST(`we``ird` AS CHAR CHARACTER SET utf8mb4)');
});

test('keys, digests, and which columns differ', () => {
  assert.equal(keyText(['7', Buffer.from([0xff]), null]), '["7","0xFF",null]');
  const a = rowDigest(['1', Buffer.from('x'), null]);
  const b = rowDigest(['1', Buffer.from('y'), null]);
  assert.notEqual(a.row, b.row);
  assert.deepEqual(differingColumns(['id', 'x', 'n'], a.columns, b.columns), ['x']);
  // NULL, the empty string, empty bytes and an absent column are all different values.
  const kinds = [rowDigest([null]).row, rowDigest(['']).row, rowDigest([Buffer.alloc(0)]).row, rowDigest([ABSENT]).row];
  assert.equal(new Set(kinds).size, 4);
});
