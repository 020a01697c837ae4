/**
 * How `npm run consume` prints a record: readable text for a person, or one JSON object per
 * line for pipes. Values are as MySQL prints them (the decoder's rendering), except that
 * text is decoded here by the charset the record names, with MySQL's own tables; pure.
 */
import iconv from 'iconv-lite';
import { type DecodedColumn, formatTimestamp } from '../dts/record-render.ts';
import type { DtsImageValue } from '../dts/dts-record.ts';
import type { ConsumedRecord } from './consumer.ts';
import { SINGLE_BYTE_CHARSETS } from './mysql-charsets.ts';

export interface TextFormatOptions {
  /** longer values are cut to this many characters; 0 never cuts */
  readonly maxValueChars: number;
}

/**
 * ```
 * UPDATE demo.orders  dts_demo[0]@17  key ["4"]
 *   id 1000042  position 2117523@2  safe 2117000@2  source 2024-05-01 10:00:00 UTC (1714557600)  born 1714557600
 *   id        MYSQL_TYPE_LONG        4
 *   amount    MYSQL_TYPE_NEWDECIMAL  12.50 → 13.50
 * ```
 * UPDATE shows `before → after` where a value changed; DELETE shows the before image; DDL
 * its SQL. Control characters in values are escaped as the mysql client's batch mode does
 * (\n, \t, \r, \0, \\); NULL is NULL.
 */
export function formatText(r: ConsumedRecord, o: TextFormatOptions): string {
  const d = withCharsetText(r);
  const key = r.key === null ? '' : `  key ${r.key.toString('utf8')}`;
  const lines = [
    `${d.operation} ${d.objectName ?? '-'}  ${r.topic}[${r.partition}]@${r.offset}${key}`,
    `  id ${d.id}  position ${d.sourcePosition}  safe ${d.safeSourcePosition}  source ${formatTimestamp(d.sourceTimestamp, 0)} UTC (${d.sourceTimestamp})  born ${d.bornTimestamp}`,
  ];
  if (d.ddl !== null) lines.push(`  ${escapeText(d.ddl)}`);
  const nameWidth = Math.max(0, ...d.columns.map((c) => c.name.length));
  const typeWidth = Math.max(0, ...d.columns.map((c) => c.mysqlType.length));
  for (const c of d.columns) {
    lines.push(`  ${c.name.padEnd(nameWidth)}  ${c.mysqlType.padEnd(typeWidth)}  ${columnText(d.operation, c, o.maxValueChars)}`);
  }
  return `${lines.join('\n')}\n`;
}

function columnText(operation: string, c: DecodedColumn, max: number): string {
  const before = shown(c.before, max);
  const after = shown(c.after, max);
  if (operation === 'DELETE') return before;
  if (operation === 'UPDATE' && (c.before !== c.after || !sameBytes(c.beforeBytes, c.afterBytes))) return `${before} → ${after}`;
  return after;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function shown(value: string | null, max: number): string {
  if (value === null) return 'NULL';
  const chars = [...value];
  const text = max > 0 && chars.length > max ? `${chars.slice(0, max).join('')}… (${chars.length} characters)` : value;
  return escapeText(text);
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\0': '\\0', '\\': '\\\\' };

function escapeText(s: string): string {
  return s.replace(/[\n\t\r\0\\]/g, (ch) => ESCAPES[ch]!);
}

/** One column in the JSON output. */
export interface JsonColumn {
  readonly name: string;
  /** `MYSQL_TYPE_*` */
  readonly type: string;
  readonly dataTypeNumber: number;
  /** as MySQL prints it; null for SQL NULL or no image */
  readonly before: string | null;
  readonly after: string | null;
  /** the stored bytes in hex, for character values (their text depends on the charset; a TEXT value names none) */
  readonly beforeHex?: string;
  readonly afterHex?: string;
}

/** The JSON output's object: Avro longs that can exceed 2^53 (id, offset) are strings. */
export interface JsonRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /** message timestamp, ms */
  readonly timestamp: number;
  readonly operation: string;
  readonly objectName: string | null;
  readonly database: string | null;
  readonly table: string | null;
  readonly id: string;
  readonly sourceTimestamp: number;
  readonly bornTimestamp: number;
  readonly sourcePosition: string;
  readonly safeSourcePosition: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly ddl: string | null;
  readonly columns: readonly JsonColumn[];
}

export function toJsonRecord(r: ConsumedRecord): JsonRecord {
  const d = withCharsetText(r);
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key === null ? null : r.key.toString('utf8'),
    timestamp: Number(r.timestamp),
    operation: d.operation,
    objectName: d.objectName,
    database: d.database,
    table: d.table,
    id: d.id.toString(),
    sourceTimestamp: Number(d.sourceTimestamp),
    bornTimestamp: Number(d.bornTimestamp),
    sourcePosition: d.sourcePosition,
    safeSourcePosition: d.safeSourcePosition,
    tags: d.tags,
    ddl: d.ddl,
    columns: d.columns.map((c) => {
      const beforeHex = hexOfText(c.before, c.beforeBytes);
      const afterHex = hexOfText(c.after, c.afterBytes);
      return {
        name: c.name,
        type: c.mysqlType,
        dataTypeNumber: c.dataTypeNumber,
        before: c.before,
        after: c.after,
        ...(beforeHex === undefined ? {} : { beforeHex }),
        ...(afterHex === undefined ? {} : { afterHex }),
      };
    }),
  };
}

