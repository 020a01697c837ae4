/**
 * The shim that keeps binlog row values exact.
 *
 * zongji (pinned at 0.9.0) turns some values into lossy forms before we see them:
 * text decoded to JS strings (and cp1252 for latin1), GEOMETRY parsed into {x, y}
 * objects, TIMESTAMP through a JS Date, YEAR 0000 reported as 1900, an invalid ENUM as
 * undefined, DATETIME/TIME through formatted strings. This module replaces the row reader
 * of zongji's rows events (the `_fetchOneRow` methods on their prototypes, the only hook
 * zongji has) with one that reads those types from the binlog bytes itself and hands
 * every other type to zongji's own value reader. Rows then arrive as arrays of RawValue,
 * index-aligned with the table map's columns.
 *
 * It relies on zongji internals (lib/rows_event.js, lib/common.js, the parser's
 * `_buffer`/`_offset`), which is why the version is pinned exactly; the integration tests
 * (type zoo) fail if an upgrade changes them.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import iconv from 'iconv-lite';
import type { TemporalValue, TimestampValue } from '../model/column-value.ts';
import { parseTemporalText } from '../model/temporal-text.ts';
import { decimalLayout, readDecimal, type DecimalLayout } from './mysql-decimal.ts';
import { mysqlJsonText } from './mysql-json.ts';

/**
 * What the shim gives per column, before the table schema is applied (row-normalizer.ts):
 * integers and BIT as bigint; DECIMAL and SET as string; FLOAT/DOUBLE as number;
 * temporal types as TemporalValue/TimestampValue; every string, binary, text, blob and
 * geometry type as the stored bytes (GEOMETRY without its SRID prefix, BINARY unpadded);
 * ENUM as its label ('' for the invalid value); MySQL JSON as its text; null for NULL and
 * for columns absent from the row image.
 */
export type RawValue = null | bigint | string | number | Buffer | TemporalValue | TimestampValue;

/** Binlog column type codes (MYSQL_TYPE_*) the shim reads itself. */
const T = {
  FLOAT: 4, DOUBLE: 5, NEWDECIMAL: 246,
  DATE: 10, YEAR: 13, BIT: 16, TIMESTAMP2: 17, DATETIME2: 18, TIME2: 19,
  ENUM: 247, TINY_BLOB: 249, MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252,
  VAR_STRING: 253, STRING: 254, GEOMETRY: 255, VARCHAR: 15,
  TINY: 1, SHORT: 2, LONG: 3, LONGLONG: 8, INT24: 9, TIMESTAMP: 7, DATETIME: 12, TIME: 11,
  VARCHAR_COMPRESSED: 140, BLOB_COMPRESSED: 141, JSON: 245,
} as const;

interface ZongjiParser {
  _buffer: Buffer;
  _offset: number;
  parseBuffer(n: number): Buffer;
  parseUnsignedNumber(n: number): number;
}
interface ZongjiColumn {
  name: string;
  type: number;
  charset: string | null;
  metadata: Record<string, number> | null;
}
interface ZongjiTableMap {
  columns: ZongjiColumn[];
  columnSchemas: { ENUM_VALUES?: string[] }[];
  parentSchema: string;
  tableName: string;
}
type ReadMysqlValue = (parser: ZongjiParser, column: ZongjiColumn, schema: unknown, tableMap: ZongjiTableMap, zongji: unknown) => unknown;

let installed = false;

/** Patches zongji's rows events once per process. Idempotent. */
export async function installExactRowReader(): Promise<void> {
  if (installed) return;
  // The package exports only its index; the internals are reached by file URL, which
  // resolves to the very module instances index.js itself imported.
  const index = createRequire(import.meta.url).resolve('@vlasky/zongji');
  const lib = (name: string) => pathToFileURL(path.join(path.dirname(index), 'lib', name)).href;
  const rows = await import(lib('rows_event.js'));
  const common = await import(lib('common.js'));
  const readMysqlValue = common.readMysqlValue as ReadMysqlValue;
  if (typeof readMysqlValue !== 'function' || typeof rows.UpdateRows?.prototype?._fetchOneRow !== 'function') {
    throw new Error('@vlasky/zongji internals changed: the exact row reader cannot be installed (check the pinned version)');
  }
  const rowsEventProto = Object.getPrototypeOf(rows.WriteRows.prototype);
  rowsEventProto._fetchOneRow = function (this: RowsEventThis, parser: ZongjiParser) {
    return readRow(parser, this.tableMap[this.tableId]!, this.columns_present_bitmap, this._zongji, readMysqlValue);
  };
  rows.UpdateRows.prototype._fetchOneRow = function (this: RowsEventThis, parser: ZongjiParser) {
    const tableMap = this.tableMap[this.tableId]!;
    return {
      before: readRow(parser, tableMap, this.columns_present_bitmap, this._zongji, readMysqlValue),
      after: readRow(parser, tableMap, this.columns_present_bitmap2!, this._zongji, readMysqlValue),
    };
  };
  installed = true;
}

