/**
 * The RecordFormat interface as its DTS Avro implementation fills it, and what encodeEvent
 * does when its fast row path fails: the documented cases go to the general path (whose
 * bytes or error come out), anything else is thrown as it is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avsc from 'avsc';
import { AvroWriter, SLAB_SIZE } from '../../../src/dts/avro-writer.ts';
import { dtsAvroFormat } from '../../../src/dts/dts-avro-format.ts';
import { encodeEvent, encodeInitText, encodeInitTextInto, encodeRecord, type TextImage } from '../../../src/dts/encoder.ts';
import { outputFormat } from '../../../src/dts/output-format.ts';
import { buildRecord } from '../../../src/dts/record-builder.ts';
import type { RowChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnValue } from '../../../src/model/column-value.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import { isSyncError } from '../../../src/errors.ts';
import { column } from '../../fixtures/column.ts';

const table: TableSchema = {
  database: 'shop',
  table: 'orders',
  columns: [
    column('id', 'bigint', { nullable: false }),
    column('note', 'varchar', { charset: 'utf8mb4', length: 40 }),
    column('flags', 'bit', { length: 8 }),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [],
};
const at = { file: 'mysql-bin.000012', position: 4567 };
const source: SourceInfo = { position: at, transactionStart: at, commitTimestamp: 1_700_000_000, serverId: 3, threadId: 11, gtid: null };
const ctx = { id: 42n, sourceVersion: '10.11.19-MariaDB-log', readerTimestampMs: 1_700_000_000_250 };
const insert = (after: readonly ColumnValue[]): RowChangeEvent => ({ kind: 'row', operation: 'INSERT', table, before: null, after, source });
const good = insert([7n, Buffer.from('seven'), 5n]);

/** What the general path alone gives: the bytes of buildRecord + encodeRecord, or its error. */
function general(event: RowChangeEvent, c = ctx): Buffer | Error {
  try {
    return Buffer.from(encodeRecord(buildRecord(event, c)));
  } catch (e) {
    return e as Error;
  }
}

test('the output format is the DTS Avro format, and encodeEvent the same function under every name', () => {
  assert.equal(outputFormat, dtsAvroFormat);
  assert.equal(outputFormat.name, 'dts-avro');
  assert.equal(outputFormat.encodeEvent, encodeEvent);
  assert.equal(outputFormat.encodeInitText, encodeInitText);
  assert.equal(outputFormat.encodeInitTextInto, encodeInitTextInto);
  assert.deepEqual(Buffer.from(outputFormat.encodeEvent(good, ctx)), general(good));
});

test('a record encoded with id 0, stamped with an id, is the record encoded with that id', () => {
  const f = outputFormat;
  const ids = [0n, 1n, 63n, 64n, 300n, 2n ** 51n - 1n, 2n ** 51n, 2n ** 63n - 1n, -1n, -(2n ** 63n)];
  const unstamped = Buffer.from(f.encodeEvent(good, { ...ctx, id: 0n }));
  assert.ok(f.isUnstamped(unstamped, 0, unstamped.length));
  const body = unstamped.subarray(f.unstampedHead);
  for (const id of ids) {
    const room = Buffer.alloc(f.idRoom + body.length);
    body.copy(room, f.idRoom);
    const start = f.stampId(room, f.idRoom, id);
    assert.ok(start >= 0, `${id}`);
    const stamped = room.subarray(start);
    assert.deepEqual(stamped, Buffer.from(f.encodeEvent(good, { ...ctx, id })), `id ${id}`);
    assert.equal(f.isUnstamped(stamped, 0, stamped.length), id === 0n);
  }
  assert.throws(() => f.stampId(Buffer.alloc(f.idRoom), f.idRoom, 2n ** 64n), /does not fit a long/);
});

test('an unexpected error of the fast row path is thrown, not hidden by the general path', () => {
  // An image whose first read of a value throws: the fast path meets the error, the general
  // path (reading again) would write the record. encodeEvent used to return that record.
  let reads = 0;
  const values: ColumnValue[] = [7n, Buffer.from('seven'), 5n];
  const flaky = new Proxy(values, {
    get(target, key, receiver) {
      if (key === '0' && reads++ === 0) throw new TypeError('a fault of the fast path');
      return Reflect.get(target, key, receiver);
    },
  });
  assert.throws(() => encodeEvent(insert(flaky), ctx), { name: 'TypeError', message: 'a fault of the fast path' });
  assert.ok(Buffer.isBuffer(general(insert(flaky))), 'the general path alone writes it');
  // The encoder is left as it was: the next record is right.
  assert.deepEqual(Buffer.from(encodeEvent(good, ctx)), general(good));
});

