import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import ZongJi from '@vlasky/zongji';
import { SyncError } from '../../../src/errors.ts';
import { classifyBinlogError, ZONGJI_VALUE_OPTIONS } from '../../../src/source/binlog-reader.ts';
import {
  COMPRESSION_NONE, COMPRESSION_ZSTD, decodeTransactionPayloads, inflateTransactionPayload, loadZongjiEventClasses,
  parseTransactionPayload, splitPayloadEvents, TransactionPayloadError,
} from '../../../src/source/transaction-payload.ts';
import { installExactRowReader } from '../../../src/source/zongji-exact-rows.ts';

/*
 * A TRANSACTION_PAYLOAD_EVENT captured from the lab's MySQL 9.7 (binlog_transaction_compression=ON,
 * binlog_checksum CRC32), the whole event at mysql-bin.000001:304743 (ends at 305048), written by
 *   CREATE TABLE fixture_db.t (id BIGINT UNSIGNED PRIMARY KEY, price DECIMAL(12,3),
 *     name VARCHAR(40) CHARACTER SET utf8mb4, at DATETIME(6), data BLOB);
 *   BEGIN; INSERT INTO fixture_db.t VALUES (18446744073709551615, -12345.678, 'héllo ✓',
 *     '2024-02-29 23:59:59.123456', x'00ff10'), (2, NULL, '', '1000-01-01 00:00:00', NULL);
 *   UPDATE fixture_db.t SET price = 1.5 WHERE id = 2;
 *   DELETE FROM fixture_db.t WHERE id = 18446744073709551615; COMMIT
 */
const CAPTURED = Buffer.from(
  'c5c7136b28010000003101000098a7040000000201000303fc6b020103fc0c010028b52ffd606b01150800740cc5c7136b02010000004b00' +
  '08003a002500012800a045060373746404e000e000ff00050653595354454d12ff0000424547494ec5c7136b135f00008001000a6669787475' +
  '72655f6462000174000508f60f12fc060c03a00006021e0101800304fcff003f0416026964057072696365046e616d650261740464617461' +
  '0801000c01f81e581100020005ff00ff7fffcfc6fd590a68c3a96c6c6f20e29c9399b2bb7efb01e240030000ff101202008cb242001f4aff10' +
  '8000000101f42046101bba010000000000001900a004e2a2360863ab04f007164b2c9360cd2b94e71d780696009d49001609700fe73268062686' +
  '18cc80e6c0859cb08f656920302864005e7bc30c76',
  'hex');
const CAPTURED_START = 304743;
const CAPTURED_END = 305048;

/** MySQL's length-encoded integer. */
function lenc(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([252, n & 0xff, n >> 8]);
  const b = Buffer.alloc(9);
  b[0] = 254;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

/** A payload event body: fields (type, length, value) up to the end mark, then the payload. */
function payloadBody(payload: Buffer, compression: number, uncompressed: number | null, extra: Buffer[] = []): Buffer {
  const field = (type: number, value: Buffer) => Buffer.concat([lenc(type), lenc(value.length), value]);
  return Buffer.concat([
    field(1, lenc(payload.length)),
    field(2, lenc(compression)),
    ...(uncompressed === null ? [] : [field(3, lenc(uncompressed))]),
    ...extra,
    Buffer.from([0]),
    payload,
  ]);
}

/** A zstd frame of raw (stored) blocks: valid zstd that needs no compressor to write. */
function zstdRawFrame(data: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = 0xa0; // single segment, 4-byte content size, no checksum
  head.writeUInt32LE(data.length, 5);
  const parts: Buffer[] = [head];
  let at = 0;
  do {
    const block = data.subarray(at, at + 128 * 1024);
    at += block.length;
    const h = Buffer.alloc(3);
    h.writeUIntLE((block.length << 3) | (at >= data.length ? 1 : 0), 0, 3); // raw block (type 0), last-block bit
    parts.push(h, block);
  } while (at < data.length);
  return Buffer.concat(parts);
}

/** An event: the 19-byte header (end position 0, as inside a payload) and its body. */
function event(type: number, body: Buffer, nextPosition = 0): Buffer {
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1_700_000_000, 0);
  h[4] = type;
  h.writeUInt32LE(1, 5);
  h.writeUInt32LE(19 + body.length, 9);
  h.writeUInt32LE(nextPosition, 13);
  return Buffer.concat([h, body]);
}

