import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import { recordType } from '../../../src/dts/avro-schema.ts';
import type { DtsDateTime, DtsImageValue, DtsRecord } from '../../../src/dts/dts-record.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { encodeRecord } from '../../../src/dts/encoder.ts';

const N = 'com.alibaba.dts.formats.avro.';

const dateTime: DtsDateTime = { year: 2024, month: 2, day: 29, hour: -1, minute: null, second: 59, millis: 999999 };

/** One value of every branch of the image item union, with the branch index the schema gives it. */
const BRANCHES: [number, DtsImageValue][] = [
  [0, null],
  [1, { [`${N}Integer`]: { precision: 8, value: '-9223372036854775808' } } as DtsImageValue],
  [2, { [`${N}Character`]: { charset: 'utf8mb4', value: Buffer.from('é😀') } } as DtsImageValue],
  [3, { [`${N}Decimal`]: { value: '-348.00', precision: 5, scale: 2 } } as DtsImageValue],
  [4, { [`${N}Float`]: { value: -1.5e300, precision: 0, scale: 0 } } as DtsImageValue],
  [5, { [`${N}Timestamp`]: { timestamp: 4294967295n, millis: 999999 } } as DtsImageValue],
  [6, { [`${N}DateTime`]: dateTime } as DtsImageValue],
  [7, { [`${N}TimestampWithTimeZone`]: { value: dateTime, timezone: '+08:00' } } as DtsImageValue],
  [8, { [`${N}BinaryGeometry`]: { type: 'POINT', value: Buffer.from('010100000000000000000000000000000000000000', 'hex') } } as DtsImageValue],
  [9, { [`${N}TextGeometry`]: { type: 'POINT', value: 'POINT(0 0)' } } as DtsImageValue],
  [10, { [`${N}BinaryObject`]: { type: 'BLOB', value: Buffer.alloc(100, 0xab) } } as DtsImageValue],
  [11, { [`${N}TextObject`]: { type: 'JSON', value: '{"k":"ü"}' } } as DtsImageValue],
  [12, { [`${N}EmptyObject`]: 'NONE' } as DtsImageValue],
];

function record(overrides: Partial<DtsRecord> = {}): DtsRecord {
  return {
    version: 0,
    id: 1n,
    sourceTimestamp: 1_700_000_000n,
    sourcePosition: '72469@78',
    safeSourcePosition: '72000@78',
    sourceTxid: '0',
    source: { sourceType: 'MySQL', version: '8.0.28' },
    operation: 'INSERT',
    objectName: 'db.t',
    processTimestamps: null,
    tags: { pk_uk_info: '{"PRIMARY":["id"]}', thread_id: '1' },
    fields: [{ name: 'c', dataTypeNumber: 3 }],
    beforeImages: null,
    afterImages: [null],
    bornTimestamp: 1_700_000_000n,
    ...overrides,
  };
}

function assertSameAsAvsc(r: DtsRecord, label = ''): Buffer {
  const ours = encodeRecord(r);
  const theirs = recordType.toBuffer(r);
  assert.equal(ours.toString('hex'), theirs.toString('hex'), label);
  return ours;
}

