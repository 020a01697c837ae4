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
  DATE: 10, YEAR: 13, BIT: 16, TIMESTAMP2: 17, DATETIME2: 18, TIME2: 19,
  ENUM: 247, TINY_BLOB: 249, MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252,
  VAR_STRING: 253, STRING: 254, GEOMETRY: 255, VARCHAR: 15,
  TINY: 1, SHORT: 2, LONG: 3, LONGLONG: 8, INT24: 9, TIMESTAMP: 7, DATETIME: 12, TIME: 11,
  VARCHAR_COMPRESSED: 140, BLOB_COMPRESSED: 141,
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

function bitCount(buf: Buffer): number {
  let n = 0;
  for (const byte of buf) {
    let b = byte;
    while (b) { n += b & 1; b >>= 1; }
  }
  return n;
}

function readRow(parser: ZongjiParser, tableMap: ZongjiTableMap, present: Buffer, zongji: unknown, readMysqlValue: ReadMysqlValue): RawValue[] {
  const nullBitmap = parser.parseBuffer((bitCount(present) + 7) >> 3);
  const columns = tableMap.columns;
  const row: RawValue[] = new Array(columns.length);
  for (let i = 0, nullIndex = 0; i < columns.length; i++) {
    if ((present[i >> 3]! & (1 << (i & 7))) === 0) {
      row[i] = null;
      continue;
    }
    const isNull = (nullBitmap[nullIndex >> 3]! & (1 << (nullIndex & 7))) !== 0;
    nullIndex++;
    row[i] = isNull ? null : readValue(parser, columns[i]!, i, tableMap, zongji, readMysqlValue);
  }
  return row;
}

function readValue(p: ZongjiParser, column: ZongjiColumn, index: number, tableMap: ZongjiTableMap, zongji: unknown, readMysqlValue: ReadMysqlValue): RawValue {
  const meta = column.metadata ?? {};
  switch (column.type) {
    case T.TINY: case T.SHORT: case T.INT24: case T.LONG: case T.LONGLONG: {
      const v = readMysqlValue(p, column, tableMap.columnSchemas[index], tableMap, zongji);
      return BigInt(v as number | string);
    }
    case T.BIT: {
      const bytes = p.parseBuffer(((meta.bits ?? 1) + 7) >> 3);
      let v = 0n;
      for (const b of bytes) v = (v << 8n) | BigInt(b);
      return v;
    }
    case T.YEAR: {
      const v = p.parseUnsignedNumber(1);
      return temporal(false, v === 0 ? 0 : 1900 + v, null, null, null, null, null, null);
    }
    case T.DATE: {
      const v = p.parseUnsignedNumber(3);
      return temporal(false, Math.floor(v / 512), (v >> 5) & 15, v & 31, null, null, null, null);
    }
    case T.DATETIME2: return readDatetime2(p, meta.decimals ?? 0);
    case T.TIME2: return readTime2(p, meta.decimals ?? 0);
    case T.TIMESTAMP2: {
      const seconds = p._buffer.readUInt32BE(p._offset);
      p._offset += 4;
      return { kind: 'timestamp', epochSeconds: seconds, micros: readFraction(p, meta.decimals ?? 0) };
    }
    case T.ENUM: {
      const n = p.parseUnsignedNumber(meta.size ?? 1);
      // 0 is the invalid value MySQL stores for a bad label in non-strict mode: it prints ''.
      return n === 0 ? '' : tableMap.columnSchemas[index]?.ENUM_VALUES?.[n - 1] ?? String(n);
    }
    case T.VARCHAR: case T.VAR_STRING: case T.STRING: {
      const size = p.parseUnsignedNumber((meta.max_length ?? 0) > 255 ? 2 : 1);
      return Buffer.from(p.parseBuffer(size));
    }
    case T.TINY_BLOB: case T.BLOB: case T.MEDIUM_BLOB: case T.LONG_BLOB: {
      const size = p.parseUnsignedNumber(meta.length_size ?? 2);
      return Buffer.from(p.parseBuffer(size));
    }
    case T.GEOMETRY: {
      const size = p.parseUnsignedNumber(meta.length_size ?? 4);
      // MySQL's internal geometry is a 4-byte SRID followed by WKB.
      return Buffer.from(p.parseBuffer(size).subarray(4));
    }
    case T.VARCHAR_COMPRESSED: case T.BLOB_COMPRESSED: {
      const v = readMysqlValue(p, column, tableMap.columnSchemas[index], tableMap, zongji);
      return typeof v === 'string' ? iconv.encode(v, iconvName(column.charset)) : (v as Buffer);
    }
    case T.TIMESTAMP: case T.DATETIME: case T.TIME: {
      // Classic (pre-5.6) temporal formats: zongji formats them as strings (dateStrings,
      // timezone Z); parse those back into components.
      const v = readMysqlValue(p, column, tableMap.columnSchemas[index], tableMap, zongji);
      return parseTemporalText(String(v), column.type);
    }
    default:
      // FLOAT, DOUBLE (numbers are exact here), NEWDECIMAL (exact string), SET (labels),
      // JSON (text with jsonStrings).
      return readMysqlValue(p, column, tableMap.columnSchemas[index], tableMap, zongji) as RawValue;
  }
}

