import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import type { DtsDateTime, DtsImageValue, DtsRecord } from '../../../src/dts/dts-record.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { formatTimestamp, renderRecord } from '../../../src/dts/record-render.ts';
import { formatMysqlDouble } from '../../../src/model/mysql-double.ts';
import { encodeRecord } from '../../../src/dts/encoder.ts';

const N = 'com.alibaba.dts.formats.avro.';

function record(fields: [string, number][], after: DtsImageValue[], overrides: Partial<DtsRecord> = {}): DtsRecord {
  return {
    version: 0,
    id: 12n,
    sourceTimestamp: 1_700_000_000n,
    sourcePosition: '72469@78',
    safeSourcePosition: '72000@78',
    sourceTxid: '0',
    source: { sourceType: 'MySQL', version: '8.0.28' },
    operation: 'INSERT',
    objectName: 'db.t',
    processTimestamps: null,
    tags: { pk_uk_info: '{}', thread_id: '1', server_id: '2', readerThroughoutTime: '1700000000001' },
    fields: fields.map(([name, dataTypeNumber]) => ({ name, dataTypeNumber })),
    beforeImages: null,
    afterImages: after,
    bornTimestamp: 1_700_000_000n,
    ...overrides,
  };
}

const dt = (parts: Partial<DtsDateTime>): DtsDateTime => ({
  year: null, month: null, day: null, hour: null, minute: null, second: null, millis: null, ...parts,
});

/** A record with one value of every branch, in varied columns: the sample for the robustness runs. */
const SAMPLE = record(
  [['i', 8], ['c', 253], ['d', 246], ['f', 5], ['ts', 7], ['dt', 12], ['tz', 12], ['g', 255], ['tg', 255], ['b', 252], ['j', 245], ['e', 6], ['n', 3]],
  [
    { [`${N}Integer`]: { precision: 8, value: '-9223372036854775808' } },
    { [`${N}Character`]: { charset: 'utf8mb4', value: Buffer.from('héllo 😀') } },
    { [`${N}Decimal`]: { value: '-348.00', precision: 5, scale: 2 } },
    { [`${N}Float`]: { value: 1e300, precision: 0, scale: 0 } },
    { [`${N}Timestamp`]: { timestamp: 2147483647n, millis: 999999 } },
    { [`${N}DateTime`]: dt({ year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, millis: 0 }) },
    { [`${N}TimestampWithTimeZone`]: { value: dt({ year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, millis: 6 }), timezone: '+08:00' } },
    { [`${N}BinaryGeometry`]: { type: 'POINT', value: Buffer.from('0101000000000000000000f03f0000000000000040', 'hex') } },
    { [`${N}TextGeometry`]: { type: 'POINT', value: 'POINT(1 2)' } },
    { [`${N}BinaryObject`]: { type: 'BLOB', value: Buffer.from([0, 1, 2, 0xff]) } },
    { [`${N}TextObject`]: { type: 'JSON', value: '{"a":1}' } },
    { [`${N}EmptyObject`]: 'NULL' },
    null,
  ] as DtsImageValue[],
  { processTimestamps: [1n, 2n] },
);

function assertDecodeFailed(bytes: Buffer, pattern = /byte offset \d+/): void {
  assert.throws(() => decodeRecord(bytes), (e: unknown) => {
    assert.ok(e instanceof SyncError, `expected a SyncError, got ${String(e)}`);
    assert.equal(e.code, 'DECODE_FAILED');
    assert.match(e.message, pattern);
    return true;
  });
}