/** An event as it comes over the wire: OK marker, event, CRC32 placeholder. */
function wire(ev: Buffer) {
  const buffer = Buffer.concat([Buffer.from([0]), ev, Buffer.alloc(4)]);
  buffer.writeUInt32LE(ev.length + 4, 1 + 9);
  return { buffer, offset: 0, end: buffer.length, isEOF: () => false, isError: () => false };
}

test('the payload header fields are read, unknown ones skipped by their length', () => {
  const payload = Buffer.from('abcdef');
  const p = parseTransactionPayload(Buffer.concat([payloadBody(payload, COMPRESSION_ZSTD, 300, [Buffer.from([7, 2, 0xaa, 0xbb])]), Buffer.from('tail')]));
  assert.equal(p.compressionType, COMPRESSION_ZSTD);
  assert.equal(p.uncompressedSize, 300);
  assert.deepEqual(p.payload, payload);
  assert.equal(parseTransactionPayload(payloadBody(payload, COMPRESSION_NONE, null)).uncompressedSize, null);
});

test('the captured MySQL 9.7 payload decompresses to the whole transaction, events without checksums', () => {
  const p = parseTransactionPayload(CAPTURED.subarray(19, CAPTURED.length - 4));
  assert.equal(p.compressionType, COMPRESSION_ZSTD);
  const data = inflateTransactionPayload(p);
  assert.equal(data.length, p.uncompressedSize);
  const events = splitPayloadEvents(data);
  // QUERY(BEGIN), TABLE_MAP, WRITE_ROWS v2, TABLE_MAP, UPDATE_ROWS v2, TABLE_MAP, DELETE_ROWS v2, XID
  assert.deepEqual(events.map((e) => e[4]), [2, 19, 30, 19, 31, 19, 32, 16]);
  assert.equal(events.at(-1)!.length, 19 + 8, 'an XID event is the header and the 8-byte xid: no CRC32 inside the payload');
  assert.ok(events.every((e) => e.readUInt32LE(13) === 0), 'inner events carry no end position of their own');
});

test('zstd frames of several blocks, several frames, and uncompressed payloads give the events back', () => {
  const evs = [event(2, Buffer.alloc(200_000, 7)), event(16, Buffer.alloc(8, 1))];
  const data = Buffer.concat(evs);
  const twoFrames = Buffer.concat([zstdRawFrame(evs[0]!), zstdRawFrame(evs[1]!)]);
  for (const [payload, type] of [[zstdRawFrame(data), COMPRESSION_ZSTD], [twoFrames, COMPRESSION_ZSTD], [data, COMPRESSION_NONE]] as const) {
    const out = splitPayloadEvents(inflateTransactionPayload(parseTransactionPayload(payloadBody(payload, type, data.length))));
    assert.deepEqual(out, evs);
  }
});