/** The hex of bytes rendered as text; undefined where the text already is that hex (binary values). */
function hexOfText(text: string | null, bytes: Buffer | null): string | undefined {
  if (bytes === null || text === null) return undefined;
  const hex = bytes.toString('hex').toUpperCase();
  return hex === text ? undefined : hex;
}

export function formatJson(r: ConsumedRecord): string {
  return `${JSON.stringify(toJsonRecord(r))}\n`;
}

const CHARACTER = 'com.alibaba.dts.formats.avro.Character';
const BINARY_OBJECT = 'com.alibaba.dts.formats.avro.BinaryObject';

/**
 * The decoded record with every text value decoded by its charset. A Character value
 * names its charset; a TEXT value (BinaryObject) names none in the DTS schema, so our
 * records name the charsets of TEXT columns that are not UTF-8 in the tag `text_charsets`
 * (docs/format.md). A TEXT value without one (records of other producers) is shown as
 * UTF-8 when its bytes are UTF-8, and otherwise as the hex of its bytes (the exact value)
 * rather than as UTF-8 replacement characters.
 */
export function withCharsetText(r: ConsumedRecord): ConsumedRecord['record'] {
  const before = Array.isArray(r.raw.beforeImages) ? (r.raw.beforeImages as readonly DtsImageValue[]) : null;
  const after = Array.isArray(r.raw.afterImages) ? (r.raw.afterImages as readonly DtsImageValue[]) : null;
  if (before === null && after === null) return r.record;
  const textCharsets = parseTextCharsets(r.raw.tags?.text_charsets);
  const columns = r.record.columns.map((c, i) => {
    const charset = textCharsets?.[c.name];
    const b = before === null ? c.before : textOf(before[i], c.before, charset);
    const a = after === null ? c.after : textOf(after[i], c.after, charset);
    return b === c.before && a === c.after ? c : { ...c, before: b, after: a };
  });
  return { ...r.record, columns };
}

function parseTextCharsets(tag: string | undefined): { readonly [column: string]: string } | null {
  if (tag === undefined) return null;
  try {
    const v = JSON.parse(tag) as unknown;
    return v !== null && typeof v === 'object' ? (v as { [column: string]: string }) : null;
  } catch {
    return null;
  }
}

function textOf(item: DtsImageValue | undefined, rendered: string | null, textCharset?: string): string | null {
  if (item === null || item === undefined) return rendered;
  const character = (item as { [CHARACTER]?: { charset: string; value: Buffer } })[CHARACTER];
  if (character !== undefined) return decodeMysqlText(character.charset, character.value);
  const object = (item as { [BINARY_OBJECT]?: { type: string; value: Buffer } })[BINARY_OBJECT];
  if (object !== undefined && object.type === 'TEXT') {
    if (textCharset !== undefined) return decodeMysqlText(textCharset, object.value);
    return isUtf8(object.value) ? object.value.toString('utf8') : object.value.toString('hex').toUpperCase();
  }
  return rendered;
}

/** Multi-byte charsets by the name iconv-lite knows them under (MySQL's ucs2/utf16/utf32 are big-endian). */
const MULTI_BYTE: { readonly [charset: string]: string } = {
  ucs2: 'utf16be', utf16: 'utf16be', utf16le: 'utf16le', utf32: 'utf32be',
  sjis: 'shiftjis', cp932: 'cp932', ujis: 'eucjp', eucjpms: 'eucjp',
  big5: 'big5', euckr: 'euckr', gb2312: 'gb2312', gbk: 'gbk', gb18030: 'gb18030',
};

/**
 * Bytes in a MySQL charset as text: UTF-8 for utf8/utf8mb3/utf8mb4, MySQL's own table for
 * every single-byte charset, iconv-lite for the multi-byte ones; `binary` and a charset
 * MySQL does not have are shown as the uppercase hex of the bytes, as HEX() prints them.
 */
export function decodeMysqlText(charset: string, bytes: Buffer): string {
  if (charset === 'utf8mb4' || charset === 'utf8mb3' || charset === 'utf8') return bytes.toString('utf8');
  const table = SINGLE_BYTE_CHARSETS[charset];
  if (table !== undefined) {
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += table[bytes[i]!]!;
    return out;
  }
  const name = MULTI_BYTE[charset];
  if (name !== undefined) return iconv.decode(bytes, name);
  return bytes.toString('hex').toUpperCase();
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    textDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
