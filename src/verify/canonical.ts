/**
 * One canonical form per column value, reached from both sides exactly:
 *
 * - the source: each column is SELECTed with an expression whose text (or bytes) pins the
 *   stored value (`sourceExpression`), over the text protocol, in UTC;
 * - the topic: the decoded DTS value (renderRecord's text, or the bytes it carries).
 *
 * | column types                        | source expression                    | canonical            |
 * |-------------------------------------|--------------------------------------|----------------------|
 * | integers, DECIMAL, YEAR, DATE, ENUM, SET, JSON, UUID, INET4/6 | CAST(c AS CHAR) (utf8mb4) | the text as printed |
 * | BIT                                 | CAST(c + 0 AS CHAR)                  | the unsigned decimal |
 * | TIME, DATETIME, TIMESTAMP (UTC)     | CAST(c AS CHAR)                      | fraction: none when zero, else 6 digits |
 * | FLOAT                               | CAST(c + 0e0 AS CHAR)                | the float32's 4 bytes |
 * | DOUBLE                              | CAST(c AS CHAR)                      | the double's 8 bytes |
 * | CHAR..LONGTEXT, BINARY..LONGBLOB    | CAST(c AS BINARY)                    | the stored bytes     |
 * | GEOMETRY and subtypes               | SUBSTRING(CAST(c AS BINARY), 5)      | WKB (no SRID prefix) |
 *
 * FLOAT and DOUBLE compare as their binary values: the server prints a FLOAT widened to
 * double (1.100000023841858) while the record carries the shortest float32 text (1.1), and
 * both read back to the same float32. Strings compare as bytes, so a charset (latin1, gbk,
 * a TEXT whose DTS value carries no charset) never matters.
 *
 * A row's digest is an MD5 over its canonical values in the source's column order; each
 * column also gets a 4-byte digest (FNV-1a, MD5 for long values), so that a differing row
 * can name its differing columns.
 */
import { createHash } from 'node:crypto';
import type { DecodedColumn } from '../dts/record-render.ts';
import type { ColumnSchema, ColumnType } from '../model/table-schema.ts';
import { parseTemporalText } from '../model/temporal-text.ts';

/** A canonical value: text, bytes, or SQL NULL. */
export type Canonical = string | Buffer | null;

/** The record lacks the column (it was written before an ALTER TABLE added it). */
export const ABSENT = Symbol('absent');

const BYTE_TYPES: ReadonlySet<ColumnType> = new Set<ColumnType>([
  'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext',
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob',
]);
const GEOMETRY_TYPES: ReadonlySet<ColumnType> = new Set<ColumnType>([
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection',
]);
const FRACTION_TYPES: ReadonlySet<ColumnType> = new Set<ColumnType>(['time', 'datetime', 'timestamp']);

export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** The SELECT expression for a column (the session runs with time_zone '+00:00'). */
export function sourceExpression(col: ColumnSchema): string {
  const c = quoteIdentifier(col.name);
  if (BYTE_TYPES.has(col.type)) return `CAST(${c} AS BINARY)`;
  if (GEOMETRY_TYPES.has(col.type)) return `SUBSTRING(CAST(${c} AS BINARY), 5)`;
  if (col.type === 'bit') return `CAST(${c} + 0 AS CHAR)`;
  if (col.type === 'float') return `CAST(${c} + 0e0 AS CHAR)`;
  return `CAST(${c} AS CHAR CHARACTER SET utf8mb4)`;
}

/** The canonical form of what the source returned for `sourceExpression(col)`. */
export function canonicalFromSource(col: ColumnSchema, value: unknown): Canonical {
  if (value === null || value === undefined) return null;
  if (BYTE_TYPES.has(col.type) || GEOMETRY_TYPES.has(col.type)) {
    return Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  }
  return canonicalText(col.type, Buffer.isBuffer(value) ? value.toString('utf8') : String(value));
}

