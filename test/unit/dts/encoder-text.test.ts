import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, encodeInitText, encodeInitTextInto, type TextImage } from '../../../src/dts/encoder.ts';
import type { RowChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnValue } from '../../../src/model/column-value.ts';
import type { ColumnSchema, TableSchema } from '../../../src/model/table-schema.ts';
import { rawValueAt } from '../../../src/snapshot/chunk-query.ts';
import { chunkMessages, EncodedChunkWriter, isCanonicalInteger } from '../../../src/snapshot/encoded-chunk.ts';
import { normalizeValue } from '../../../src/source/row-normalizer.ts';
import { column } from '../../fixtures/column.ts';

// Each column with texts the server may send for it over the text protocol (chunk-query.ts
// selects FLOAT as DOUBLE and ENUM/SET as numbers), the odd ones included: ZEROFILL's
// leading zeros, -0, the ends of every integer range, texts of other shapes.
const CASES: readonly (readonly [ColumnSchema, readonly string[]])[] = [
  [column('t', 'tinyint'), ['0', '-128', '127', '7', '007', '-0', '128']],
  [column('tu', 'tinyint', { unsigned: true }), ['0', '255', '256', '-1']],
  [column('s', 'smallint'), ['-32768', '32767', '12']],
  [column('m', 'mediumint', { unsigned: true }), ['16777215', '0001']],
  [column('i', 'int'), ['-2147483648', '2147483647', '42', '2147483648']],
  [column('b', 'bigint'), ['-9223372036854775808', '9223372036854775807', '999999999999999', '1000000000000000', '-1', '00000000000000000042']],
  [column('bu', 'bigint', { unsigned: true }), ['18446744073709551615', '0']],
  [column('d', 'decimal', { precision: 12, scale: 2 }), ['0.00', '-0.50', '1234567890.12', '0012.30', '-1.00']],
  [column('d0', 'decimal', { precision: 10, scale: 0 }), ['0', '-5', '1234567890']],
  [column('f', 'float'), ['1.100000023841858', '16777216', '-0', '3.4028234663852886e38']],
  [column('g', 'double'), ['0.14285714285714285', '1e-300', '-2.5']],
  [column('dt', 'datetime', { fsp: 3 }), ['2024-01-01 00:00:01.123', '0000-00-00 00:00:00.000', '9999-12-31 23:59:59.999']],
  [column('dt0', 'datetime'), ['2024-02-29 12:34:56', '2024-02-29 12:34:56.']],
  [column('dt6', 'datetime', { fsp: 6 }), ['2024-02-29 12:34:56.000001', '2024-02-29 12:34:56.5']],
  [column('ts', 'timestamp', { fsp: 2 }), ['2024-01-01 00:00:00.25', '1970-01-01 00:00:01.00']],
  [column('da', 'date'), ['2024-01-31', '0000-00-00']],
  [column('ti', 'time', { fsp: 1 }), ['-838:59:59.0', '12:00:00.5']],
  [column('y', 'year'), ['2024', '0000']],
  [column('c', 'char', { charset: 'utf8mb4', length: 4 }), ['', 'ab', 'ñandú ok']],
  [column('v', 'varchar', { charset: 'ascii', length: 64 }), ['0000000000000000000000000000000000F4240', 'x']],
  [column('bi', 'binary', { length: 4 }), ['ab', 'abcd']],
  [column('vb', 'varbinary', { length: 40 }), ['\u0000\u00ff raw', 'a longer binary value of many bytes']],
  [column('tx', 'text', { charset: 'utf8mb4' }), ['note note ', '', 'ü'.repeat(40)]],
  [column('bl', 'blob'), ['\u0001\u0002', 'x'.repeat(300)]],
  [column('j', 'json'), ['{"a": [1, 2]}', '"ñ"']],
  [column('e', 'enum', { values: ['a', 'b', 'c'] }), ['0', '2']],
  [column('st', 'set', { values: ['x', 'y', 'z'] }), ['0', '5', '7']],
  [column('bt', 'bit', { precision: 12 }), ['\u000f\u00ff']],
];

const table: TableSchema = {
  database: 'shop', table: 'zoo', columns: CASES.map(([c]) => c), primaryKey: { name: 'PRIMARY', columns: ['i'] }, uniqueKeys: [],
};
const low = { file: 'mysql-bin.000003', position: 4567, gtid: '0-1-9' };
const source: SourceInfo = { position: low, transactionStart: low, commitTimestamp: 1_700_000_000, serverId: 7, threadId: 0, gtid: low.gtid };
const ctx = { id: 0n, sourceVersion: '10.11.19-MariaDB-log', readerTimestampMs: 1_700_000_000_500 };
const event: RowChangeEvent = { kind: 'row', operation: 'INIT', table, before: null, after: [], source };

