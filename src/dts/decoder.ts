import iconv from 'iconv-lite';
import type avsc from 'avsc';
import { SyncError } from '../errors.ts';
import { recordType } from './avro-schema.ts';
import type { DtsDateTime, DtsField, DtsImageValue, DtsOperation, DtsRecord } from './dts-record.ts';
import { mysqlTypeName } from './type-codes.ts';

/**
 * Reads one Kafka message value as a DTS Record. Anything that is not exactly one valid
 * Record (truncated, corrupt, trailing bytes) is DECODE_FAILED naming the byte offset.
 *
 * avsc trusts its input: a corrupt block count makes it loop or allocate for as long as
 * the count says, and an out-of-range index throws without a position. So the bytes are
 * first walked against the schema with every length checked against what is left, which
 * costs one pass and bounds the work by the input size; only then does avsc read them.
 */
export function decodeRecord(bytes: Buffer): DtsRecord {
  if (!Buffer.isBuffer(bytes)) throw new SyncError('DECODE_FAILED', 'not a DTS record: no bytes at byte offset 0');
  const walker = new Walker(bytes);
  try {
    walker.walk(recordType);
  } catch (e) {
    if (!(e instanceof WalkFailure)) throw e;
    throw new SyncError(
      'DECODE_FAILED',
      `not a DTS record: ${e.reason} at byte offset ${e.offset} (${e.path || 'Record'}) of ${bytes.length} bytes`,
    );
  }
  if (walker.pos !== bytes.length) {
    throw new SyncError(
      'DECODE_FAILED',
      `not a DTS record: ${bytes.length - walker.pos} trailing bytes at byte offset ${walker.pos} of ${bytes.length} bytes`,
    );
  }
  try {
    return recordType.fromBuffer(bytes) as DtsRecord;
  } catch (e) {
    throw new SyncError('DECODE_FAILED', `not a DTS record: ${e instanceof Error ? e.message : String(e)} at byte offset 0`, {
      cause: e,
    });
  }
}

class WalkFailure extends Error {
  readonly reason: string;
  readonly offset: number;
  readonly path: string;

  constructor(reason: string, offset: number, path: string) {
    super(reason);
    this.reason = reason;
    this.offset = offset;
    this.path = path;
  }
}

/** A bounds-checked pass over Avro binary data following an avsc type. */
class Walker {
  pos = 0;
  private readonly path: string[] = [];
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  private fail(reason: string, offset: number): never {
    throw new WalkFailure(reason, offset, this.path.join(''));
  }

  /** A zig-zag varint of at most maxBytes bytes, as a number (exact up to 2^53). */
  private varint(maxBytes: number, what: string): number {
    const start = this.pos;
    let n = 0;
    let scale = 1;
    let count = 0;
    let b: number;
    do {
      if (this.pos >= this.buf.length) this.fail(`truncated ${what}`, start);
      if (count === maxBytes) this.fail(`${what} longer than ${maxBytes} bytes`, start);
      b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      scale *= 128;
      count++;
    } while (b & 0x80);
    // The last byte of a full-length varint has room for only the top bits.
    if (count === maxBytes && b > (maxBytes === 5 ? 0x0f : 0x01)) this.fail(`${what} out of range`, start);
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private long(what: string): number {
    return this.varint(10, what);
  }

  private skip(length: number, what: string, start: number): void {
    if (length < 0) this.fail(`negative ${what} length ${length}`, start);
    if (length > this.buf.length - this.pos) this.fail(`${what} of ${length} bytes past the end`, start);
    this.pos += length;
  }

  walk(type: avsc.Type): void {
    const start = this.pos;
    const t = type as unknown as WalkableType;
    switch (t.typeName) {
      case 'null':
        return;
      case 'boolean': {
        if (this.pos >= this.buf.length) this.fail('truncated boolean', start);
        if (this.buf[this.pos++] > 1) this.fail('boolean not 0 or 1', start);
        return;
      }
      case 'int':
        this.varint(5, 'int');
        return;
      case 'long':
      case 'abstract:long':
        this.long('long');
        return;
      case 'float':
        this.skip(4, 'float', start);
        return;
      case 'double':
        this.skip(8, 'double', start);
        return;
      case 'bytes':
      case 'string':
        this.skip(this.long(`${t.typeName} length`), t.typeName, start);
        return;
      case 'fixed':
        this.skip(t.size, 'fixed', start);
        return;
      case 'enum': {
        const index = this.long('enum index');
        if (!(index >= 0 && index < t.symbols.length)) this.fail(`enum index ${index} not in 0..${t.symbols.length - 1}`, start);
        return;
      }
      case 'union:wrapped':
      case 'union:unwrapped': {
        const index = this.long('union index');
        if (!(index >= 0 && index < t.types.length)) this.fail(`union index ${index} not in 0..${t.types.length - 1}`, start);
        this.walk(t.types[index]);
        return;
      }
      case 'record':
        for (const field of t.fields) {
          this.path.push(`.${field.name}`);
          this.walk(field.type);
          this.path.pop();
        }
        return;
      case 'array':
        this.blocks('array', (i) => {
          this.path.push(`[${i}]`);
          this.walk(t.itemsType);
          this.path.pop();
        });
        return;
      case 'map':
        this.blocks('map', (i) => {
          this.path.push(`{${i}}`);
          const keyStart = this.pos;
          this.skip(this.long('map key length'), 'map key', keyStart);
          this.walk(t.valuesType);
          this.path.pop();
        });
        return;
      default:
        throw new Error(`the decoder cannot walk Avro type ${t.typeName}`);
    }
  }

  /**
   * Array and map blocks. Every item of the DTS schema's arrays and maps takes at least
   * one byte, so a count above the bytes left is corrupt: this is what bounds the work.
   */
  private blocks(what: string, item: (index: number) => void): void {
    let index = 0;
    for (;;) {
      const start = this.pos;
      let count = this.long(`${what} block count`);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        const sizeStart = this.pos;
        const size = this.long(`${what} block size`);
        if (size < 0 || size > this.buf.length - this.pos) this.fail(`${what} block size ${size} past the end`, sizeStart);
      }
      if (count > this.buf.length - this.pos) this.fail(`${what} block of ${count} items past the end`, start);
      for (let i = 0; i < count; i++) item(index++);
    }
  }
}

/** The parts of avsc's type objects the walker reads (public getters under other names). */
interface WalkableType {
  readonly typeName: string;
  readonly size: number;
  readonly symbols: readonly string[];
  readonly types: readonly avsc.Type[];
  readonly fields: readonly { readonly name: string; readonly type: avsc.Type }[];
  readonly itemsType: avsc.Type;
  readonly valuesType: avsc.Type;
}

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

/** Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count from 1970-01-01. */
function civilFromDays(daysSinceEpoch: number): { year: number; month: number; day: number } {
  const z = daysSinceEpoch + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * A double as MySQL's my_gcvt prints it with room to spare: the shortest digits that
 * read back as the same double, in fixed notation while the decimal point sits within
 * 15 places either way (or the digits reach past it), else `d.ddde[-]x` with no `+` and
 * no padding. Negative zero prints `-0`, as my_gcvt does for a stored -0.
 */
export function formatMysqlDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  // value = 0.d1d2... x 10^decpt
  const decpt = Number(exponent) + 1;
  if (decpt >= -14 && decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt > 0 && (decpt <= 15 || digits.length > decpt)) {
    return digits.length <= decpt
      ? `${sign}${digits}${'0'.repeat(decpt - digits.length)}`
      : `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
  return `${sign}${digits[0]}${fraction}e${decpt - 1}`;
}
