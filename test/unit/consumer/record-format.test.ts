import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumedRecord } from '../../../src/consumer/consumer.ts';
import { formatJson, formatText, type JsonRecord } from '../../../src/consumer/record-format.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import type { ChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnValue } from '../../../src/model/column-value.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import { column } from '../../fixtures/column.ts';

const table: TableSchema = {
  database: 'shop',
  table: 'orders',
  columns: [
    column('id', 'bigint', { nullable: false, unsigned: true }),
    column('note', 'varchar', { charset: 'gbk' }),
    column('amount', 'decimal', { precision: 10, scale: 2 }),
    column('body', 'text', { charset: 'utf8mb4' }),
    column('raw', 'varbinary'),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [],
};

const source: SourceInfo = {
  position: { file: 'mysql-bin.000002', position: 2117523 },
  transactionStart: { file: 'mysql-bin.000002', position: 2117000 },
  commitTimestamp: 1714557600,
  serverId: 1,
  threadId: 9,
  gtid: '0-1-5',
};

/** 中文 in GBK */
const GBK = Buffer.from('d6d0cec4', 'hex');

function consumed(event: ChangeEvent, offset = 17n): ConsumedRecord {
  const value = Buffer.from(encodeEvent(event, { id: 9223372036854775807n, sourceVersion: '10.11', readerTimestampMs: 1 }));
  const raw = decodeRecord(value);
  return { topic: 'dts_demo', partition: 0, offset, key: event.kind === 'row' ? Buffer.from('["18446744073709551615"]') : null, timestamp: 1714557600000n, value, raw, record: renderRecord(raw) };
}

const row = (note: Buffer | null, amount: string, body: string): ColumnValue[] => [18446744073709551615n, note, amount, Buffer.from(body), Buffer.from([0, 0xff])];

test('text: operation, object, place, positions, timestamps; per column name, MYSQL_TYPE_* and the value', () => {
  const update = consumed({ kind: 'row', operation: 'UPDATE', table, before: row(GBK, '12.50', 'a\tb'), after: row(GBK, '13.50', 'x'.repeat(300)), source });
  assert.equal(formatText(update, { maxValueChars: 200 }), [
    'UPDATE shop.orders  dts_demo[0]@17  key ["18446744073709551615"]',
    '  id 9223372036854775807  position 2117523@2  safe 2117000@2  source 2024-05-01 10:00:00 UTC (1714557600)  born 1714557600',
    '  id      MYSQL_TYPE_LONGLONG    18446744073709551615',
    '  note    MYSQL_TYPE_VAR_STRING  中文',
    '  amount  MYSQL_TYPE_NEWDECIMAL  12.50 → 13.50',
    `  body    MYSQL_TYPE_BLOB        a\\tb → ${'x'.repeat(200)}… (300 characters)`,
    '  raw     MYSQL_TYPE_VAR_STRING  00FF',
    '',
  ].join('\n'));
  const del = formatText(consumed({ kind: 'row', operation: 'DELETE', table, before: row(null, '1.00', ''), after: null, source }), { maxValueChars: 0 });
  assert.match(del, /^DELETE shop\.orders/);
  assert.match(del, /^ {2}note +MYSQL_TYPE_VAR_STRING +NULL$/m);
  const init = formatText(consumed({ kind: 'row', operation: 'INIT', table, before: null, after: row(GBK, '2.00', 'y'), source }), { maxValueChars: 0 });
  assert.match(init, /^INIT shop\.orders {2}dts_demo\[0\]@17/);
  assert.match(init, /^ {2}amount +MYSQL_TYPE_NEWDECIMAL +2\.00$/m);
  const ddl = formatText(consumed({ kind: 'ddl', database: 'shop', sql: 'ALTER TABLE orders\nADD c INT', source }), { maxValueChars: 0 });
  assert.equal(ddl.split('\n')[0], 'DDL shop  dts_demo[0]@17');
  assert.equal(ddl.split('\n')[2], '  ALTER TABLE orders\\nADD c INT');
});

test('json: one line, every value exact, character bytes in hex, longs as strings', () => {
  const line = formatJson(consumed({ kind: 'row', operation: 'INSERT', table, before: null, after: row(GBK, '-0.01', 'é'), source }, 9_007_199_254_740_993n));
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  const r = JSON.parse(line) as JsonRecord;
  assert.deepEqual({ ...r, columns: undefined, tags: undefined }, {
    topic: 'dts_demo', partition: 0, offset: '9007199254740993', key: '["18446744073709551615"]', timestamp: 1714557600000,
    operation: 'INSERT', objectName: 'shop.orders', database: 'shop', table: 'orders', id: '9223372036854775807',
    sourceTimestamp: 1714557600, bornTimestamp: 1714557600, sourcePosition: '2117523@2', safeSourcePosition: '2117000@2', ddl: null,
    columns: undefined, tags: undefined,
  });
  assert.equal(r.tags.thread_id, '9');
  assert.deepEqual(r.columns, [
    { name: 'id', type: 'MYSQL_TYPE_LONGLONG', dataTypeNumber: 8, before: null, after: '18446744073709551615' },
    { name: 'note', type: 'MYSQL_TYPE_VAR_STRING', dataTypeNumber: 253, before: null, after: '中文', afterHex: 'D6D0CEC4' },
    { name: 'amount', type: 'MYSQL_TYPE_NEWDECIMAL', dataTypeNumber: 246, before: null, after: '-0.01' },
    { name: 'body', type: 'MYSQL_TYPE_BLOB', dataTypeNumber: 252, before: null, after: 'é', afterHex: 'C3A9' },
    { name: 'raw', type: 'MYSQL_TYPE_VAR_STRING', dataTypeNumber: 253, before: null, after: '00FF' },
  ]);
  const ddl = JSON.parse(formatJson(consumed({ kind: 'ddl', database: 'shop', sql: 'DROP TABLE x', source }))) as JsonRecord;
  assert.equal(ddl.ddl, 'DROP TABLE x');
  assert.deepEqual(ddl.columns, []);
  assert.equal(ddl.key, null);
});

test('text is decoded by the charset the record names, with MySQL’s own tables; TEXT by the text_charsets tag, or without one', () => {
  const charsets: TableSchema = {
    database: 'shop',
    table: 'texts',
    columns: [
      column('id', 'int', { nullable: false }),
      column('l1', 'varchar', { charset: 'latin1' }),
      column('sw', 'varchar', { charset: 'swe7' }),
      column('d8', 'char', { charset: 'dec8' }),
      column('kb', 'varchar', { charset: 'keybcs2' }),
      column('sj', 'varchar', { charset: 'sjis' }),
      column('u16', 'varchar', { charset: 'utf16' }),
      column('t_utf8', 'text', { charset: 'utf8mb4' }),
      column('t_latin1', 'text', { charset: 'latin1' }),
    ],
    primaryKey: { name: 'PRIMARY', columns: ['id'] },
    uniqueKeys: [],
  };
  const values: ColumnValue[] = [
    1n,
    Buffer.from('636166e9208081', 'hex'), // café €, then 0x81 which MySQL maps to U+0081
    Buffer.from('5b5c5d', 'hex'), // swe7: ÄÖÅ
    Buffer.from('e9', 'hex'), // dec8: é
    Buffer.from('80', 'hex'), // keybcs2: Č
    Buffer.from('93fa967b', 'hex'), // 日本 in Shift JIS
    Buffer.from('00e9d83dde00', 'hex'), // é😀 in UTF-16 (big-endian)
    Buffer.from('çà 😀'),
    Buffer.from('636166e9', 'hex'), // latin1 café: not UTF-8
  ];
  const r = consumed({ kind: 'row', operation: 'INSERT', table: charsets, before: null, after: values, source });
  // Our records name the charset of TEXT columns that are not UTF-8.
  assert.equal(r.raw.tags.text_charsets, '{"t_latin1":"latin1"}');
  const json = JSON.parse(formatJson(r)) as JsonRecord;
  assert.deepEqual(json.columns.map((c) => c.after), ['1', 'café €\u0081', 'ÄÖÅ', 'é', 'Č', '日本', 'é😀', 'çà 😀', 'café']);
  assert.equal(json.columns[1]!.afterHex, '636166E9208081');
  const text = formatText(r, { maxValueChars: 0 });
  assert.match(text, /^ {2}l1 +MYSQL_TYPE_VAR_STRING +café €\u0081$/m);
  assert.match(text, /^ {2}t_latin1 +MYSQL_TYPE_BLOB +café$/m);
  // A record without the tag (another producer's): UTF-8 when it is, else the hex of the bytes.
  const { text_charsets: _dropped, ...otherTags } = r.raw.tags;
  const other = { ...r, raw: { ...r.raw, tags: otherTags } };
  assert.deepEqual((JSON.parse(formatJson(other)) as JsonRecord).columns.slice(-2).map((c) => c.after), ['çà 😀', '636166E9']);
});