test('the documented fallbacks of the fast row path give exactly the general path\'s bytes or error', () => {
  const cases: [string, RowChangeEvent, typeof ctx][] = [
    // A value its column's mapper refuses (BIT takes a bigint): ENCODE_FAILED naming the table.
    ['a value the mapper refuses', insert([7n, Buffer.from('x'), 'five']), ctx],
    // A value the schema cannot hold (InvalidValue in the writer): ENCODE_FAILED naming the record.
    ['an id beyond a long', good, { ...ctx, id: 2n ** 63n }],
    ['an operation the schema has no symbol for', { ...good, operation: 'UPSERT' as RowChangeEvent['operation'] }, ctx],
    // Values of a form the fast path leaves to the general path.
    ['a BINARY value shorter than its width', { ...good, table: { ...table, columns: [table.columns[0]!, column('note', 'binary', { length: 8 }), table.columns[2]!] } }, ctx],
    ['an integer out of its column\'s range', insert([2n ** 64n, null, null]), ctx],
    ['a row image of the wrong length', insert([7n]), ctx],
    ['a commit time that is not whole seconds', { ...good, source: { ...source, commitTimestamp: 1.5 } }, ctx],
  ];
  for (const [what, event, c] of cases) {
    const want = general(event, c);
    let got: Buffer | Error;
    try {
      got = Buffer.from(encodeEvent(event, c));
    } catch (e) {
      got = e as Error;
    }
    if (want instanceof Error) {
      assert.ok(got instanceof Error, `${what}: expected ${want.message}`);
      assert.ok(isSyncError(got) && got.code === 'ENCODE_FAILED', `${what}: ${got.message}`);
      assert.equal(got.message, want.message, what);
    } else {
      assert.deepEqual(got, want, what);
    }
  }
});

function textImage(fields: readonly (string | null)[]): TextImage {
  const parts = fields.map((f) => (f === null ? null : Buffer.from(f, 'latin1')));
  const buf = Buffer.concat(parts.filter((p) => p !== null));
  const starts = new Int32Array(fields.length);
  const ends = new Int32Array(fields.length);
  let pos = 0;
  parts.forEach((p, i) => {
    starts[i] = p === null ? -1 : pos;
    pos += p?.length ?? 0;
    ends[i] = p === null ? -1 : pos;
  });
  return { buf, count: fields.length, starts, ends };
}

test('the text INIT path: a valueAt that throws leaves the row to the general path; a fault of the path is thrown', () => {
  const init: RowChangeEvent = { ...good, operation: 'INIT' };
  const image = textImage(['7', 'seven', '\u0005']);
  const values: ColumnValue[] = [7n, Buffer.from('seven'), 5n];
  const valueAt = (i: number) => values[i]!;
  const want = Buffer.from(encodeEvent({ ...init, after: values }, ctx));
  assert.deepEqual(Buffer.from(encodeInitText(init, image, ctx, valueAt)!), want);
  // The BIT column is read through valueAt: when it throws, the general path reads the row again.
  const unreadable = () => {
    throw new Error('no such text');
  };
  assert.equal(encodeInitText(init, image, ctx, unreadable), null);
  assert.equal(encodeInitTextInto(Buffer.alloc(1024), 0, init, image, ctx, unreadable), -1);
  // A TextImage that fails as it is read is a fault: thrown, as it is.
  const broken = { ...image, get buf(): Buffer { throw new RangeError('a broken image'); } };
  assert.throws(() => encodeInitText(init, broken, ctx, valueAt), { name: 'RangeError' });
  assert.throws(() => encodeInitTextInto(Buffer.alloc(1024), 0, init, broken, ctx, valueAt), { name: 'RangeError' });
  // Both writers are left as they were.
  assert.deepEqual(Buffer.from(encodeInitText(init, image, ctx, valueAt)!), want);
  const out = Buffer.alloc(1024);
  assert.equal(encodeInitTextInto(out, 3, init, image, ctx, valueAt), 3 + want.length);
  assert.deepEqual(out.subarray(3, 3 + want.length), want);
});

test('the writer: varints as Avro writes them, and a record that moves keeps its offsets', () => {
  const w = AvroWriter.slab();
  const longType = avsc.Type.forSchema('long');
  const intType = avsc.Type.forSchema('int');
  for (const n of [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)]) {
    w.rewind();
    w.writeInt(n, 'n');
    assert.deepEqual(Buffer.from(w.finish()), intType.toBuffer(n), `int ${n}`);
  }
  for (const n of [0, 1, -1, 2 ** 50, -(2 ** 50), 2 ** 52 + 1, -(2 ** 52)]) {
    w.writeLong(BigInt(n), 'n');
    assert.deepEqual(Buffer.from(w.finish()), longType.toBuffer(n), `long ${n}`);
  }
  assert.throws(() => w.writeInt(2 ** 31, 'an int'), /an int: 2147483648 is not valid/);
  assert.throws(() => w.writeLong(2n ** 63n, 'a long'), /a long: 9223372036854775808n is not valid/);
  // A record larger than the rest of the slab moves whole to a buffer of its own.
  w.rewind();
  w.writeString('head', 's');
  const offset = w.offset;
  const big = Buffer.alloc(SLAB_SIZE, 0x61);
  w.writeRaw(big);
  assert.deepEqual(w.copySince(offset), big);
  const record = w.finish();
  assert.equal(record.length, 5 + SLAB_SIZE);
  assert.deepEqual(record.subarray(0, 5), Buffer.from([8, 0x68, 0x65, 0x61, 0x64]));
  // Into a caller's buffer: a record that does not fit shows as the buffer no longer being it.
  const out = Buffer.alloc(8);
  w.target(out, 2);
  w.writeRaw(Buffer.from('abc'));
  assert.equal(w.buf, out);
  w.writeRaw(Buffer.from('defgh'));
  assert.notEqual(w.buf, out);
  assert.deepEqual(w.copySince(0), Buffer.from('abcdefgh'));
  w.release();
});