interface RowsEventThis {
  tableMap: Record<number, ZongjiTableMap>;
  tableId: number;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
  _zongji: unknown;
}

/*
 * Speed: every row of the binlog passes here, so the row reader is built for it. What
 * depends on the table map only (each column's reader, its signedness, sizes) is settled
 * once per table map (compileColumns) instead of per value; the row is read from the
 * packet buffer with a local offset (the parser's `_offset` is an accessor onto the
 * packet), written back once per row or before a value zongji reads itself; integers,
 * FLOAT, DOUBLE and DECIMAL are read here instead of by zongji's readMysqlValue (which
 * goes through `arguments`, a DataView per float, a copy and string padding per decimal,
 * and a string for every BIGINT beyond 2^53), giving the same values; and string bytes
 * are copied without an intermediate view. Values are the same as zongji would give (and
 * the type zoo integration test checks them all against the server's own text).
 */

/** How a column's value is read; settled per table map. */
const enum Kind {
  Int8, UInt8, Int16, UInt16, Int24, UInt24, Int32, UInt32, Int64, UInt64,
  Float, Double, Decimal, Bit, Year, Date, Datetime2, Time2, Timestamp2, Enum,
  /** VARCHAR, VAR_STRING, STRING: a 1- or 2-byte length (`size`), the bytes */
  String,
  /** BLOB and TEXT types: a `size`-byte length, the bytes */
  Blob,
  Geometry,
  /** MySQL's binary JSON: a `size`-byte length, the document, printed by mysql-json.ts */
  Json,
  Compressed,
  /** classic (pre-5.6) TIMESTAMP, DATETIME, TIME: zongji's text, parsed back */
  ClassicTemporal,
  /** SET and anything else: zongji's value as it is */
  Zongji,
}

interface ColumnReader {
  readonly kind: Kind;
  /** a size in bytes (length prefix, ENUM size, BIT bytes) or the fractional digits of a temporal type */
  readonly size: number;
  readonly decimal: DecimalLayout | null;
  readonly enumValues: readonly string[] | undefined;
  readonly column: ZongjiColumn;
}

/** Readers of a table map's columns, by its columns array (zongji makes a new one per TableMap event). */
const compiled = new WeakMap<readonly ZongjiColumn[], ColumnReader[]>();

let lastColumns: readonly ZongjiColumn[] | null = null;
let lastReaders: ColumnReader[] = [];

function readersFor(tableMap: ZongjiTableMap): ColumnReader[] {
  if (tableMap.columns === lastColumns) return lastReaders;
  let readers = compiled.get(tableMap.columns);
  if (readers === undefined) {
    readers = tableMap.columns.map((c, i) => compileColumn(c, tableMap.columnSchemas[i] as ZongjiColumnSchema | undefined));
    compiled.set(tableMap.columns, readers);
  }
  lastColumns = tableMap.columns;
  lastReaders = readers;
  return readers;
}

interface ZongjiColumnSchema { UNSIGNED?: boolean; COLUMN_TYPE?: string; ENUM_VALUES?: string[] }