function xorshift(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

describe('decodeRecord', () => {
  const bytes = encodeRecord(SAMPLE);

  it('reads back what was written', () => {
    const decoded = decodeRecord(bytes);
    assert.equal(decoded.id, 12n);
    assert.deepEqual(decoded.processTimestamps, [1n, 2n]);
    assert.equal(encodeRecord(decoded).toString('hex'), bytes.toString('hex'));
  });

  it('names the offset of a truncation at every length', () => {
    for (let length = 0; length < bytes.length; length++) {
      assertDecodeFailed(bytes.subarray(0, length), new RegExp(`byte offset \\d+ .*of ${length} bytes`));
    }
    assertDecodeFailed(Buffer.alloc(0), /truncated int at byte offset 0 \(\.version\)/);
  });

  it('refuses trailing bytes', () => {
    assertDecodeFailed(Buffer.concat([bytes, Buffer.from([0])]), new RegExp(`1 trailing bytes at byte offset ${bytes.length}`));
  });

  it('refuses corrupt counts, indexes and lengths quickly, naming where', () => {
    // version 0, id 0, sourceTimestamp 0, then a string claiming 2^61 bytes.
    assertDecodeFailed(
      Buffer.from([0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
      /string of \d{19} bytes past the end at byte offset 3 \(\.sourcePosition\)/,
    );
    // A ten-byte varint whose last byte holds more than the 64th bit.
    assertDecodeFailed(Buffer.from([0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /string length out of range at byte offset 3/);
    // A negative string length.
    assertDecodeFailed(Buffer.from([0, 0, 0, 0x01]), /negative string length -1 at byte offset 3/);
    // An int longer than five bytes.
    assertDecodeFailed(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /int longer than 5 bytes at byte offset 0/);
    // The operation enum out of range.
    const prefix = encodeRecord(record([], [], { operation: 'INSERT' }));
    const operationAt = prefix.indexOf(Buffer.from('8.0.28')) + 6;
    const badOperation = Buffer.from(prefix);
    badOperation[operationAt] = 2 * 40;
    assertDecodeFailed(badOperation, new RegExp(`enum index 40 not in 0..16 at byte offset ${operationAt} \\(\\.operation\\)`));
    // An image array claiming a billion items.
    const huge = Buffer.from(prefix);
    const imagesAt = huge.length - 7; // afterImages: branch 4, count 0 end; then bornTimestamp (5 bytes)
    assert.deepEqual([huge[imagesAt], huge[imagesAt + 1]], [4, 0]);
    const claim = Buffer.concat([huge.subarray(0, imagesAt + 1), Buffer.from([0x80, 0xa8, 0xd6, 0xb9, 0x07]), huge.subarray(imagesAt + 2)]);
    const started = Date.now();
    assertDecodeFailed(claim, /array block of 1000000000 items past the end .*\(\.afterImages\)/);
    assert.ok(Date.now() - started < 1000);
    // An image item with a union index past the 13 branches.
    const item = encodeRecord(record([['c', 3]], [null]));
    const itemAt = item.length - 7;
    const badItem = Buffer.from(item);
    badItem[itemAt] = 2 * 13;
    assertDecodeFailed(badItem, new RegExp(`union index 13 not in 0..12 at byte offset ${itemAt} \\(\\.afterImages\\[0\\]\\)`));
  });

  it('turns 2,000 random byte strings into DECODE_FAILED or a record, nothing else', () => {
    const next = xorshift(0xdecade);
    for (let i = 0; i < 2000; i++) {
      const input = Buffer.from(Array.from({ length: next() % 300 }, () => next() & 0xff));
      try {
        renderRecord(decodeRecord(input));
      } catch (e) {
        assert.ok(e instanceof SyncError && e.code === 'DECODE_FAILED' && /byte offset \d+|record id/.test(e.message), `case ${i}: ${String(e)}`);
      }
    }
  });

  it('turns 2,000 corrupted records into DECODE_FAILED or a record, nothing else', () => {
    const next = xorshift(0xbadf00d);
    let failed = 0;
    for (let i = 0; i < 2000; i++) {
      const input = Buffer.from(bytes);
      for (let flips = 1 + (next() % 4); flips > 0; flips--) input[next() % input.length] = next() & 0xff;
      try {
        renderRecord(decodeRecord(input));
      } catch (e) {
        failed++;
        assert.ok(e instanceof SyncError && e.code === 'DECODE_FAILED', `case ${i}: ${String(e)}`);
      }
    }
    assert.ok(failed > 500, `only ${failed} of 2000 corruptions were caught`);
  });
});

describe('renderRecord', () => {
  it('renders every branch and the record fields', () => {
    const rendered = renderRecord(decodeRecord(encodeRecord(SAMPLE)));
    assert.equal(rendered.operation, 'INSERT');
    assert.deepEqual([rendered.objectName, rendered.database, rendered.table], ['db.t', 'db', 't']);
    assert.equal(rendered.sourceTimestamp, 1_700_000_000n);
    assert.equal(rendered.ddl, null);
    assert.deepEqual(rendered.columns.map((c) => [c.name, c.mysqlType, c.after]), [
      ['i', 'MYSQL_TYPE_LONGLONG', '-9223372036854775808'],
      ['c', 'MYSQL_TYPE_VAR_STRING', 'héllo 😀'],
      ['d', 'MYSQL_TYPE_NEWDECIMAL', '-348.00'],
      ['f', 'MYSQL_TYPE_DOUBLE', '1e300'],
      ['ts', 'MYSQL_TYPE_TIMESTAMP', '2038-01-19 03:14:07.999999'],
      ['dt', 'MYSQL_TYPE_DATETIME', '9999-12-31 23:59:59'],
      ['tz', 'MYSQL_TYPE_DATETIME', '2024-01-02 03:04:05.000006 +08:00'],
      ['g', 'MYSQL_TYPE_GEOMETRY', '0101000000000000000000F03F0000000000000040'],
      ['tg', 'MYSQL_TYPE_GEOMETRY', 'POINT(1 2)'],
      ['b', 'MYSQL_TYPE_BLOB', '000102FF'],
      ['j', 'MYSQL_TYPE_JSON', '{"a":1}'],
      ['e', 'MYSQL_TYPE_NULL', null],
      ['n', 'MYSQL_TYPE_LONG', null],
    ]);
    assert.ok(rendered.columns[1].afterBytes?.equals(Buffer.from('héllo 😀')));
    assert.ok(rendered.columns[9].afterBytes?.equals(Buffer.from([0, 1, 2, 0xff])));
  });

  it('renders the codes a producer never writes', () => {
    const day = dt({ year: 2024, month: 2, day: 29 });
    const clock = dt({ year: 2024, month: 2, day: 29, hour: 1, minute: 2, second: 3, millis: 4 });
    const time = dt({ hour: -838, minute: -59, second: -59, millis: 0 });
    const rendered = renderRecord(decodeRecord(encodeRecord(record(
      [['old_decimal', 0], ['null', 6], ['newdate', 14], ['varchar', 15], ['ts2', 17], ['dt2', 18], ['time2', 19], ['empty', 254], ['odd', 99]],
      [
        { [`${N}Decimal`]: { value: '1.50', precision: 3, scale: 2 } },
        { [`${N}Integer`]: { precision: 1, value: '1' } },
        { [`${N}DateTime`]: day },
        { [`${N}Character`]: { charset: 'latin1', value: Buffer.from([0x80, 0xe9]) } },
        { [`${N}Timestamp`]: { timestamp: 0n, millis: 0 } },
        { [`${N}DateTime`]: clock },
        { [`${N}DateTime`]: time },
        { [`${N}EmptyObject`]: 'NONE' },
        { [`${N}DateTime`]: dt({ hour: 1, minute: 2, second: 3, millis: 0 }) },
      ] as DtsImageValue[],
    ))));
    assert.deepEqual(rendered.columns.map((c) => [c.mysqlType, c.after]), [
      ['MYSQL_TYPE_DECIMAL', '1.50'],
      ['MYSQL_TYPE_NULL', null],
      ['MYSQL_TYPE_NEWDATE', '2024-02-29'],
      ['MYSQL_TYPE_VARCHAR', '€é'],
      ['MYSQL_TYPE_TIMESTAMP2', '0000-00-00 00:00:00'],
      ['MYSQL_TYPE_DATETIME2', '2024-02-29 01:02:03.000004'],
      ['MYSQL_TYPE_TIME2', '-838:59:59'],
      ['MYSQL_TYPE_STRING', 'NONE'],
      ['UNKNOWN(99)', '01:02:03'],
    ]);
  });

  it('decodes character sets the MySQL way, and hex for binary and unknown ones', () => {
    const text = (charset: string, bytes: number[]) =>
      renderRecord(decodeRecord(encodeRecord(record([['c', 254]], [{ [`${N}Character`]: { charset, value: Buffer.from(bytes) } } as DtsImageValue]))))
        .columns[0].after;
    assert.equal(text('latin1', [0xe9]), 'é');
    assert.equal(text('latin1', [0x80]), '€');
    assert.equal(text('gbk', [0xd6, 0xd0]), '中');
    assert.equal(text('utf8', [0xc3, 0xa9]), 'é');
    assert.equal(text('utf8mb3', [0xc3, 0xa9]), 'é');
    assert.equal(text('ascii', [0x41]), 'A');
    assert.equal(text('ucs2', [0x00, 0x41]), 'A');
    assert.equal(text('utf16', [0xd8, 0x3d, 0xde, 0x00]), '😀');
    assert.equal(text('cp1251', [0xc0]), 'А');
    assert.equal(text('binary', [0x00, 0xab]), '00AB');
    assert.equal(text('swe7', [0x41, 0x42]), '4142');
  });

  it('splits objectName at the bare dot and unescapes \\u002E', () => {
    const names = (objectName: string | null, operation: DtsRecord['operation'] = 'INSERT') => {
      const r = renderRecord(decodeRecord(encodeRecord(record([], [], { objectName, operation }))));
      return [r.database, r.table];
    };
    assert.deepEqual(names('a\\u002Eb.t\\u002Ec'), ['a.b', 't.c']);
    assert.deepEqual(names('shop\\u002Eeu', 'DDL'), ['shop.eu', null]);
    assert.deepEqual(names(null, 'HEARTBEAT'), [null, null]);
  });

  it('refuses images that do not match the fields', () => {
    assert.throws(
      () => renderRecord(record([['a', 3], ['b', 3]], [null])),
      (e: unknown) => e instanceof SyncError && e.code === 'DECODE_FAILED' && /afterImages has 1 values for 2 fields/.test(e.message),
    );
  });
});

describe('formatMysqlDouble', () => {
  const cases: [number, string][] = [
    [100, '100'], [1.5, '1.5'], [-1.5, '-1.5'], [0.1, '0.1'], [1e-7, '0.0000001'],
    [1e-15, '0.000000000000001'], [1e-16, '1e-16'], [1.234e-16, '1.234e-16'], [1e14, '100000000000000'],
    [1e15, '1e15'], [1234567890123456, '1.234567890123456e15'], [1234567890123456.8, '1234567890123456.8'],
    [123456789012345678, '1.2345678901234568e17'], [1.5e300, '1.5e300'], [1e300, '1e300'], [-1e300, '-1e300'],
    [Number.MAX_VALUE, '1.7976931348623157e308'], [Number.MIN_VALUE, '5e-324'], [0, '0'], [-0, '-0'],
    [3.4028234663852886e38, '3.4028234663852886e38'], [1.1, '1.1'], [123.456, '123.456'],
  ];
  for (const [value, text] of cases) {
    it(`${value} → ${text}`, () => assert.equal(formatMysqlDouble(value), text));
  }
});

describe('formatTimestamp', () => {
  it('agrees with the calendar for 2,000 instants from 1970 to 2106', () => {
    const next = xorshift(42);
    for (let i = 0; i < 2000; i++) {
      const seconds = next();
      const micros = next() % 1_000_000;
      const iso = new Date(seconds * 1000).toISOString();
      const expected = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros === 0 ? '' : `.${String(micros).padStart(6, '0')}`}`;
      assert.equal(formatTimestamp(BigInt(seconds), micros), expected, String(seconds));
    }
  });

  it('prints MySQL zero for 0 and the edges of the range', () => {
    assert.equal(formatTimestamp(0n, 0), '0000-00-00 00:00:00');
    assert.equal(formatTimestamp(0n, 1), '1970-01-01 00:00:00.000001');
    assert.equal(formatTimestamp(2147483647n, 0), '2038-01-19 03:14:07');
    assert.equal(formatTimestamp(32536771199n, 999999), '3001-01-18 23:59:59.999999');
    assert.equal(formatTimestamp(-1n, 0), '1969-12-31 23:59:59');
  });
});
