import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import type { ColumnValue, TemporalValue, TimestampValue } from '../../../src/model/column-value.ts';
import type { ColumnSchema, ColumnType } from '../../../src/model/table-schema.ts';
import { DATA_TYPE_NUMBER, MYSQL_TYPE_NAMES, mysqlTypeName } from '../../../src/dts/type-codes.ts';
import { mapColumnValue } from '../../../src/dts/value-mapper.ts';
import { column } from '../../fixtures/column.ts';

const col = (type: ColumnType, extra: Partial<ColumnSchema> = {}): ColumnSchema => column(`c_${type}`, type, extra);

function temporal(parts: Partial<TemporalValue>): TemporalValue {
  return {
    kind: 'temporal', negative: false, year: null, month: null, day: null,
    hour: null, minute: null, second: null, micros: null, ...parts,
  };
}

function dateTime(year: number, month: number, day: number, hour: number, minute: number, second: number, micros: number): TemporalValue {
  return temporal({ year, month, day, hour, minute, second, micros });
}

const timestamp = (epochSeconds: number, micros: number): TimestampValue => ({ kind: 'timestamp', epochSeconds, micros });

const N = 'com.alibaba.dts.formats.avro.';

function assertEncodeFailed(column: ColumnSchema, value: unknown, pattern?: RegExp): void {
  assert.throws(
    () => mapColumnValue(column, value as ColumnValue),
    (e: unknown) => {
      assert.ok(e instanceof SyncError, `expected a SyncError, got ${String(e)}`);
      assert.equal(e.code, 'ENCODE_FAILED');
      assert.match(e.message, new RegExp(`column ${column.name} \\(${column.type}\\)`));
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
  );
}

const ALL_TYPES: ColumnType[] = [
  'tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'bit', 'decimal', 'float', 'double',
  'date', 'time', 'datetime', 'timestamp', 'year', 'char', 'varchar', 'binary', 'varbinary',
  'tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob',
  'json', 'enum', 'set', 'geometry', 'point', 'linestring', 'polygon', 'multipoint',
  'multilinestring', 'multipolygon', 'geometrycollection', 'uuid', 'inet4', 'inet6',
];

describe('type codes', () => {
  it('has the 31 codes with their MYSQL_TYPE names', () => {
    assert.equal(MYSQL_TYPE_NAMES.size, 31);
    assert.deepEqual(
      [...MYSQL_TYPE_NAMES.keys()],
      [...Array.from({ length: 20 }, (_, i) => i), 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255],
    );
    assert.equal(mysqlTypeName(9), 'MYSQL_TYPE_INT24');
    assert.equal(mysqlTypeName(246), 'MYSQL_TYPE_NEWDECIMAL');
    assert.equal(mysqlTypeName(19), 'MYSQL_TYPE_TIME2');
    assert.equal(mysqlTypeName(100), 'UNKNOWN(100)');
  });

  it('maps every column type to the code docs/format.md says', () => {
    const expected: Record<ColumnType, number> = {
      tinyint: 1, smallint: 2, mediumint: 9, int: 3, bigint: 8, bit: 16, decimal: 246, float: 4, double: 5,
      timestamp: 7, datetime: 12, date: 10, time: 11, year: 13, char: 254, binary: 254, varchar: 253,
      varbinary: 253, tinytext: 249, tinyblob: 249, text: 252, blob: 252, mediumtext: 250, mediumblob: 250,
      longtext: 251, longblob: 251, json: 245, enum: 247, set: 248, geometry: 255, point: 255, linestring: 255,
      polygon: 255, multipoint: 255, multilinestring: 255, multipolygon: 255, geometrycollection: 255,
      uuid: 254, inet4: 254, inet6: 254,
    };
    assert.deepEqual({ ...DATA_TYPE_NUMBER }, expected);
    assert.deepEqual(Object.keys(DATA_TYPE_NUMBER).sort(), [...ALL_TYPES].sort());
  });
});

describe('mapColumnValue', () => {
  it('writes SQL NULL as the null branch for every column type', () => {
    for (const type of ALL_TYPES) {
      assert.equal(mapColumnValue(col(type, { charset: 'utf8mb4', length: 4 }), null), null, type);
    }
  });

  it('rejects an unknown column type', () => {
    assert.throws(
      () => mapColumnValue(col('money' as ColumnType), 1n),
      (e: unknown) => e instanceof SyncError && e.code === 'UNSUPPORTED_COLUMN_TYPE' && /money/.test(e.message),
    );
  });

  describe('integers', () => {
    const cases: [ColumnType, number, boolean, bigint, string][] = [
      ['tinyint', 1, false, -128n, '-128'],
      ['tinyint', 1, false, 127n, '127'],
      ['tinyint', 1, true, 255n, '255'],
      ['smallint', 2, false, -32768n, '-32768'],
      ['smallint', 2, true, 65535n, '65535'],
      ['mediumint', 3, false, -8388608n, '-8388608'],
      ['mediumint', 3, true, 16777215n, '16777215'],
      ['int', 4, false, -2147483648n, '-2147483648'],
      ['int', 4, false, 2147483647n, '2147483647'],
      ['int', 4, true, 4294967295n, '4294967295'],
      ['bigint', 8, false, -9223372036854775808n, '-9223372036854775808'],
      ['bigint', 8, false, 9223372036854775807n, '9223372036854775807'],
      ['bigint', 8, true, 18446744073709551615n, '18446744073709551615'],
      ['bigint', 8, true, 9007199254740993n, '9007199254740993'],
      ['bigint', 8, false, -9007199254740993n, '-9007199254740993'],
      ['int', 4, true, 0n, '0'],
    ];
    for (const [type, precision, unsigned, value, text] of cases) {
      it(`${type}${unsigned ? ' unsigned' : ''} ${text}`, () => {
        assert.deepEqual(mapColumnValue(col(type, { unsigned }), value), { [`${N}Integer`]: { precision, value: text } });
      });
    }

    it('rejects values outside the type and values that are not bigints', () => {
      assertEncodeFailed(col('tinyint'), 128n, /-128\.\.127/);
      assertEncodeFailed(col('tinyint'), -129n);
      assertEncodeFailed(col('tinyint', { unsigned: true }), 256n);
      assertEncodeFailed(col('tinyint', { unsigned: true }), -1n);
      assertEncodeFailed(col('int'), 2147483648n);
      assertEncodeFailed(col('bigint'), 9223372036854775808n);
      assertEncodeFailed(col('bigint', { unsigned: true }), 18446744073709551616n);
      assertEncodeFailed(col('bigint', { unsigned: true }), -1n);
      assertEncodeFailed(col('int'), 5, /got number 5/);
      assertEncodeFailed(col('bigint'), '5');
    });
  });

  describe('BIT', () => {
    it('writes the width as precision and the bits as an unsigned decimal', () => {
      assert.deepEqual(mapColumnValue(col('bit', { length: 1 }), 1n), { [`${N}Integer`]: { precision: 1, value: '1' } });
      assert.deepEqual(mapColumnValue(col('bit', { length: 64 }), 0xffff_ffff_ffff_ffffn), {
        [`${N}Integer`]: { precision: 64, value: '18446744073709551615' },
      });
      assert.deepEqual(mapColumnValue(col('bit', { length: 10 }), 0b1010000001n), {
        [`${N}Integer`]: { precision: 10, value: '641' },
      });
      assert.deepEqual(mapColumnValue(col('bit'), 0n), { [`${N}Integer`]: { precision: 1, value: '0' } });
    });

    it('rejects bits beyond the width', () => {
      assertEncodeFailed(col('bit', { length: 8 }), 256n);
      assertEncodeFailed(col('bit', { length: 8 }), -1n);
    });
  });

  describe('DECIMAL', () => {
    const max65 = `${'9'.repeat(35)}.${'9'.repeat(30)}`;
    const cases: [string, number, number][] = [
      ['348.00', 5, 2],
      ['-348.00', 5, 2],
      [max65, 65, 30],
      [`-${max65}`, 65, 30],
      ['0.05', 2, 2],
      ['-0.05', 2, 2],
      ['-0.00', 2, 2],
      ['0.000000000000000000000000000001', 30, 30],
      ['0', 1, 0],
      ['-12345678901234567890123456789012345678901234567890123456789012345', 65, 0],
      ['10.5', 3, 1],
    ];
    for (const [text, precision, scale] of cases) {
      it(`${text} → ${precision},${scale}`, () => {
        assert.deepEqual(mapColumnValue(col('decimal', { precision: 65, scale: 30 }), text), {
          [`${N}Decimal`]: { value: text, precision, scale },
        });
      });
    }

    it('rejects what is not MySQL decimal text', () => {
      for (const bad of ['1e5', '.5', '5.', '', '-', '--1', '1.2.3', ' 1', '+1', 'NaN']) assertEncodeFailed(col('decimal'), bad);
      assertEncodeFailed(col('decimal'), 1.5);
      assertEncodeFailed(col('decimal'), 15n);
    });
  });

  describe('FLOAT and DOUBLE', () => {
    it('writes a FLOAT as the shortest decimal that reads back as the same float32', () => {
      const f = (v: number, extra: Partial<ColumnSchema> = {}) => mapColumnValue(col('float', extra), v);
      assert.deepEqual(f(Math.fround(1.1)), { [`${N}Float`]: { value: 1.1, precision: 0, scale: 0 } });
      assert.deepEqual(f(Math.fround(1.1), { precision: 7, scale: 3 }), { [`${N}Float`]: { value: 1.1, precision: 7, scale: 3 } });
      assert.equal(Math.fround(1.1), 1.100000023841858);
      const max = f(Math.fround(3.4028235e38)) as { [k: string]: { value: number } };
      assert.equal(max[`${N}Float`].value, 3.4028235e38);
      const negativeZero = f(-0) as { [k: string]: { value: number } };
      assert.ok(Object.is(negativeZero[`${N}Float`].value, -0));
      const tiny = f(Math.fround(1.4e-45)) as { [k: string]: { value: number } };
      assert.equal(tiny[`${N}Float`].value, 1e-45);
      const third = f(Math.fround(1 / 3)) as { [k: string]: { value: number } };
      assert.equal(third[`${N}Float`].value, 0.33333334);
      assert.equal(Math.fround(0.33333334), Math.fround(1 / 3));
    });

    it('writes a DOUBLE unchanged', () => {
      for (const v of [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, 0.1, -0, 1e300]) {
        const out = mapColumnValue(col('double', { precision: 22, scale: 5 }), v) as { [k: string]: { value: number; precision: number } };
        assert.ok(Object.is(out[`${N}Float`].value, v), String(v));
        assert.equal(out[`${N}Float`].precision, 22);
      }
    });

    it('rejects what MySQL cannot store', () => {
      for (const type of ['float', 'double'] as const) {
        assertEncodeFailed(col(type), Number.NaN);
        assertEncodeFailed(col(type), Number.POSITIVE_INFINITY);
        assertEncodeFailed(col(type), 1n);
      }
      assertEncodeFailed(col('float'), 1e39);
    });
  });

  describe('temporal types', () => {
    const dt = (v: unknown) => ({ [`${N}DateTime`]: v });
    const none = { year: null, month: null, day: null, hour: null, minute: null, second: null, millis: null };

    it('DATE: year, month and day', () => {
      assert.deepEqual(mapColumnValue(col('date'), temporal({ year: 2024, month: 2, day: 29 })), dt({ ...none, year: 2024, month: 2, day: 29 }));
      assert.deepEqual(mapColumnValue(col('date'), temporal({ year: 9999, month: 12, day: 31 })), dt({ ...none, year: 9999, month: 12, day: 31 }));
      assert.deepEqual(mapColumnValue(col('date'), temporal({ year: 0, month: 0, day: 0 })), dt({ ...none, year: 0, month: 0, day: 0 }));
    });

    it('DATETIME(0..6): all seven fields, micros in millis, zero dates as zeros', () => {
      for (let fsp = 0; fsp <= 6; fsp++) {
        const micros = fsp === 0 ? 0 : Number('9'.repeat(fsp).padEnd(6, '0'));
        assert.deepEqual(
          mapColumnValue(col('datetime', { fsp }), dateTime(9999, 12, 31, 23, 59, 59, micros)),
          dt({ year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, millis: micros }),
        );
      }
      assert.deepEqual(
        mapColumnValue(col('datetime'), dateTime(0, 0, 0, 0, 0, 0, 0)),
        dt({ year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millis: 0 }),
      );
      assert.deepEqual(
        mapColumnValue(col('datetime'), temporal({ year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5 })),
        dt({ year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, millis: 0 }),
      );
    });

    it('TIMESTAMP(0..6): UNIX seconds and microseconds', () => {
      for (let fsp = 0; fsp <= 6; fsp++) {
        const micros = fsp === 0 ? 0 : Number('9'.repeat(fsp).padEnd(6, '0'));
        assert.deepEqual(mapColumnValue(col('timestamp', { fsp }), timestamp(2147483647, micros)), {
          [`${N}Timestamp`]: { timestamp: 2147483647n, millis: micros },
        });
      }
      assert.deepEqual(mapColumnValue(col('timestamp'), timestamp(0, 0)), { [`${N}Timestamp`]: { timestamp: 0n, millis: 0 } });
      assert.deepEqual(mapColumnValue(col('timestamp'), timestamp(4294967295, 999999)), {
        [`${N}Timestamp`]: { timestamp: 4294967295n, millis: 999999 },
      });
    });

    it('TIME: hours up to 838, a negative time with every non-zero component negative', () => {
      const time = (negative: boolean, hour: number, minute: number, second: number, micros: number) =>
        mapColumnValue(col('time', { fsp: 6 }), temporal({ negative, hour, minute, second, micros }));
      assert.deepEqual(time(true, 838, 59, 59, 0), dt({ ...none, hour: -838, minute: -59, second: -59, millis: 0 }));
      assert.deepEqual(time(false, 838, 59, 59, 0), dt({ ...none, hour: 838, minute: 59, second: 59, millis: 0 }));
      assert.deepEqual(time(false, 0, 0, 0, 0), dt({ ...none, hour: 0, minute: 0, second: 0, millis: 0 }));
      // -00:00:01.5: a zero hour and minute have no sign; only the second and the fraction carry it.
      const small = time(true, 0, 0, 1, 500000) as { [k: string]: { hour: number; minute: number } };
      const { hour, minute } = small[`${N}DateTime`];
      assert.ok(Object.is(hour, 0) && Object.is(minute, 0));
      assert.deepEqual(small, dt({ ...none, hour: 0, minute: 0, second: -1, millis: -500000 }));
      assert.deepEqual(time(true, 0, 0, 0, 1), dt({ ...none, hour: 0, minute: 0, second: 0, millis: -1 }));
    });

    it('YEAR: the year alone, 0 for YEAR 0000', () => {
      assert.deepEqual(mapColumnValue(col('year'), temporal({ year: 0 })), dt({ ...none, year: 0 }));
      assert.deepEqual(mapColumnValue(col('year'), temporal({ year: 2155 })), dt({ ...none, year: 2155 }));
      assert.deepEqual(mapColumnValue(col('year'), temporal({ year: 1901 })), dt({ ...none, year: 1901 }));
    });

    it('rejects a wrong or incomplete temporal value', () => {
      assertEncodeFailed(col('datetime'), timestamp(0, 0));
      assertEncodeFailed(col('datetime'), temporal({ year: 2024, month: 1, day: 1 }));
      assertEncodeFailed(col('datetime'), { ...dateTime(2024, 1, 1, 0, 0, 0, 0), negative: true });
      assertEncodeFailed(col('datetime'), dateTime(2024, 1, 1, 0, 0, 0, 1_000_000));
      assertEncodeFailed(col('date'), '2024-01-01');
      assertEncodeFailed(col('timestamp'), dateTime(2024, 1, 1, 0, 0, 0, 0));
      assertEncodeFailed(col('timestamp'), timestamp(-1, 0));
      assertEncodeFailed(col('timestamp'), timestamp(1.5, 0));
      assertEncodeFailed(col('time'), temporal({ hour: 839, minute: 0, second: 0 }));
      assertEncodeFailed(col('time'), temporal({ hour: 1, minute: -1, second: 0 }));
      assertEncodeFailed(col('year'), temporal({}));
      assertEncodeFailed(col('year'), 2024n);
    });
  });

  describe('strings', () => {
    const character = (charset: string, value: Buffer) => ({ [`${N}Character`]: { charset, value } });

    it('CHAR and VARCHAR: the stored bytes and the charset name', () => {
      const emoji = Buffer.from('a😀', 'utf8');
      assert.deepEqual(mapColumnValue(col('char', { charset: 'utf8mb4', length: 2 }), emoji), character('utf8mb4', emoji));
      assert.deepEqual(mapColumnValue(col('varchar', { charset: 'utf8mb4', length: 10 }), emoji), character('utf8mb4', emoji));
      const latin1 = Buffer.from([0xe9]);
      assert.deepEqual(mapColumnValue(col('varchar', { charset: 'latin1', length: 10 }), latin1), character('latin1', latin1));
      const gbk = Buffer.from([0xd6, 0xd0]);
      assert.deepEqual(mapColumnValue(col('char', { charset: 'gbk', length: 1 }), gbk), character('gbk', gbk));
      assert.deepEqual(mapColumnValue(col('varchar', { charset: 'utf8mb4' }), Buffer.alloc(0)), character('utf8mb4', Buffer.alloc(0)));
    });

    it('writes utf8 where the server says utf8mb3', () => {
      const v = Buffer.from('é', 'utf8');
      assert.deepEqual(mapColumnValue(col('varchar', { charset: 'utf8mb3' }), v), character('utf8', v));
    });

    it('BINARY(n) is padded with 0x00 to n bytes; VARBINARY is not', () => {
      assert.deepEqual(mapColumnValue(col('binary', { length: 4, charset: 'binary' }), Buffer.from([1])), character('binary', Buffer.from([1, 0, 0, 0])));
      assert.deepEqual(mapColumnValue(col('binary', { length: 4 }), Buffer.from([1, 2, 3, 4])), character('binary', Buffer.from([1, 2, 3, 4])));
      assert.deepEqual(mapColumnValue(col('binary', { length: 4 }), Buffer.alloc(0)), character('binary', Buffer.alloc(4)));
      assert.deepEqual(mapColumnValue(col('varbinary', { length: 4, charset: 'binary' }), Buffer.from([1])), character('binary', Buffer.from([1])));
    });

    it('rejects a character column without a charset and values that are not Buffers', () => {
      assertEncodeFailed(col('varchar'), Buffer.from('a'), /charset/);
      assertEncodeFailed(col('varchar', { charset: 'utf8mb4' }), 'a', /expected a Buffer/);
    });

    it('TEXT and BLOB types: BinaryObject TEXT or BLOB with the bytes', () => {
      const bytes = Buffer.from([0x00, 0xff, 0x41]);
      for (const type of ['tinytext', 'text', 'mediumtext', 'longtext'] as const) {
        assert.deepEqual(mapColumnValue(col(type, { charset: 'utf8mb4' }), bytes), { [`${N}BinaryObject`]: { type: 'TEXT', value: bytes } });
      }
      for (const type of ['tinyblob', 'blob', 'mediumblob', 'longblob'] as const) {
        assert.deepEqual(mapColumnValue(col(type, { charset: 'binary' }), bytes), { [`${N}BinaryObject`]: { type: 'BLOB', value: bytes } });
      }
      assertEncodeFailed(col('blob'), 'abc');
    });

    it('JSON, ENUM and SET: TextObject with the text', () => {
      assert.deepEqual(mapColumnValue(col('json'), '{"a":[1,2]}'), { [`${N}TextObject`]: { type: 'JSON', value: '{"a":[1,2]}' } });
      assert.deepEqual(mapColumnValue(col('enum', { values: ['x', 'y'] }), 'y'), { [`${N}TextObject`]: { type: 'ENUM', value: 'y' } });
      assert.deepEqual(mapColumnValue(col('enum', { values: ['x', 'y'] }), ''), { [`${N}TextObject`]: { type: 'ENUM', value: '' } });
      assert.deepEqual(mapColumnValue(col('set', { values: ['a', 'b', 'c'] }), 'a,c'), { [`${N}TextObject`]: { type: 'SET', value: 'a,c' } });
      assert.deepEqual(mapColumnValue(col('set', { values: ['a'] }), ''), { [`${N}TextObject`]: { type: 'SET', value: '' } });
      assertEncodeFailed(col('json'), Buffer.from('{}'));
    });

    it('geometry: BinaryGeometry with the declared type in upper case and the WKB', () => {
      const point = Buffer.from('0101000000000000000000f03f0000000000000040', 'hex');
      assert.deepEqual(mapColumnValue(col('point'), point), { [`${N}BinaryGeometry`]: { type: 'POINT', value: point } });
      assert.deepEqual(mapColumnValue(col('geometry'), point), { [`${N}BinaryGeometry`]: { type: 'GEOMETRY', value: point } });
      assert.deepEqual(mapColumnValue(col('geometrycollection'), point), { [`${N}BinaryGeometry`]: { type: 'GEOMETRYCOLLECTION', value: point } });
      assertEncodeFailed(col('point'), 'POINT(1 2)');
    });

    it('UUID, INET6, INET4: Character ascii with the canonical text', () => {
      for (const [type, text] of [
        ['uuid', '123e4567-e89b-12d3-a456-426614174000'], ['inet6', '2001:db8::ff00:42:8329'], ['inet6', '::1'], ['inet4', '192.0.2.1'],
      ] as const) {
        assert.deepEqual(mapColumnValue(col(type), text), character('ascii', Buffer.from(text, 'ascii')));
      }
      assertEncodeFailed(col('uuid'), 'é');
      assertEncodeFailed(col('inet4'), Buffer.from('1.2.3.4'));
    });
  });

  it('never writes EmptyObject', () => {
    const samples: [ColumnSchema, ColumnValue][] = [
      [col('int'), 0n], [col('decimal'), '0'], [col('float'), 0], [col('date'), temporal({ year: 0, month: 0, day: 0 })],
      [col('varchar', { charset: 'utf8mb4' }), Buffer.alloc(0)], [col('text'), Buffer.alloc(0)], [col('enum'), ''],
      [col('json'), ''], [col('point'), Buffer.alloc(0)], [col('uuid'), ''],
    ];
    for (const [column, value] of samples) {
      const item = mapColumnValue(column, value);
      assert.ok(item !== null && !(`${N}EmptyObject` in item), column.type);
    }
  });
});