test('unknown compression is unsupported; broken sizes and events are refused, not guessed', () => {
  const data = event(16, Buffer.alloc(8));
  assert.throws(() => inflateTransactionPayload(parseTransactionPayload(payloadBody(data, 1, data.length))),
    (e: unknown) => e instanceof TransactionPayloadError && e.unsupported && /algorithm 1/.test(e.message));
  const broken = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof TransactionPayloadError && !e.unsupported && re.test(e.message));
  broken(() => parseTransactionPayload(Buffer.from([1])), /truncated/);
  broken(() => parseTransactionPayload(Buffer.from([1, 1])), /runs past the event/);
  broken(() => parseTransactionPayload(payloadBody(data, COMPRESSION_NONE, null).subarray(0, 10)), /payload has 27 bytes, but only 1 follow/);
  broken(() => inflateTransactionPayload(parseTransactionPayload(payloadBody(zstdRawFrame(data), COMPRESSION_ZSTD, data.length + 1))), /decompressed to 27 bytes, not the 28/);
  broken(() => inflateTransactionPayload(parseTransactionPayload(payloadBody(Buffer.from('not zstd at all'), COMPRESSION_ZSTD, 15))), /cannot be decompressed/);
  broken(() => splitPayloadEvents(data.subarray(0, 10)), /less than an event header/);
  broken(() => splitPayloadEvents(Buffer.concat([data, data.subarray(0, 20)])), /past the payload's end/);
  const short = Buffer.from(data);
  short.writeUInt32LE(5, 9);
  broken(() => splitPayloadEvents(short), /less than its header/);
  broken(() => splitPayloadEvents(event(40, Buffer.alloc(4))), /another payload event/);
});

/** A zongji instance that never connects, its binlog command built as start() builds it, hooked. */
async function hookedZongji(unsupported: 'fail' | 'skip') {
  await installExactRowReader();
  const index = createRequire(import.meta.url).resolve('@vlasky/zongji');
  const { default: initBinlogClass } = await import(pathToFileURL(path.join(path.dirname(index), 'lib', 'sequence', 'binlog.js')).href);
  const zongji = new ZongJi({ ...ZONGJI_VALUE_OPTIONS } as never) as unknown as Record<string, any>;
  zongji.useChecksum = true;
  zongji.options.filename = 'mysql-bin.000001';
  zongji.BinlogClass = initBinlogClass(zongji);
  const connection = {};
  zongji.connection = connection;
  decodeTransactionPayloads(zongji, { eventClassOf: await loadZongjiEventClasses(), unsupported });
  const events: any[] = [];
  const errors: unknown[] = [];
  zongji.on('error', (e: unknown) => errors.push(e));
  const cmd = new zongji.BinlogClass((err: unknown, evt: any) => {
    if (err) throw err;
    // What zongji's own handler (index.js, binlogHandler) does with a self-describing TableMap.
    if (evt.getTypeName() === 'TableMap') {
      zongji.tableMap[evt.tableId] = { columnSchemas: evt.buildColumnSchemas(), parentSchema: evt.schemaName, tableName: evt.tableName };
      evt.updateColumnInfo();
    }
    events.push(evt);
  });
  const feed = (packet: ReturnType<typeof wire>) => cmd.binlogData(packet, connection);
  return { zongji, events, errors, feed };
}

test('a payload event goes through zongji\'s own row path: exact rows, the outer end as every position', async () => {
  const { events, errors, feed } = await hookedZongji('fail');
  feed({ buffer: Buffer.concat([Buffer.from([0]), CAPTURED]), offset: 0, end: CAPTURED.length + 1, isEOF: () => false, isError: () => false });
  assert.deepEqual(errors, []);
  assert.deepEqual(events.map((e) => e.getEventName()),
    ['query', 'tablemap', 'writerows', 'tablemap', 'updaterows', 'tablemap', 'deleterows', 'xid']);
  assert.ok(events.every((e) => e.nextPosition === CAPTURED_END), `every event ends where the payload ends (${CAPTURED_START} + ${CAPTURED.length})`);
  assert.equal(CAPTURED_START + CAPTURED.length, CAPTURED_END);
  const [insert, update, del] = [events[2], events[4], events[6]];
  assert.equal(insert.tableMap[insert.tableId].tableName, 't');
  assert.equal(insert.rows.length, 2);
  const [big, two] = insert.rows;
  assert.equal(big[0], 18446744073709551615n);
  assert.equal(big[1], '-12345.678');
  assert.deepEqual(big[2], Buffer.from('héllo ✓'));
  assert.deepEqual(big[4], Buffer.from([0x00, 0xff, 0x10]));
  assert.deepEqual([two[0], two[1], two[2], two[4]], [2n, null, Buffer.alloc(0), null]);
  assert.equal(update.rows[0].before[1], null);
  assert.equal(update.rows[0].after[1], '1.500');
  assert.equal(del.rows[0][0], 18446744073709551615n);
});

