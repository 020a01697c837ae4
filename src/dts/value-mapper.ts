import { SyncError } from '../errors.ts';
import { scanDecimal, scannedPrecision, scannedScale } from './ascii-number.ts';
import type { ColumnValue, TemporalValue, TimestampValue } from '../model/column-value.ts';
import type { ColumnSchema } from '../model/table-schema.ts';
import type { DtsDateTime, DtsImageValue } from './dts-record.ts';

/** Maps one column's values to image items; built once per column, called once per value. */
export type ValueMapper = (value: ColumnValue) => DtsImageValue;

/**
 * The image item for one column value (docs/format.md, "Column values"). SQL NULL is the
 * null branch; a value of the wrong JS form for its column is ENCODE_FAILED.
 */
export function mapColumnValue(column: ColumnSchema, value: ColumnValue): DtsImageValue {
  return columnMapper(column)(value);
}

/**
 * The mapper for one column: everything that depends only on the schema (branch,
 * charset, bounds) is settled here, so the per-value work is a check and one object.
 * The branch keys are written out as literals in the hot paths so that V8 gives every
 * item of a branch the same object shape.
 */
export function columnMapper(column: ColumnSchema): ValueMapper {
  switch (column.type) {
    case 'tinyint': return integerMapper(column, 1);
    case 'smallint': return integerMapper(column, 2);
    case 'mediumint': return integerMapper(column, 3);
    case 'int': return integerMapper(column, 4);
    case 'bigint': return integerMapper(column, 8);
    case 'bit': return bitMapper(column);
    case 'decimal': return decimalMapper(column);
    case 'float': return floatMapper(column, true);
    case 'double': return floatMapper(column, false);
    case 'timestamp': return timestampMapper(column);
    case 'datetime': return dateTimeMapper(column, true);
    case 'date': return dateTimeMapper(column, false);
    case 'time': return timeMapper(column);
    case 'year': return yearMapper(column);
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return characterMapper(column);
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return binaryObjectMapper(column, 'TEXT');
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return binaryObjectMapper(column, 'BLOB');
    case 'json': return textObjectMapper(column, 'JSON');
    case 'enum': return textObjectMapper(column, 'ENUM');
    case 'set': return textObjectMapper(column, 'SET');
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      return geometryMapper(column);
    case 'uuid':
    case 'inet4':
    case 'inet6':
      return asciiTextMapper(column);
    default:
      throw new SyncError(
        'UNSUPPORTED_COLUMN_TYPE',
        `column ${column.name}: type ${String((column as { type: unknown }).type)} has no DTS mapping`,
      );
  }
}

function wrongValue(column: ColumnSchema, value: unknown, expected: string): SyncError {
  return new SyncError(
    'ENCODE_FAILED',
    `column ${column.name} (${column.type}): expected ${expected}, got ${describe(value)}`,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'bigint') return `bigint ${value}`;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') {
    const kind = (value as { kind?: unknown }).kind;
    return typeof kind === 'string' ? `a ${kind} value ${JSON.stringify(value)}` : 'an object';
  }
  return typeof value;
}

function integerMapper(column: ColumnSchema, width: 1 | 2 | 3 | 4 | 8): ValueMapper {
  const bits = BigInt(width * 8);
  const min = column.unsigned ? 0n : -(1n << (bits - 1n));
  const max = column.unsigned ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
  const expected = `a bigint in ${min}..${max}`;
  // Comparing numbers is far cheaper than comparing bigints; Number() of a bigint beyond
  // 2^53 rounds, so those are checked as bigints. V8 prints small integers (below 2^30)
  // faster as numbers and larger ones faster as bigints.
  const minNumber = Number(min);
  const maxNumber = Number(max);
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'bigint') throw wrongValue(column, v, expected);
    const n = Number(v);
    if (Number.isSafeInteger(n) ? n < minNumber || n > maxNumber : v < min || v > max) {
      throw wrongValue(column, v, expected);
    }
    const text = n > -0x40000000 && n < 0x40000000 ? String(n) : v.toString();
    return { 'com.alibaba.dts.formats.avro.Integer': { precision: width, value: text } };
  };
}

function bitMapper(column: ColumnSchema): ValueMapper {
  // BIT without a width is BIT(1) in MySQL.
  const width = column.length ?? 1;
  if (!Number.isInteger(width) || width < 1 || width > 64) {
    throw wrongValue(column, width, 'a BIT width of 1..64 in the schema');
  }
  const max = (1n << BigInt(width)) - 1n;
  const expected = `a bigint in 0..${max}`;
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'bigint' || v < 0n || v > max) throw wrongValue(column, v, expected);
    return { 'com.alibaba.dts.formats.avro.Integer': { precision: width, value: v.toString() } };
  };
}