/** A text row with the given fields (null for NULL), at an offset in a larger buffer, as in a packet. */
function image(fields: readonly (string | null)[]): TextImage {
  const parts = fields.map((f) => (f === null ? null : Buffer.from(f, 'latin1')));
  const buf = Buffer.alloc(7 + parts.reduce((n, p) => n + (p?.length ?? 0) + 3, 0), 0xee);
  const starts = new Int32Array(fields.length);
  const ends = new Int32Array(fields.length);
  let at = 7;
  parts.forEach((p, i) => {
    if (p === null) {
      starts[i] = -1;
      ends[i] = -1;
      return;
    }
    starts[i] = at;
    p.copy(buf, at);
    at += p.length;
    ends[i] = at;
    at += 3;
  });
  return { buf, count: fields.length, starts, ends };
}

function valueAt(img: TextImage): (i: number) => ColumnValue {
  return (i) => (img.starts[i]! < 0 ? null : normalizeValue(table.columns[i]!, rawValueAt(table.columns[i]!, img.buf, img.starts[i]!, img.ends[i]!)));
}

/** What the text path must equal: encodeEvent of the row's exact values (or its error). */
function expected(img: TextImage): Buffer | Error {
  try {
    const values = table.columns.map((_, i) => valueAt(img)(i));
    return Buffer.from(encodeEvent({ ...event, after: values }, ctx));
  } catch (e) {
    return e as Error;
  }
}

test('an INIT record written from field text equals encodeEvent of the exact values, for every column kind and odd text', () => {
  let direct = 0;
  let general = 0;
  // Every text of every column, with the other columns cycling through theirs, and NULLs.
  const rows = Math.max(...CASES.map(([, texts]) => texts.length)) + 1;
  for (let r = 0; r < rows; r++) {
    const fields = CASES.map(([, texts], c) => ((r + c) % (texts.length + 1) === texts.length ? null : texts[(r + c) % (texts.length + 1)]!));
    const img = image(fields);
    const want = expected(img);
    const got = encodeInitText(event, img, ctx, valueAt(img));
    if (got === null) {
      general++;
      continue; // the worker then takes encodeEvent: the same bytes or error by construction
    }
    direct++;
    assert.ok(Buffer.isBuffer(want), `row ${r}: the text path wrote a record where encodeEvent fails: ${String(want)}`);
    assert.deepEqual(Buffer.from(got), want, `row ${r}: ${JSON.stringify(fields)}`);
  }
  assert.ok(direct > 0, 'some rows take the text path');
  // A text outside its column's range (tinyint 128) is left to encodeEvent, which refuses it.
  assert.ok(general > 0, 'rows with a value out of range take the general path');
});

test('each column alone: the text path writes exactly what encodeEvent writes', () => {
  for (const [c, texts] of CASES) {
    const single: TableSchema = { ...table, columns: [c], primaryKey: null, table: `zoo_${c.name}` };
    const ev: RowChangeEvent = { ...event, table: single };
    for (const text of [...texts, null]) {
      const img = image([text]);
      const at = (i: number) => (img.starts[i]! < 0 ? null : normalizeValue(c, rawValueAt(c, img.buf, img.starts[i]!, img.ends[i]!)));
      let want: Buffer | Error;
      try {
        want = Buffer.from(encodeEvent({ ...ev, after: [at(0)] }, ctx));
      } catch (e) {
        want = e as Error;
      }
      const got = encodeInitText(ev, img, ctx, at);
      if (got === null) {
        assert.ok(want instanceof Error, `${c.name} ${JSON.stringify(text)}: left to the general path although it encodes`);
        continue;
      }
      assert.deepEqual(Buffer.from(got), want, `${c.name} ${JSON.stringify(text)}`);
    }
  }
});

test('only INIT rows without a before image take the text path', () => {
  const img = image(CASES.map(([, texts]) => texts[0]!));
  assert.equal(encodeInitText({ ...event, operation: 'INSERT' }, img, ctx, valueAt(img)), null);
  assert.equal(encodeInitText({ ...event, before: [] }, img, ctx, valueAt(img)), null);
  assert.equal(encodeInitText(event, { ...img, count: img.count - 1 }, ctx, valueAt(img)), null);
});

test('canonical integer text: what String(bigint) prints, and nothing else', () => {
  const yes = ['0', '7', '-7', '42', '-9223372036854775808', '18446744073709551615'];
  const no = ['', '-', '-0', '007', '00', '+5', '1e3', '4.0', ' 4', '123456789012345678901'];
  for (const t of yes) assert.ok(isCanonicalInteger(Buffer.from(t), 0, t.length), t);
  for (const t of no) assert.ok(!isCanonicalInteger(Buffer.from(t), 0, t.length), t);
  for (const t of yes) assert.equal(BigInt(t).toString(), t);
});