test('a PARTIAL_UPDATE_ROWS event stops the stream: non-retriable, position and variable named, nothing after it handed on', async () => {
  const { zongji, events, errors, feed } = await hookedZongji('fail');
  zongji.tableMap[42] = { parentSchema: 'shop', tableName: 'orders', columns: [], columnSchemas: [] };
  const body = Buffer.alloc(30);
  body.writeUIntLE(42, 0, 6); // the table id
  feed(wire(event(39, body, 5000)));
  feed(wire(event(16, Buffer.alloc(8), 5027)));
  assert.equal(events.length, 0, 'the XID after the undecodable event must not commit anything');
  assert.equal(errors.length, 1);
  const e = errors[0] as SyncError;
  assert.ok(e instanceof SyncError);
  assert.equal(e.code, 'SOURCE_EVENT_UNSUPPORTED');
  assert.equal(e.retriable, false);
  assert.match(e.message, /mysql-bin\.000001:4947/);
  assert.match(e.message, /SET GLOBAL binlog_row_value_options=''/);
});

test('a PARTIAL_UPDATE_ROWS event of a table the reader does not select is dropped like its other row events', async () => {
  const { events, errors, feed } = await hookedZongji('fail');
  const body = Buffer.alloc(30);
  body.writeUIntLE(43, 0, 6); // no table map kept for table 43: filtered
  feed(wire(event(39, body, 5000)));
  feed(wire(event(16, Buffer.alloc(8), 5027)));
  assert.deepEqual(errors, []);
  assert.deepEqual(events.map((e) => [e.getEventName(), e.nextPosition]), [['xid', 5027]]);
});

test('a payload of unknown compression stops the stream naming binlog_transaction_compression; a seek skips it', async () => {
  const inner = event(16, Buffer.alloc(8));
  const outer = event(40, payloadBody(inner, 7, inner.length), 9000);
  const failing = await hookedZongji('fail');
  failing.feed(wire(outer));
  assert.equal((failing.errors[0] as SyncError).code, 'SOURCE_EVENT_UNSUPPORTED');
  assert.match((failing.errors[0] as SyncError).message, /algorithm 7.*binlog_transaction_compression=OFF/s);
  assert.match((failing.errors[0] as SyncError).message, new RegExp(`mysql-bin\\.000001:${9000 - outer.length - 4}`));
  const skipping = await hookedZongji('skip');
  skipping.feed(wire(outer));
  skipping.feed(wire(event(16, Buffer.alloc(8), 9100)));
  assert.deepEqual(skipping.errors, []);
  assert.deepEqual(skipping.events.map((e) => [e.getEventName(), e.nextPosition]), [['xid', 9100]]);
});

test('uncompressed events pass through unchanged', async () => {
  const { events, errors, feed } = await hookedZongji('fail');
  feed(wire(event(16, Buffer.alloc(8, 0), 777)));
  assert.deepEqual(errors, []);
  assert.deepEqual(events.map((e) => [e.getEventName(), e.nextPosition]), [['xid', 777]]);
});

test("zongji's own report of an undecodable event is classified as non-retriable", () => {
  const e = classifyBinlogError(new Error('Server sent a PARTIAL_UPDATE_ROWS_EVENT (binlog_row_value_options=PARTIAL_JSON). zongji cannot decode partial JSON updates'), { file: 'mysql-bin.000002', position: 4 });
  assert.equal(e.code, 'SOURCE_EVENT_UNSUPPORTED');
  assert.equal(e.retriable, false);
  assert.match(e.message, /mysql-bin\.000002:4/);
});