// xorshift32: the same sequence on every run.
function generator(seed: number) {
  let s = seed;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const ALPHABET = ['a', 'Z', '0', '.', ' ', '"', '\\', 'é', 'ß', '中', '😀', '\u0000', '\u007f', '\u0080', '\uffff'];
  const text = (max: number) => Array.from({ length: int(max) }, () => pick(ALPHABET)).join('');
  const bytes = (max: number) => Buffer.from(Array.from({ length: int(max) }, () => int(256)));
  const int32 = () => pick([0, 1, -1, 63, 64, -64, -65, 2147483647, -2147483648, int(1 << 30) - (1 << 29)]);
  const long = () => pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 51n, -(2n ** 51n), 2n ** 51n - 1n, BigInt(int(2 ** 31)) * 1000003n]);
  const optional = () => (next() < 0.3 ? null : int32());
  const dt = (): DtsDateTime => ({
    year: optional(), month: optional(), day: optional(), hour: optional(), minute: optional(), second: optional(), millis: optional(),
  });
  const item = (): DtsImageValue => {
    switch (int(13)) {
      case 0: return null;
      case 1: return { [`${N}Integer`]: { precision: int32(), value: text(30) } } as DtsImageValue;
      case 2: return { [`${N}Character`]: { charset: text(8), value: bytes(40) } } as DtsImageValue;
      case 3: return { [`${N}Decimal`]: { value: text(70), precision: int32(), scale: int32() } } as DtsImageValue;
      case 4: return { [`${N}Float`]: { value: pick([0, -0, 1.1, -1e308, 5e-324, next()]), precision: int32(), scale: int32() } } as DtsImageValue;
      case 5: return { [`${N}Timestamp`]: { timestamp: long(), millis: int32() } } as DtsImageValue;
      case 6: return { [`${N}DateTime`]: dt() } as DtsImageValue;
      case 7: return { [`${N}TimestampWithTimeZone`]: { value: dt(), timezone: text(10) } } as DtsImageValue;
      case 8: return { [`${N}BinaryGeometry`]: { type: text(12), value: bytes(60) } } as DtsImageValue;
      case 9: return { [`${N}TextGeometry`]: { type: text(12), value: text(60) } } as DtsImageValue;
      case 10: return { [`${N}BinaryObject`]: { type: pick(['TEXT', 'BLOB']), value: bytes(300) } } as DtsImageValue;
      case 11: return { [`${N}TextObject`]: { type: text(5), value: text(300) } } as DtsImageValue;
      default: return { [`${N}EmptyObject`]: pick(['NULL', 'NONE']) } as DtsImageValue;
    }
  };
  const images = () => {
    const r = next();
    return r < 0.2 ? null : r < 0.3 ? text(100) : Array.from({ length: int(12) }, item);
  };
  const randomRecord = (): DtsRecord => ({
    version: int32(),
    id: long(),
    sourceTimestamp: long(),
    sourcePosition: text(20),
    safeSourcePosition: text(20),
    sourceTxid: text(3),
    source: { sourceType: pick(['MySQL', 'Oracle', 'OTHER'] as const), version: text(30) },
    operation: pick(['INSERT', 'UPDATE', 'DELETE', 'DDL', 'INIT', 'HEARTBEAT', 'NOOP'] as const),
    objectName: next() < 0.2 ? null : text(40),
    processTimestamps: next() < 0.5 ? null : Array.from({ length: int(4) }, long),
    tags: Object.fromEntries(Array.from({ length: int(6) }, () => [text(25), text(40)])),
    fields: next() < 0.2 ? null : next() < 0.1 ? text(10) : Array.from({ length: int(12) }, () => ({ name: text(20), dataTypeNumber: int32() })),
    beforeImages: images(),
    afterImages: images(),
    bornTimestamp: long(),
  });
  return { randomRecord };
}