/** A row of every column's first text (BIT NULL: its texts are for its own test above). */
const goodFields = (): (string | null)[] => CASES.map(([c, texts]) => (c.name === 'bt' ? null : texts[0]!));

test('the fields before the images are reused only while what they are written from stays the same', () => {
  const img = image(goodFields());
  const at = valueAt(img);
  const other = { file: 'mysql-bin.000004', position: 4, gtid: null };
  // Each differs from the one before in one thing the head holds; a new object or the same one changed.
  const variants: [RowChangeEvent, typeof ctx][] = [
    [event, ctx],
    [event, { ...ctx, id: 5n }],
    [event, { ...ctx, id: 5n, readerTimestampMs: ctx.readerTimestampMs + 1 }],
    [{ ...event, source: { ...source, commitTimestamp: source.commitTimestamp + 1 } }, ctx],
    [{ ...event, source: { ...source, position: other } }, ctx],
    [{ ...event, source: { ...source, transactionStart: other } }, ctx],
    [{ ...event, source: { ...source, serverId: 8 } }, ctx],
    [{ ...event, source: { ...source, threadId: 3 } }, ctx],
    [event, { ...ctx, sourceVersion: '11.4.2-MariaDB' }],
    [{ ...event, table: { ...table, table: 'zoo2' } }, ctx],
    [event, ctx],
  ];
  for (const [ev, c] of variants) {
    const values = table.columns.map((_, i) => at(i));
    const want = Buffer.from(encodeEvent({ ...ev, after: values }, c));
    assert.deepEqual(Buffer.from(encodeInitText(ev, img, c, at)!), want);
    assert.deepEqual(Buffer.from(encodeInitText(ev, img, c, at)!), want, 'written again from the kept head');
  }
});

test('written into a caller\'s buffer: the same bytes in place, the slab left alone, and -1 when the room is short', () => {
  const img = image(goodFields());
  const at = valueAt(img);
  const want = Buffer.from(encodeInitText(event, img, ctx, at)!);
  const out = Buffer.alloc(want.length + 100, 0xaa);
  const end = encodeInitTextInto(out, 37, event, img, ctx, at);
  assert.equal(end, 37 + want.length);
  assert.deepEqual(out.subarray(37, end), want);
  assert.ok(out.subarray(0, 37).every((b) => b === 0xaa) && out.subarray(end).every((b) => b === 0xaa), 'nothing written outside the record');
  // Too little room: -1, and the next record from the slab is still right.
  assert.equal(encodeInitTextInto(Buffer.alloc(want.length + 4), 5, event, img, ctx, at), -1);
  assert.deepEqual(Buffer.from(encodeInitText(event, img, ctx, at)!), want);
  // A row for the general path: -1.
  const bad = image(goodFields().map((f, i) => (CASES[i]![0].name === 't' ? '128' : f)));
  assert.equal(encodeInitTextInto(out, 0, event, bad, ctx, valueAt(bad)), -1);
});

test('a chunk written in place gives the records encodeEvent writes, with the integer key messageKey writes', () => {
  const writer = new EncodedChunkWriter(2, 256);
  const rows = ['42', '-7', '0', '007', '9223372036854775807'];
  const written: boolean[] = [];
  const images: TextImage[] = [];
  for (const key of rows) {
    const img = image(goodFields().map((f, i) => (CASES[i]![0].name === 'i' ? key : f)));
    images.push(img);
    const k = CASES.findIndex(([c]) => c.name === 'i');
    written.push(writer.addInPlace(img.buf, img.starts[k]!, img.ends[k]!, 1, 4096, (out, at) => encodeInitTextInto(out, at, event, img, ctx, valueAt(img))));
  }
  // '007' is no canonical key; the bigint does not fit the int column: both left to the caller.
  assert.deepEqual(written, [true, true, true, false, false]);
  // A record larger than the room given is not added either.
  const small = new EncodedChunkWriter(1, 16);
  const img = images[0]!;
  const k = CASES.findIndex(([c]) => c.name === 'i');
  assert.equal(small.addInPlace(img.buf, img.starts[k]!, img.ends[k]!, 0, 16, (out, at) => encodeInitTextInto(out, at, event, img, ctx, valueAt(img))), false);
  assert.equal(small.finish().count, 0);
  const ids = [10n, 11n, 12n];
  let next = 0;
  const messages = chunkMessages(writer.finish(), { topic: 't', timestamp: '1', nextId: () => ids[next++]! });
  assert.equal(messages.length, 3);
  messages.forEach((m, r) => {
    const values = table.columns.map((_, i) => valueAt(images[r]!)(i));
    assert.deepEqual(m.value, Buffer.from(encodeEvent({ ...event, after: values }, { ...ctx, id: ids[r]! })), `row ${r}`);
    assert.equal(m.key!.toString(), `["${rows[r]}"]`);
    assert.equal(m.partition, 1);
  });
});