/** The canonical form of one image of a decoded record's column. */
export function canonicalFromRecord(col: ColumnSchema, d: DecodedColumn | undefined, side: 'before' | 'after'): Canonical | typeof ABSENT {
  if (d === undefined) return ABSENT;
  const text = side === 'before' ? d.before : d.after;
  if (text === null) return null;
  if (BYTE_TYPES.has(col.type) || GEOMETRY_TYPES.has(col.type)) {
    const bytes = side === 'before' ? d.beforeBytes : d.afterBytes;
    return bytes ?? Buffer.from(text, 'utf8');
  }
  return canonicalText(col.type, text);
}

function canonicalText(type: ColumnType, text: string): Canonical {
  if (type === 'float') return floatBytes(text, 4);
  if (type === 'double') return floatBytes(text, 8);
  if (FRACTION_TYPES.has(type)) return normalizeFraction(text);
  return text;
}

/**
 * The binary value of a FLOAT (float32) or DOUBLE printed as text. Text that is not a
 * number stays text, so that it compares unequal rather than failing.
 */
function floatBytes(text: string, width: 4 | 8): Canonical {
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) return `not a number: ${text}`;
  const out = Buffer.alloc(width);
  if (width === 4) out.writeFloatBE(Math.fround(n));
  else out.writeDoubleBE(n);
  return out;
}

/**
 * `12:00:00.500` → `12:00:00.500000`; `12:00:00.000` → `12:00:00` (the decoder's convention),
 * for TIME and DATETIME/TIMESTAMP text (src/model/temporal-text.ts); other text is left as it is.
 */
export function normalizeFraction(text: string): string {
  const v = parseTemporalText(text.includes(' ') ? 'datetime' : 'time', text);
  if (v === null || v.kind !== 'temporal') return text;
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  return v.micros ? `${whole}.${String(v.micros).padStart(6, '0')}` : whole;
}

/** The key of a row: a JSON array of its key columns' canonical values (bytes as 0x hex). */
export function keyText(values: readonly Canonical[]): string {
  return JSON.stringify(values.map((v) => (v === null ? null : Buffer.isBuffer(v) ? `0x${v.toString('hex').toUpperCase()}` : v)));
}

export interface RowDigest {
  /** MD5 of the row, base64 */
  readonly row: string;
  /** 4 bytes per column, base64 */
  readonly columns: string;
}

const TAG_NULL = 0;
const TAG_TEXT = 1;
const TAG_BYTES = 2;
const TAG_ABSENT = 3;

/** Values up to this many bytes (or characters) get FNV-1a as their column digest; longer ones MD5. */
const SHORT = 256;

/**
 * The digests of a row's canonical values (in the source's column order): one MD5 over
 * every value (each as tag, length, content, so that no two rows run together), and per
 * column 4 bytes only used to name the columns that differ.
 */
export function rowDigest(values: readonly (Canonical | typeof ABSENT)[]): RowDigest {
  const row = createHash('md5');
  const columns = Buffer.alloc(values.length * 4);
  const header = Buffer.alloc(5);
  values.forEach((v, i) => {
    let tag: number;
    let bytes: Buffer | null = null;
    if (v === ABSENT) tag = TAG_ABSENT;
    else if (v === null) tag = TAG_NULL;
    else if (Buffer.isBuffer(v)) {
      tag = TAG_BYTES;
      bytes = v;
    } else {
      tag = TAG_TEXT;
      bytes = Buffer.from(v, 'utf8');
    }
    header[0] = tag;
    header.writeUInt32BE(bytes?.length ?? 0, 1);
    row.update(header);
    if (bytes !== null) row.update(bytes);
    columns.writeUInt32BE(columnDigest(tag, bytes), i * 4);
  });
  return { row: row.digest('base64'), columns: columns.toString('base64') };
}

function columnDigest(tag: number, bytes: Buffer | null): number {
  if (bytes !== null && bytes.length > SHORT) return createHash('md5').update(bytes).digest().readUInt32BE(0);
  // FNV-1a, 32 bits, over the tag and the bytes.
  let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193) >>> 0;
  if (bytes !== null) for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/** The names of the columns whose 4-byte digests differ. */
export function differingColumns(names: readonly string[], a: string, b: string): string[] {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  return names.filter((_, i) => x.readUInt32BE(i * 4) !== (y.length >= i * 4 + 4 ? y.readUInt32BE(i * 4) : -1));
}