/**
 * Precision and scale of a DECIMAL value as written: scale = digits after the point,
 * precision = digits of the value without the integer part's leading zeros, at least 1
 * and never below the scale. So `348.00` → 5,2; `0.05` → 2,2 (the smallest DECIMAL(p,s)
 * that prints it so; Java's BigDecimal would say 1,2, which is no valid column type);
 * `-0.00` → 2,2; `0` → 1,0. The sign is not a digit. Returns null when the text is not a
 * plain MySQL decimal (`-`? digits, optionally `.` and digits).
 */
function decimalPrecisionScale(text: string): { precision: number; scale: number } | null {
  return scanDecimal(text) ? { precision: scannedPrecision, scale: scannedScale } : null;
}

function decimalMapper(column: ColumnSchema): ValueMapper {
  return (v) => {
    if (v === null) return null;
    const shape = typeof v === 'string' ? decimalPrecisionScale(v) : null;
    if (shape === null) throw wrongValue(column, v, 'a decimal string such as -348.00');
    return {
      'com.alibaba.dts.formats.avro.Decimal': { value: v as string, precision: shape.precision, scale: shape.scale },
    };
  };
}

/**
 * The double nearest to the shortest decimal that reads back as the same float32: a
 * consumer that prints the double sees `1.1`, not the widened `1.100000023841858`, and
 * one that narrows it to a float gets the stored float back. Zero keeps its sign.
 */
export function shortestFloat32(value: number): number {
  const f = Math.fround(value);
  if (f === 0 || !Number.isFinite(f)) return f;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  // Nine significant digits always identify a float32.
  return Number(f.toPrecision(9));
}

function floatMapper(column: ColumnSchema, single: boolean): ValueMapper {
  const precision = column.precision ?? 0;
  const scale = column.scale ?? 0;
  const expected = single ? 'a finite number within float32 range' : 'a finite number';
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongValue(column, v, expected);
    // A FLOAT value that is not already a float32 is narrowed as the server would store it.
    const value = single ? shortestFloat32(v) : v;
    if (!Number.isFinite(value)) throw wrongValue(column, v, expected);
    return { 'com.alibaba.dts.formats.avro.Float': { value, precision, scale } };
  };
}

// The model's isTimestampValue/isTemporalValue also call Buffer.isBuffer; a Buffer has no
// `kind`, so on the hot path the property test alone suffices.
function isTimestampValue(v: ColumnValue): v is TimestampValue {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'timestamp';
}

function isTemporalValue(v: ColumnValue): v is TemporalValue {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'temporal';
}

function isMicros(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 999_999;
}