describe('encodeRecord', () => {
  it('writes every image branch with its schema index, as avsc does', () => {
    const empty = encodeRecord(record({ afterImages: null }));
    for (const [index, item] of BRANCHES) {
      const bytes = assertSameAsAvsc(record({ afterImages: [item] }), `branch ${index}`);
      // Up to afterImages both records are the same bytes; there the null branch (0) of
      // the one meets the array branch (zig-zag 4), one item (2) and the item's index.
      let at = 0;
      while (bytes[at] === empty[at]) at++;
      assert.deepEqual([empty[at], bytes[at], bytes[at + 1], bytes[at + 2]], [0, 4, 2, 2 * index], `branch ${index}`);
      const decoded = decodeRecord(bytes).afterImages as DtsImageValue[];
      assert.deepEqual(decoded.length, 1);
      if (item === null) assert.equal(decoded[0], null);
      else assert.deepEqual(Object.keys(decoded[0] as object), Object.keys(item));
    }
  });

  it('writes the other unions as avsc does: strings, arrays and nulls', () => {
    assertSameAsAvsc(record({ objectName: null, fields: null, beforeImages: null, afterImages: 'CREATE TABLE t (a INT)', operation: 'DDL' }));
    assertSameAsAvsc(record({ fields: 'x', beforeImages: [], afterImages: [] }));
    assertSameAsAvsc(record({ processTimestamps: [1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)] }));
    assertSameAsAvsc(record({ processTimestamps: [] }));
    assertSameAsAvsc(record({ tags: {} }));
  });

  it('writes longs and ints at their limits as avsc does', () => {
    for (const id of [0n, 1n, -1n, 63n, 64n, 2n ** 31n, 2n ** 51n - 1n, 2n ** 51n, -(2n ** 51n), 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      assertSameAsAvsc(record({ id, sourceTimestamp: id > -(2n ** 63n) ? -id : id, bornTimestamp: id }), String(id));
    }
    for (const version of [0, 1, -1, 63, -64, 64, 2147483647, -2147483648]) assertSameAsAvsc(record({ version }));
  });

  it('writes long and non-ASCII strings and large values as avsc does', () => {
    const long = 'é'.repeat(40) + 'x'.repeat(100) + '😀';
    assertSameAsAvsc(record({ sourcePosition: long, objectName: 'ünïcode.tåble', tags: { [long]: long } }));
    assertSameAsAvsc(record({ source: { sourceType: 'MySQL', version: 'x'.repeat(300) } }));
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const bytes = assertSameAsAvsc(record({ afterImages: [{ [`${N}BinaryObject`]: { type: 'BLOB', value: big } } as DtsImageValue] }));
    assert.ok(bytes.length > big.length);
  });

  it('writes a lone surrogate as U+FFFD, valid UTF-8, where avsc writes ED A0 80', () => {
    const bytes = encodeRecord(record({ sourcePosition: 'a\ud800b' }));
    assert.ok(bytes.includes(Buffer.from([0x0a, 0x61, 0xef, 0xbf, 0xbd, 0x62])));
    assert.equal(decodeRecord(bytes).sourcePosition, 'a\ufffdb');
    const long = `${'x'.repeat(70)}\ud800`;
    assert.ok(encodeRecord(record({ sourcePosition: long })).equals(recordType.toBuffer(record({ sourcePosition: long }))));
  });

  it('matches avsc on 2,000 random records', () => {
    const { randomRecord } = generator(0x9e3779b9);
    for (let i = 0; i < 2000; i++) assertSameAsAvsc(randomRecord(), `record ${i}`);
  });

  it('hands out buffers that later records do not overwrite', () => {
    const { randomRecord } = generator(12345);
    const records = Array.from({ length: 3000 }, randomRecord);
    const encoded = records.map((r) => encodeRecord(r));
    records.forEach((r, i) => assert.ok(encoded[i].equals(recordType.toBuffer(r)), `record ${i}`));
  });

  it('keeps the strings and field lists it reuses intact when a record moves buffers', () => {
    // The encoder writes into 256 KiB slabs (encoder.ts). A record bigger than a slab
    // leaves the next one to start a fresh slab; a filler then leaves `room` bytes, so
    // that the slab runs out while the next record's new objectName or fields are written.
    const SLAB = 256 * 1024;
    const blob = (size: number) => [{ [`${N}BinaryObject`]: { type: 'BLOB', value: Buffer.alloc(size, 1) } } as DtsImageValue];
    const filler = (size: number) => record({ afterImages: blob(size) });
    const overhead = encodeRecord(filler(0)).length + 3; // + up to 3 more length-varint bytes
    const probes: DtsRecord[] = [];
    for (let room = 0; room <= 400; room += 8) {
      encodeRecord(filler(SLAB + 1000));
      encodeRecord(filler(SLAB - room - overhead));
      const probe = record({
        objectName: `db_${room}.t_${'x'.repeat(room % 50)}`,
        fields: Object.freeze([Object.freeze({ name: `c${room}`, dataTypeNumber: 3 })]),
      });
      probes.push(probe);
      assertSameAsAvsc(probe, `first write, room ${room}`);
    }
    probes.forEach((probe, i) => assertSameAsAvsc(probe, `reused, probe ${i}`));
  });

  it('rejects an invalid value with ENCODE_FAILED naming where it is', () => {
    const fails = (r: unknown, pattern: RegExp) =>
      assert.throws(() => encodeRecord(r as DtsRecord), (e: unknown) => {
        assert.ok(e instanceof SyncError, String(e));
        assert.equal(e.code, 'ENCODE_FAILED');
        assert.match(e.message, pattern);
        return true;
      });
    fails(record({ afterImages: [null, { [`${N}Integer`]: { precision: 1, value: 5 } } as unknown as DtsImageValue] }), /afterImages\[1\] Integer\.value: 5/);
    fails(record({ id: 5 as unknown as bigint }), /id: 5 is not valid/);
    fails(record({ id: 2n ** 63n }), /id: 9223372036854775808n/);
    fails(record({ version: 1.5 }), /version/);
    fails(record({ operation: 'MERGE' as DtsRecord['operation'] }), /operation: "MERGE"/);
    fails(record({ afterImages: [{ [`${N}Money`]: {} } as unknown as DtsImageValue] }), /branch/);
    fails(record({ afterImages: [{ [`${N}EmptyObject`]: 'EMPTY' } as unknown as DtsImageValue] }), /EmptyObject/);
    fails(record({ tags: { a: 1 as unknown as string } }), /tags\.a/);
    fails(record({ afterImages: [{ [`${N}Character`]: { charset: 'utf8', value: 'x' } } as unknown as DtsImageValue] }), /Character\.value/);
    fails(null, /record/);
    // A failed record leaves the encoder as it was.
    assertSameAsAvsc(record());
  });
});