function iconvName(charset: string | null): string {
  if (!charset || charset.startsWith('utf8')) return 'utf8';
  return charset === 'latin1' ? 'cp1252' : charset;
}

function temporal(negative: boolean, year: number | null, month: number | null, day: number | null,
  hour: number | null, minute: number | null, second: number | null, micros: number | null): TemporalValue {
  return { kind: 'temporal', negative, year, month, day, hour, minute, second, micros };
}

/** The fractional part of DATETIME2/TIME2/TIMESTAMP2, in microseconds (unsigned form). */
function readFraction(p: ZongjiParser, decimals: number): number {
  switch (decimals) {
    case 0: return 0;
    case 1: case 2: return p.parseUnsignedNumber(1) * 10000;
    case 3: case 4: { const v = p._buffer.readUInt16BE(p._offset); p._offset += 2; return v * 100; }
    default: { const v = p._buffer.readUIntBE(p._offset, 3); p._offset += 3; return v; }
  }
}

// DATETIME2: 5 bytes big-endian, offset by 0x8000000000, then the fraction (MySQL's
// my_datetime_packed_from_binary). Layout of the integer part: year*13+month (17 bits),
// day (5), hour (5), minute (6), second (6).
function readDatetime2(p: ZongjiParser, decimals: number): TemporalValue {
  const int = p._buffer.readUIntBE(p._offset, 5) - 0x8000000000;
  p._offset += 5;
  const micros = readFraction(p, decimals);
  const ymd = Math.floor(int / 2 ** 17);
  const hms = int % 2 ** 17;
  const ym = Math.floor(ymd / 32);
  return temporal(false, Math.floor(ym / 13), ym % 13, ymd % 32,
    Math.floor(hms / 4096), Math.floor(hms / 64) % 64, hms % 64, micros);
}

// TIME2: 3 bytes big-endian offset by 0x800000, then the fraction; a negative value
// stores its fraction in reverse order, so it borrows from the integer part (MySQL's
// my_time_packed_from_binary).
function readTime2(p: ZongjiParser, decimals: number): TemporalValue {
  let int = p._buffer.readUIntBE(p._offset, 3) - 0x800000;
  p._offset += 3;
  let frac = 0; // in microseconds, signed
  if (decimals === 1 || decimals === 2) {
    let f = p._buffer.readUInt8(p._offset); p._offset += 1;
    if (int < 0 && f !== 0) { int += 1; f -= 0x100; }
    frac = f * 10000;
  } else if (decimals === 3 || decimals === 4) {
    let f = p._buffer.readUInt16BE(p._offset); p._offset += 2;
    if (int < 0 && f !== 0) { int += 1; f -= 0x10000; }
    frac = f * 100;
  } else if (decimals >= 5) {
    // 6 bytes in all, offset by 0x800000000000: re-read as one integer
    p._offset -= 3;
    const packed = p._buffer.readUIntBE(p._offset, 6) - 0x800000000000;
    p._offset += 6;
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

/** Parses zongji's text for the classic temporal types ('YYYY-MM-DD HH:MM:SS[.f]', '[-]H:MM:SS[.f]'). */
export function parseTemporalText(text: string, type: number): TemporalValue | TimestampValue {
  if (type === T.TIME) {
    const m = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(text);
    if (!m) throw new Error(`unexpected TIME text from the binlog reader: ${text}`);
    return temporal(m[1] === '-', null, null, null, Number(m[2]), Number(m[3]), Number(m[4]), fractionMicros(m[5]));
  }
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new Error(`unexpected DATETIME/TIMESTAMP text from the binlog reader: ${text}`);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const micros = fractionMicros(m[7]);
  if (type === T.TIMESTAMP) {
    // zongji formats TIMESTAMP in UTC (timezone 'Z'); zero is the zero timestamp.
    const epochSeconds = y === 0 ? 0 : daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return { kind: 'timestamp', epochSeconds, micros };
  }
  return temporal(false, y, mo, d, h, mi, s, micros);
}

function fractionMicros(f: string | undefined): number {
  return f ? Number(f.padEnd(6, '0')) : 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