function compileColumn(column: ZongjiColumn, schema: ZongjiColumnSchema | undefined): ColumnReader {
  const meta = column.metadata ?? {};
  const r = (kind: Kind, size = 0, decimal: DecimalLayout | null = null): ColumnReader =>
    ({ kind, size, decimal, enumValues: schema?.ENUM_VALUES, column });
  switch (column.type) {
    case T.TINY: case T.SHORT: case T.INT24: case T.LONG: case T.LONGLONG: {
      // As zongji decides it (common.js parseAnyInt): the binlog's signedness, else the column type.
      const unsigned = schema?.UNSIGNED !== undefined ? schema.UNSIGNED : (schema?.COLUMN_TYPE ?? '').indexOf('unsigned') !== -1;
      switch (column.type) {
        case T.TINY: return r(unsigned ? Kind.UInt8 : Kind.Int8);
        case T.SHORT: return r(unsigned ? Kind.UInt16 : Kind.Int16);
        case T.INT24: return r(unsigned ? Kind.UInt24 : Kind.Int24);
        case T.LONG: return r(unsigned ? Kind.UInt32 : Kind.Int32);
        default: return r(unsigned ? Kind.UInt64 : Kind.Int64);
      }
    }
    case T.FLOAT: return r(Kind.Float);
    case T.DOUBLE: return r(Kind.Double);
    case T.NEWDECIMAL: {
      const layout = decimalLayout(meta.precision ?? 0, meta.decimals ?? 0);
      return r(Kind.Decimal, layout.size, layout);
    }
    case T.BIT: return r(Kind.Bit, ((meta.bits ?? 1) + 7) >> 3);
    case T.YEAR: return r(Kind.Year);
    case T.DATE: return r(Kind.Date);
    case T.DATETIME2: return r(Kind.Datetime2, meta.decimals ?? 0);
    case T.TIME2: return r(Kind.Time2, meta.decimals ?? 0);
    case T.TIMESTAMP2: return r(Kind.Timestamp2, meta.decimals ?? 0);
    case T.ENUM: return r(Kind.Enum, meta.size ?? 1);
    case T.VARCHAR: case T.VAR_STRING: case T.STRING: return r(Kind.String, (meta.max_length ?? 0) > 255 ? 2 : 1);
    case T.TINY_BLOB: case T.BLOB: case T.MEDIUM_BLOB: case T.LONG_BLOB: return r(Kind.Blob, meta.length_size ?? 2);
    case T.GEOMETRY: return r(Kind.Geometry, meta.length_size ?? 4);
    case T.JSON: return r(Kind.Json, meta.length_size ?? 4);
    case T.VARCHAR_COMPRESSED: case T.BLOB_COMPRESSED: return r(Kind.Compressed);
    case T.TIMESTAMP: case T.DATETIME: case T.TIME: return r(Kind.ClassicTemporal);
    default:
      // SET (labels) and anything unforeseen.
      return r(Kind.Zongji);
  }
}

// Population counts of a byte, for the columns-present bitmap.
const BITS_SET = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

function bitCount(buf: Buffer): number {
  let n = 0;
  for (let i = 0; i < buf.length; i++) n += BITS_SET[buf[i]!]!;
  return n;
}

/** The parser's position while a row is read: a local copy of its `_offset` accessor. */
let at = 0;

function readRow(parser: ZongjiParser, tableMap: ZongjiTableMap, present: Buffer, zongji: unknown, readMysqlValue: ReadMysqlValue): RawValue[] {
  const readers = readersFor(tableMap);
  const buf = parser._buffer;
  at = parser._offset;
  const nullBitmap = at;
  at += (bitCount(present) + 7) >> 3;
  const n = readers.length;
  const row: RawValue[] = new Array(n);
  for (let i = 0, nullIndex = 0; i < n; i++) {
    if ((present[i >> 3]! & (1 << (i & 7))) === 0) {
      row[i] = null;
      continue;
    }
    const isNull = (buf[nullBitmap + (nullIndex >> 3)]! & (1 << (nullIndex & 7))) !== 0;
    nullIndex++;
    row[i] = isNull ? null : readValue(parser, buf, readers[i]!, i, tableMap, zongji, readMysqlValue);
  }
  parser._offset = at;
  return row;
}