function isComponent(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

function timestampMapper(column: ColumnSchema): ValueMapper {
  const expected = 'a TimestampValue with integer epochSeconds >= 0 and micros 0..999999';
  return (v) => {
    if (v === null) return null;
    if (!isTimestampValue(v) || !Number.isSafeInteger(v.epochSeconds) || v.epochSeconds < 0 || !isMicros(v.micros)) {
      throw wrongValue(column, v, expected);
    }
    return { 'com.alibaba.dts.formats.avro.Timestamp': { timestamp: BigInt(v.epochSeconds), millis: v.micros } };
  };
}

/** DATETIME (all seven fields) and DATE (year, month, day). Zero dates pass as zeros. */
function dateTimeMapper(column: ColumnSchema, hasTime: boolean): ValueMapper {
  const expected = hasTime
    ? 'a non-negative TemporalValue with year..second set'
    : 'a non-negative TemporalValue with year, month, day set';
  return (v) => {
    if (v === null) return null;
    if (!isTemporalValue(v) || v.negative || !isComponent(v.year) || !isComponent(v.month) || !isComponent(v.day)) {
      throw wrongValue(column, v, expected);
    }
    if (!hasTime) {
      const date: DtsDateTime = {
        year: v.year, month: v.month, day: v.day, hour: null, minute: null, second: null, millis: null,
      };
      return { 'com.alibaba.dts.formats.avro.DateTime': date };
    }
    const micros = v.micros ?? 0;
    if (!isComponent(v.hour) || !isComponent(v.minute) || !isComponent(v.second) || !isMicros(micros)) {
      throw wrongValue(column, v, expected);
    }
    const dateTime: DtsDateTime = {
      year: v.year, month: v.month, day: v.day, hour: v.hour, minute: v.minute, second: v.second, millis: micros,
    };
    return { 'com.alibaba.dts.formats.avro.DateTime': dateTime };
  };
}

/**
 * TIME: a negative time has every component negated. A zero component has no sign, so
 * `-00:00:01.5` is written 0, 0, -1, -500000 and only the non-zero components carry the
 * sign, as DTS writes it; a time whose components are all zero cannot be negative
 * (MySQL never stores `-00:00:00`).
 */
function timeMapper(column: ColumnSchema): ValueMapper {
  const expected = 'a TemporalValue with hour (0..838), minute, second set';
  return (v) => {
    if (v === null) return null;
    const micros = isTemporalValue(v) ? v.micros ?? 0 : 0;
    if (
      !isTemporalValue(v) || !isComponent(v.hour) || v.hour > 838 || !isComponent(v.minute) ||
      !isComponent(v.second) || !isMicros(micros)
    ) {
      throw wrongValue(column, v, expected);
    }
    const time: DtsDateTime = v.negative
      ? { year: null, month: null, day: null, hour: negate(v.hour), minute: negate(v.minute), second: negate(v.second), millis: negate(micros) }
      : { year: null, month: null, day: null, hour: v.hour, minute: v.minute, second: v.second, millis: micros };
    return { 'com.alibaba.dts.formats.avro.DateTime': time };
  };
}

/** Without a -0: Avro has none, and tests compare components with ===. */
function negate(n: number): number {
  return n === 0 ? 0 : -n;
}

function yearMapper(column: ColumnSchema): ValueMapper {
  const expected = 'a TemporalValue with year set (0 or 1901..2155)';
  return (v) => {
    if (v === null) return null;
    if (!isTemporalValue(v) || v.negative || !isComponent(v.year)) throw wrongValue(column, v, expected);
    const year: DtsDateTime = { year: v.year, month: null, day: null, hour: null, minute: null, second: null, millis: null };
    return { 'com.alibaba.dts.formats.avro.DateTime': year };
  };
}

/** MySQL's charset name as the DTS consumers know it. */
export function dtsCharset(column: ColumnSchema): string {
  if (column.type === 'binary' || column.type === 'varbinary' || column.charset === 'binary') return 'binary';
  if (column.charset === null) throw wrongValue(column, null, 'a charset in the schema for a character column');
  // The public Java demo has no mapping for utf8mb3.
  return column.charset === 'utf8mb3' ? 'utf8' : column.charset;
}

function characterMapper(column: ColumnSchema): ValueMapper {
  const charset = dtsCharset(column);
  // The source may deliver BINARY(n) without its trailing 0x00 bytes; the stored value has them.
  const padTo = column.type === 'binary' ? column.length ?? 0 : 0;
  return (v) => {
    if (v === null) return null;
    if (!Buffer.isBuffer(v)) throw wrongValue(column, v, 'a Buffer');
    let bytes: Buffer = v;
    if (bytes.length < padTo) {
      bytes = Buffer.alloc(padTo);
      v.copy(bytes);
    }
    return { 'com.alibaba.dts.formats.avro.Character': { charset, value: bytes } };
  };
}

function binaryObjectMapper(column: ColumnSchema, type: 'TEXT' | 'BLOB'): ValueMapper {
  return (v) => {
    if (v === null) return null;
    if (!Buffer.isBuffer(v)) throw wrongValue(column, v, 'a Buffer');
    return { 'com.alibaba.dts.formats.avro.BinaryObject': { type, value: v } };
  };
}

function textObjectMapper(column: ColumnSchema, type: 'JSON' | 'ENUM' | 'SET'): ValueMapper {
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'string') throw wrongValue(column, v, 'a string');
    return { 'com.alibaba.dts.formats.avro.TextObject': { type, value: v } };
  };
}

/**
 * GEOMETRY: the stored WKB (docs/format.md: the stored value without the 4-byte SRID), the same
 * bytes from the binlog and from the full-data sync. For a geographic SRS such as 4326,
 * MySQL stores x = longitude, y = latitude, while ST_AsWKB/ST_AsBinary print the SRS's
 * axis order (lat-long for 4326) unless given 'axis-order=long-lat'; the record keeps the
 * stored order, which is what SELECT gives and what GIS consumers of WKB expect.
 */
function geometryMapper(column: ColumnSchema): ValueMapper {
  const type = column.type.toUpperCase();
  return (v) => {
    if (v === null) return null;
    if (!Buffer.isBuffer(v)) throw wrongValue(column, v, 'a Buffer of WKB');
    return { 'com.alibaba.dts.formats.avro.BinaryGeometry': { type, value: v } };
  };
}

// Canonical UUID/INET text is printable ASCII; anything else is a bug upstream, not data.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function asciiTextMapper(column: ColumnSchema): ValueMapper {
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'string' || !PRINTABLE_ASCII.test(v)) throw wrongValue(column, v, 'an ASCII string');
    return { 'com.alibaba.dts.formats.avro.Character': { charset: 'ascii', value: Buffer.from(v, 'latin1') } };
  };
}
