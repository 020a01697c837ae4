/**
 * A decoded DTS record in the terms a person compares with MySQL: every value as MySQL
 * prints it (the consumer's output, verify's comparison, the tests' expectations).
 */
import iconv from 'iconv-lite';
import { SyncError } from '../errors.ts';
import { civilFromDays } from '../model/temporal-text.ts';
import { formatMysqlDouble } from '../model/mysql-double.ts';
import type { DtsDateTime, DtsField, DtsImageValue, DtsOperation, DtsRecord } from './dts-record.ts';
import { mysqlTypeName } from './type-codes.ts';

export interface DecodedColumn {
  readonly name: string;
  readonly dataTypeNumber: number;
  /** `MYSQL_TYPE_LONG`, or `UNKNOWN(n)` for a code outside the 31 */
  readonly mysqlType: string;
  /** the value as MySQL prints it; null for SQL NULL or no image */
  readonly before: string | null;
  readonly after: string | null;
  /** the raw bytes of Character, BinaryObject and BinaryGeometry values, else null */
  readonly beforeBytes: Buffer | null;
  readonly afterBytes: Buffer | null;
}

export interface DecodedRecord {
  readonly operation: DtsOperation;
  /** as written, with `\u002E` escapes */
  readonly objectName: string | null;
  /** unescaped */
  readonly database: string | null;
  /** unescaped; null for DDL */
  readonly table: string | null;
  readonly sourcePosition: string;
  readonly safeSourcePosition: string;
  readonly sourceTimestamp: bigint;
  readonly bornTimestamp: bigint;
  readonly id: bigint;
  readonly tags: { readonly [key: string]: string };
  /** the SQL text of a DDL record, else null */
  readonly ddl: string | null;
  readonly columns: readonly DecodedColumn[];
}

/**
 * A record in the terms a person compares with MySQL: every value as MySQL prints it.
 * DATETIME and TIME get six fraction digits when the microseconds are not zero and none
 * otherwise: the record carries no fsp. TIMESTAMP is printed in UTC.
 */
export function renderRecord(record: DtsRecord): DecodedRecord {
  const names = splitObjectName(record.objectName);
  const fields = Array.isArray(record.fields) ? (record.fields as readonly DtsField[]) : [];
  const before = Array.isArray(record.beforeImages) ? (record.beforeImages as readonly DtsImageValue[]) : null;
  const after = Array.isArray(record.afterImages) ? (record.afterImages as readonly DtsImageValue[]) : null;
  for (const [which, image] of [['beforeImages', before], ['afterImages', after]] as const) {
    if (image !== null && image.length !== fields.length) {
      throw new SyncError(
        'DECODE_FAILED',
        `record id ${record.id}: ${which} has ${image.length} values for ${fields.length} fields`,
      );
    }
  }
  const columns = fields.map((field, i): DecodedColumn => {
    const b = before === null ? NO_VALUE : renderValue(field.dataTypeNumber, before[i]);
    const a = after === null ? NO_VALUE : renderValue(field.dataTypeNumber, after[i]);
    return {
      name: field.name,
      dataTypeNumber: field.dataTypeNumber,
      mysqlType: mysqlTypeName(field.dataTypeNumber),
      before: b.text,
      after: a.text,
      beforeBytes: b.bytes,
      afterBytes: a.bytes,
    };
  });
  return {
    operation: record.operation,
    objectName: record.objectName,
    database: names.database,
    table: names.table,
    sourcePosition: record.sourcePosition,
    safeSourcePosition: record.safeSourcePosition,
    sourceTimestamp: record.sourceTimestamp,
    bornTimestamp: record.bornTimestamp,
    id: record.id,
    tags: { ...record.tags },
    ddl: typeof record.afterImages === 'string' ? record.afterImages : null,
    columns,
  };
}

/**
 * Only separator dots are bare; dots inside names were written as `\u002E`. A name that
 * itself contains the six characters `\u002E` cannot be told apart (none in practice).
 */
function splitObjectName(objectName: string | null): { database: string | null; table: string | null } {
  if (objectName === null) return { database: null, table: null };
  const dot = objectName.indexOf('.');
  if (dot < 0) return { database: unescapeName(objectName), table: null };
  return { database: unescapeName(objectName.slice(0, dot)), table: unescapeName(objectName.slice(dot + 1)) };
}

function unescapeName(name: string): string {
  return name.replaceAll('\\u002E', '.');
}

interface Rendered {
  readonly text: string | null;
  readonly bytes: Buffer | null;
}

const NO_VALUE: Rendered = { text: null, bytes: null };

function text(value: string): Rendered {
  return { text: value, bytes: null };
}