function readValue(p: ZongjiParser, buf: Buffer, r: ColumnReader, index: number, tableMap: ZongjiTableMap, zongji: unknown, readMysqlValue: ReadMysqlValue): RawValue {
  const o = at;
  switch (r.kind) {
    case Kind.Int8: at = o + 1; return BigInt(buf.readInt8(o));
    case Kind.UInt8: at = o + 1; return BigInt(buf[o]!);
    case Kind.Int16: at = o + 2; return BigInt(buf.readInt16LE(o));
    case Kind.UInt16: at = o + 2; return BigInt(buf.readUInt16LE(o));
    case Kind.Int24: at = o + 3; return BigInt(buf.readIntLE(o, 3));
    case Kind.UInt24: at = o + 3; return BigInt(buf.readUIntLE(o, 3));
    case Kind.Int32: at = o + 4; return BigInt(buf.readInt32LE(o));
    case Kind.UInt32: at = o + 4; return BigInt(buf.readUInt32LE(o));
    case Kind.Int64: {
      at = o + 8;
      // Below 2^53 in magnitude the two halves make an exact double: one BigInt instead of four bigint steps.
      const high = buf.readInt32LE(o + 4);
      if (high >= -0x200000 && high < 0x200000) return BigInt(high * 0x100000000 + buf.readUInt32LE(o));
      return buf.readBigInt64LE(o);
    }
    case Kind.UInt64: {
      at = o + 8;
      const high = buf.readUInt32LE(o + 4);
      if (high < 0x200000) return BigInt(high * 0x100000000 + buf.readUInt32LE(o));
      return buf.readBigUInt64LE(o);
    }
    case Kind.Float: at = o + 4; return buf.readFloatLE(o);
    case Kind.Double: at = o + 8; return buf.readDoubleLE(o);
    case Kind.Decimal: at = o + r.size; return readDecimal(buf, o, r.decimal!);
    case Kind.Bit: {
      at = o + r.size;
      let v = 0n;
      for (let i = o; i < at; i++) v = (v << 8n) | BigInt(buf[i]!);
      return v;
    }
    case Kind.Year: {
      at = o + 1;
      const v = buf[o]!;
      return temporal(false, v === 0 ? 0 : 1900 + v, null, null, null, null, null, null);
    }
    case Kind.Date: {
      at = o + 3;
      const v = buf.readUIntLE(o, 3);
      return temporal(false, Math.floor(v / 512), (v >> 5) & 15, v & 31, null, null, null, null);
    }
    case Kind.Datetime2: return readDatetime2(buf, r.size);
    case Kind.Time2: return readTime2(buf, r.size);
    case Kind.Timestamp2: {
      const seconds = buf.readUInt32BE(o);
      at = o + 4;
      return { kind: 'timestamp', epochSeconds: seconds, micros: readFraction(buf, r.size) };
    }
    case Kind.Enum: {
      const n = r.size === 1 ? buf[o]! : buf.readUIntLE(o, r.size);
      at = o + r.size;
      // 0 is the invalid value MySQL stores for a bad label in non-strict mode: it prints ''.
      return n === 0 ? '' : r.enumValues?.[n - 1] ?? String(n);
    }
    case Kind.String: {
      const size = r.size === 1 ? buf[o]! : buf.readUInt16LE(o);
      return copyBytes(buf, o + r.size, size);
    }
    case Kind.Blob: {
      const size = r.size === 1 ? buf[o]! : r.size === 2 ? buf.readUInt16LE(o) : buf.readUIntLE(o, r.size);
      return copyBytes(buf, o + r.size, size);
    }
    case Kind.Geometry: {
      const size = buf.readUIntLE(o, r.size);
      // MySQL's internal geometry is a 4-byte SRID followed by WKB.
      if (size < 4) {
        at = o + r.size + size;
        return Buffer.alloc(0);
      }
      return copyBytes(buf, o + r.size + 4, size - 4);
    }
    case Kind.Json: {
      // zongji's decoder turns opaque values, DECIMALs and doubles into other texts than
      // the server's; mysql-json.ts prints the server's text (and reads within the packet).
      const size = buf.readUIntLE(o, r.size);
      at = o + r.size + size;
      return mysqlJsonText(buf.subarray(o + r.size, at));
    }
    default: {
      // Values zongji reads: hand it the parser at this value, take its position back.
      p._offset = o;
      const v = zongjiValue(p, r, index, tableMap, zongji, readMysqlValue);
      at = p._offset;
      return v;
    }
  }
}

function zongjiValue(p: ZongjiParser, r: ColumnReader, index: number, tableMap: ZongjiTableMap, zongji: unknown, readMysqlValue: ReadMysqlValue): RawValue {
  const column = r.column;
  const v = readMysqlValue(p, column, tableMap.columnSchemas[index], tableMap, zongji);
  switch (r.kind) {
    case Kind.Compressed:
      return typeof v === 'string' ? iconv.encode(v, iconvName(column.charset)) : (v as Buffer);
    case Kind.ClassicTemporal:
      // Classic (pre-5.6) temporal formats: zongji formats them as strings (dateStrings,
      // timezone Z); parse those back into components.
      return classicTemporal(String(v), column.type);
    default:
      // SET (labels).
      return v as RawValue;
  }
}