/** One image value, by its branch; the dataTypeNumber picks the layout of a DateTime. */
function renderValue(dataTypeNumber: number, item: DtsImageValue): Rendered {
  if (item === null || dataTypeNumber === 6) return NO_VALUE;
  const [branch, v] = Object.entries(item)[0] as [string, unknown];
  switch (branch) {
    case 'com.alibaba.dts.formats.avro.Integer':
    case 'com.alibaba.dts.formats.avro.Decimal':
      return text((v as { value: string }).value);
    case 'com.alibaba.dts.formats.avro.Float':
      return text(formatMysqlDouble((v as { value: number }).value));
    case 'com.alibaba.dts.formats.avro.Timestamp': {
      const t = v as { timestamp: bigint; millis: number };
      return text(formatTimestamp(t.timestamp, t.millis));
    }
    case 'com.alibaba.dts.formats.avro.DateTime':
      return text(formatDateTime(dataTypeNumber, v as DtsDateTime));
    case 'com.alibaba.dts.formats.avro.TimestampWithTimeZone': {
      const t = v as { value: DtsDateTime; timezone: string };
      return text(`${formatDateTime(12, t.value)} ${t.timezone}`);
    }
    case 'com.alibaba.dts.formats.avro.Character': {
      const c = v as { charset: string; value: Buffer };
      return { text: decodeCharset(c.charset, c.value), bytes: c.value };
    }
    case 'com.alibaba.dts.formats.avro.BinaryObject': {
      const o = v as { type: string; value: Buffer };
      return { text: o.type === 'TEXT' ? o.value.toString('utf8') : hex(o.value), bytes: o.value };
    }
    case 'com.alibaba.dts.formats.avro.BinaryGeometry': {
      const g = v as { type: string; value: Buffer };
      return { text: hex(g.value), bytes: g.value };
    }
    case 'com.alibaba.dts.formats.avro.TextGeometry':
    case 'com.alibaba.dts.formats.avro.TextObject':
      return text((v as { value: string }).value);
    case 'com.alibaba.dts.formats.avro.EmptyObject':
      return text(v as string);
    default:
      throw new SyncError('DECODE_FAILED', `unknown image value branch ${branch}`);
  }
}

function hex(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase();
}

/** MySQL charset names whose iconv-lite name differs or means something else there. */
const ICONV_NAMES: { readonly [mysql: string]: string } = {
  // iconv-lite's ucs2/utf16/utf32 are little-endian; MySQL's are big-endian.
  ucs2: 'utf16be',
  utf16: 'utf16be',
  utf32: 'utf32be',
  sjis: 'shiftjis',
  ujis: 'eucjp',
  eucjpms: 'eucjp',
  latin2: 'iso88592',
  latin5: 'iso88599',
  latin7: 'iso885913',
  greek: 'iso88597',
  hebrew: 'iso88598',
  macroman: 'macintosh',
  macce: 'maccenteuro',
  geostd8: 'georgianps',
};

/** Text in the given MySQL charset; uppercase hex (as HEX() prints) for binary and unknown charsets. */
function decodeCharset(charset: string, bytes: Buffer): string {
  switch (charset) {
    case 'utf8mb4':
    case 'utf8mb3':
    case 'utf8':
    case 'ascii':
      return bytes.toString('utf8');
    case 'binary':
      return hex(bytes);
    case 'latin1':
      return decodeMysqlLatin1(bytes);
  }
  const name = ICONV_NAMES[charset] ?? charset;
  return iconv.encodingExists(name) ? iconv.decode(bytes, name) : hex(bytes);
}

/**
 * MySQL's latin1 is Windows-1252 (0x80 is €), except that the five bytes cp1252 leaves
 * undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 controls of the same number,
 * as the server converts them.
 */
function decodeMysqlLatin1(bytes: Buffer): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x81 || b === 0x8d || b === 0x8f || b === 0x90 || b === 0x9d) {
      out += iconv.decode(bytes.subarray(from, i), 'win1252') + String.fromCharCode(b);
      from = i + 1;
    }
  }
  return out + iconv.decode(bytes.subarray(from), 'win1252');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function formatDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

function formatClock(hour: number, minute: number, second: number, micros: number): string {
  const clock = `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
  return micros === 0 ? clock : `${clock}.${pad(micros, 6)}`;
}

function formatDateTime(dataTypeNumber: number, d: DtsDateTime): string {
  const year = d.year ?? 0;
  const month = d.month ?? 0;
  const day = d.day ?? 0;
  switch (dataTypeNumber) {
    case 10:
    case 14:
      return formatDate(year, month, day);
    case 11:
    case 19:
      return formatTime(d);
    case 12:
    case 18:
      return `${formatDate(year, month, day)} ${formatClock(d.hour ?? 0, d.minute ?? 0, d.second ?? 0, d.millis ?? 0)}`;
    case 13:
      return pad(year, 4);
  }
  // A code that does not say: lay it out by the components present.
  const hasDate = d.year !== null || d.month !== null || d.day !== null;
  const hasTime = d.hour !== null || d.minute !== null || d.second !== null || d.millis !== null;
  if (hasDate && hasTime) return formatDateTime(12, d);
  if (hasTime) return formatTime(d);
  if (d.month === null && d.day === null) return pad(year, 4);
  return formatDate(year, month, day);
}

/** A negative TIME has its non-zero components negative (value-mapper.ts). */
function formatTime(d: DtsDateTime): string {
  const hour = d.hour ?? 0;
  const minute = d.minute ?? 0;
  const second = d.second ?? 0;
  const micros = d.millis ?? 0;
  const negative = hour < 0 || minute < 0 || second < 0 || micros < 0;
  const clock = formatClock(Math.abs(hour), Math.abs(minute), Math.abs(second), Math.abs(micros));
  return negative ? `-${clock}` : clock;
}

/** UTC from UNIX seconds with integer arithmetic only; 0 is MySQL's zero TIMESTAMP. */
export function formatTimestamp(epochSeconds: bigint, micros: number): string {
  if (epochSeconds === 0n && micros === 0) return '0000-00-00 00:00:00';
  let days = epochSeconds / 86400n;
  let secondOfDay = epochSeconds % 86400n;
  if (secondOfDay < 0n) {
    secondOfDay += 86400n;
    days -= 1n;
  }
  const { year, month, day } = civilFromDays(Number(days));
  const s = Number(secondOfDay);
  return `${formatDate(year, month, day)} ${formatClock(Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60, micros)}`;
}