/** `size` bytes at `from`, copied (the packet buffer is not ours to keep); moves `at` past them. */
function copyBytes(buf: Buffer, from: number, size: number): Buffer {
  at = from + size;
  const out = Buffer.allocUnsafe(size);
  if (size <= 64) {
    for (let i = 0; i < size; i++) out[i] = buf[from + i]!;
  } else {
    buf.copy(out, 0, from, at);
  }
  return out;
}

function iconvName(charset: string | null): string {
  if (!charset || charset.startsWith('utf8')) return 'utf8';
  return charset === 'latin1' ? 'cp1252' : charset;
}

function temporal(negative: boolean, year: number | null, month: number | null, day: number | null,
  hour: number | null, minute: number | null, second: number | null, micros: number | null): TemporalValue {
  return { kind: 'temporal', negative, year, month, day, hour, minute, second, micros };
}

/** The fractional part of DATETIME2/TIME2/TIMESTAMP2 at `at`, in microseconds (unsigned form). */
function readFraction(buf: Buffer, decimals: number): number {
  const o = at;
  switch (decimals) {
    case 0: return 0;
    case 1: case 2: at = o + 1; return buf[o]! * 10000;
    case 3: case 4: at = o + 2; return buf.readUInt16BE(o) * 100;
    default: at = o + 3; return buf.readUIntBE(o, 3);
  }
}

// DATETIME2: 5 bytes big-endian, offset by 0x8000000000, then the fraction (MySQL's
// my_datetime_packed_from_binary). Layout of the integer part: year*13+month (17 bits),
// day (5), hour (5), minute (6), second (6).
function readDatetime2(buf: Buffer, decimals: number): TemporalValue {
  const o = at;
  // High byte and low 32 bits: buf.readUIntBE(o, 5) without its generic path.
  const int = (buf[o]! * 0x100000000 + buf.readUInt32BE(o + 1)) - 0x8000000000;
  at = o + 5;
  const micros = readFraction(buf, decimals);
  const ymd = Math.floor(int / 2 ** 17);
  const hms = int % 2 ** 17;
  const ym = Math.floor(ymd / 32);
  return temporal(false, Math.floor(ym / 13), ym % 13, ymd % 32,
    Math.floor(hms / 4096), Math.floor(hms / 64) % 64, hms % 64, micros);
}

// TIME2: 3 bytes big-endian offset by 0x800000, then the fraction; a negative value
// stores its fraction in reverse order, so it borrows from the integer part (MySQL's
// my_time_packed_from_binary).
function readTime2(buf: Buffer, decimals: number): TemporalValue {
  const o = at;
  let int = buf.readUIntBE(o, 3) - 0x800000;
  at = o + 3;
  let frac = 0; // in microseconds, signed
  if (decimals === 1 || decimals === 2) {
    let f = buf.readUInt8(at); at += 1;
    if (int < 0 && f !== 0) { int += 1; f -= 0x100; }
    frac = f * 10000;
  } else if (decimals === 3 || decimals === 4) {
    let f = buf.readUInt16BE(at); at += 2;
    if (int < 0 && f !== 0) { int += 1; f -= 0x10000; }
    frac = f * 100;
  } else if (decimals >= 5) {
    // 6 bytes in all, offset by 0x800000000000: re-read as one integer
    const packed = buf.readUIntBE(o, 6) - 0x800000000000;
    at = o + 6;
    const neg = packed < 0;
    const abs = Math.abs(packed);
    return hmsFromPacked(neg, Math.floor(abs / 2 ** 24), abs % 2 ** 24);
  }
  const packed = int * 2 ** 24 + frac;
  const neg = packed < 0;
  const abs = Math.abs(packed);
  return hmsFromPacked(neg, Math.floor(abs / 2 ** 24), abs % 2 ** 24);
}

function hmsFromPacked(negative: boolean, hms: number, micros: number): TemporalValue {
  return temporal(negative, null, null, null, Math.floor(hms / 4096) % 1024, Math.floor(hms / 64) % 64, hms % 64, micros);
}

/**
 * zongji's text for the classic temporal types ('YYYY-MM-DD HH:MM:SS[.f]', '[-]H:MM:SS[.f]',
 * TIMESTAMP in UTC), read by the model's one temporal parser.
 */
export function classicTemporal(text: string, type: number): TemporalValue | TimestampValue {
  const kind = type === T.TIME ? 'time' : type === T.TIMESTAMP ? 'timestamp' : 'datetime';
  const v = parseTemporalText(kind, text);
  if (v === null) throw new Error(`unexpected ${kind.toUpperCase()} text from the binlog reader: ${text}`);
  return v;
}

