/**
 * MySQL's binary JSON (the storage and binlog form of a JSON column) printed as the text
 * the server itself prints for the value (`SELECT col`, `CAST(col AS CHAR)`).
 *
 * zongji's decoder (lib/json_decode.js) loses exactness: a DECIMAL inside a document comes
 * out as a string ("1.50" instead of 1.50), doubles in JavaScript's spelling (1e+300
 * instead of 1e300, 1 instead of 1.0), opaque binary values in node-mysql's own form. This
 * module reads the format of MySQL's json_binary.h itself and writes MySQL's JSON output
 * (Json_wrapper::to_string): keys in stored order (the server sorts them when it stores a
 * document), `, ` and `: ` separators, 64-bit integers exact (never a JS number),
 * doubles as my_gcvt prints them plus `.0` when that reads as an integer, DECIMAL with its
 * scale, DATE/TIME/DATETIME/TIMESTAMP as quoted text with six fraction digits (DATE none),
 * any other opaque value as `"base64:type<field type>:<base64>"`.
 *
 * Layout (json_binary.h): a document is a type byte and a value. Objects and arrays are
 * `count size entries... values...`, with 2-byte counts and offsets when small and 4-byte
 * ones when large; offsets are relative to the container's first byte (after its type).
 * An object has key entries (offset, 2-byte length) before its value entries; a value
 * entry is a type byte and either the value inlined (literals, [u]int16, and in large
 * containers [u]int32) or its offset. Numbers are little-endian; strings and opaque data
 * have a variable-length size, 7 bits a byte, the high bit saying another byte follows.
 */
import { SyncError } from '../errors.ts';
import { formatMysqlDouble } from '../model/mysql-double.ts';
import { decodeDecimal } from './mysql-decimal.ts';

const SMALL_OBJECT = 0x00;
const LARGE_OBJECT = 0x01;
const SMALL_ARRAY = 0x02;
const LARGE_ARRAY = 0x03;
const LITERAL = 0x04;
const INT16 = 0x05;
const UINT16 = 0x06;
const INT32 = 0x07;
const UINT32 = 0x08;
const INT64 = 0x09;
const UINT64 = 0x0a;
const DOUBLE = 0x0b;
const STRING = 0x0c;
const OPAQUE = 0x0f;

/** Field types (enum_field_types) the server prints as values rather than base64 in JSON. */
const FIELD_TIMESTAMP = 7;
const FIELD_DATE = 10;
const FIELD_TIME = 11;
const FIELD_DATETIME = 12;
const FIELD_NEWDECIMAL = 246;

/** Nesting beyond this is corrupt: the server refuses documents deeper than 100. */
const MAX_DEPTH = 150;

/**
 * The server's text of one binary JSON value. An empty value is the JSON null literal, as
 * the server reads it (a JSON NOT NULL column filled in without a value stores nothing).
 * A value that does not follow the format is DECODE_FAILED naming the offset.
 */
export function mysqlJsonText(doc: Buffer): string {
  if (doc.length === 0) return 'null';
  const out: string[] = [];
  try {
    new Reader(doc, out).value(doc[0]!, 1, 0);
  } catch (e) {
    if (e instanceof SyncError) throw e;
    throw new SyncError('DECODE_FAILED', `binary JSON value of ${doc.length} bytes is corrupt: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out.join('');
}

class Reader {
  private readonly buf: Buffer;
  private readonly out: string[];

  constructor(buf: Buffer, out: string[]) {
    this.buf = buf;
    this.out = out;
  }

  private fail(what: string, at: number): never {
    throw new SyncError('DECODE_FAILED', `binary JSON value of ${this.buf.length} bytes is corrupt: ${what} at byte ${at}`);
  }

  private need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.buf.length) this.fail(`${what} of ${n} bytes past the end`, at);
  }

  /** The value of `type` stored at `at` (not inlined). */
  value(type: number, at: number, depth: number): void {
    const b = this.buf;
    switch (type) {
      case SMALL_OBJECT: case LARGE_OBJECT: case SMALL_ARRAY: case LARGE_ARRAY:
        if (depth > MAX_DEPTH) this.fail('nesting too deep', at);
        this.container(type, at, depth);
        return;
      case LITERAL: this.need(at, 1, 'literal'); this.literal(b[at]!, at); return;
      case INT16: this.need(at, 2, 'int16'); this.out.push(String(b.readInt16LE(at))); return;
      case UINT16: this.need(at, 2, 'uint16'); this.out.push(String(b.readUInt16LE(at))); return;
      case INT32: this.need(at, 4, 'int32'); this.out.push(String(b.readInt32LE(at))); return;
      case UINT32: this.need(at, 4, 'uint32'); this.out.push(String(b.readUInt32LE(at))); return;
      case INT64: this.need(at, 8, 'int64'); this.out.push(b.readBigInt64LE(at).toString()); return;
      case UINT64: this.need(at, 8, 'uint64'); this.out.push(b.readBigUInt64LE(at).toString()); return;
      case DOUBLE: this.need(at, 8, 'double'); this.out.push(jsonDouble(b.readDoubleLE(at))); return;
      case STRING: {
        const [length, start] = this.varLength(at);
        this.need(start, length, 'string');
        this.out.push(quote(b.toString('utf8', start, start + length)));
        return;
      }
      case OPAQUE: {
        this.need(at, 1, 'opaque type');
        const fieldType = b[at]!;
        const [length, start] = this.varLength(at + 1);
        this.need(start, length, 'opaque data');
        this.out.push(opaqueText(fieldType, b.subarray(start, start + length)));
        return;
      }
      default:
        this.fail(`unknown value type 0x${type.toString(16)}`, at - 1);
    }
  }

  private literal(v: number, at: number): void {
    if (v === 0) this.out.push('null');
    else if (v === 1) this.out.push('true');
    else if (v === 2) this.out.push('false');
    else this.fail(`unknown literal ${v}`, at);
  }

  private container(type: number, start: number, depth: number): void {
    const b = this.buf;
    const large = type === LARGE_OBJECT || type === LARGE_ARRAY;
    const object = type === SMALL_OBJECT || type === LARGE_OBJECT;
    const w = large ? 4 : 2;
    this.need(start, 2 * w, 'container header');
    const count = large ? b.readUInt32LE(start) : b.readUInt16LE(start);
    const size = large ? b.readUInt32LE(start + 4) : b.readUInt16LE(start + 2);
    this.need(start, size, 'container');
    const keyEntries = start + 2 * w;
    const valueEntries = keyEntries + (object ? count * (w + 2) : 0);
    this.need(valueEntries, count * (1 + w), 'value entries');
    const offset = (at: number) => (large ? b.readUInt32LE(at) : b.readUInt16LE(at));
    this.out.push(object ? '{' : '[');
    for (let i = 0; i < count; i++) {
      if (i > 0) this.out.push(', ');
      if (object) {
        const entry = keyEntries + i * (w + 2);
        const keyAt = start + offset(entry);
        const keyLength = b.readUInt16LE(entry + w);
        this.need(keyAt, keyLength, 'key');
        this.out.push(quote(b.toString('utf8', keyAt, keyAt + keyLength)), ': ');
      }
      const entry = valueEntries + i * (1 + w);
      const valueType = b[entry]!;
      switch (valueType) {
        // Inlined: the entry holds the value itself.
        case LITERAL: this.literal(b[entry + 1]!, entry + 1); break;
        case INT16: this.out.push(String(b.readInt16LE(entry + 1))); break;
        case UINT16: this.out.push(String(b.readUInt16LE(entry + 1))); break;
        case INT32: case UINT32:
          if (large) {
            this.out.push(String(valueType === INT32 ? b.readInt32LE(entry + 1) : b.readUInt32LE(entry + 1)));
            break;
          }
          this.value(valueType, start + offset(entry + 1), depth + 1);
          break;
        default:
          this.value(valueType, start + offset(entry + 1), depth + 1);
      }
    }
    this.out.push(object ? '}' : ']');
  }

  /** A variable-length size at `at`: the size and where the data starts. */
  private varLength(at: number): [number, number] {
    let length = 0;
    for (let i = 0; i < 5; i++) {
      this.need(at + i, 1, 'length');
      const byte = this.buf[at + i]!;
      length += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return [length, at + i + 1];
    }
    return this.fail('length longer than 5 bytes', at);
  }
}

/**
 * A JSON double as the server prints it: my_gcvt's shortest digits (so `1e300`, never
 * `1e+300`), and `.0` added when that text would read as an integer, so that the type
 * stays visible (`1.0`, `-0.0`, `100000000000000.0`).
 */
export function jsonDouble(v: number): string {
  const text = formatMysqlDouble(v);
  return /[.e]/.test(text) || !Number.isFinite(v) ? text : `${text}.0`;
}

// Characters the server escapes in JSON strings (json_dom.cc, double_quote): the quote, the
// backslash and control characters below 0x20, the usual ones by letter, others as \u00xx.
// Everything else, DEL and non-ASCII included, is written as it is.
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const ESCAPE_ALL = /["\\\u0000-\u001f]/g;
const LETTER_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPE_ALL, (ch) => LETTER_ESCAPES[ch] ?? `\\u00${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

function opaqueText(fieldType: number, data: Buffer): string {
  switch (fieldType) {
    case FIELD_NEWDECIMAL:
      // precision, scale, then the binary DECIMAL
      if (data.length < 2) throw new Error(`DECIMAL of ${data.length} bytes`);
      return decodeDecimal(data, 2, data[0]!, data[1]!);
    case FIELD_DATE: return `"${packedDate(data)}"`;
    case FIELD_TIME: return `"${packedTime(data)}"`;
    case FIELD_DATETIME: case FIELD_TIMESTAMP: return `"${packedDatetime(data)}"`;
    default:
      return quote(`base64:type${fieldType}:${mysqlBase64(data)}`);
  }
}

/** MySQL's base64_encode: standard alphabet and padding, a newline after every 76 characters. */
export function mysqlBase64(data: Buffer): string {
  const text = data.toString('base64');
  if (text.length <= 76) return text;
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join('\n');
}

/**
 * Temporal values in JSON are the server's packed longlong (TIME_to_longlong_*_packed),
 * 8 bytes little-endian: the sign, then (date-and-time bits << 24) + microseconds; the
 * date-and-time bits are ((year*13+month) << 5 | day) << 17 | hour << 12 | minute << 6 | second
 * for DATE/DATETIME, hour << 12 | minute << 6 | second for TIME.
 */
function unpack(data: Buffer): { negative: boolean; bits: bigint; micros: number } {
  if (data.length < 8) throw new Error(`temporal value of ${data.length} bytes`);
  const v = data.readBigInt64LE(0);
  const abs = v < 0n ? -v : v;
  return { negative: v < 0n, bits: abs >> 24n, micros: Number(abs & 0xffffffn) };
}

const p2 = (n: number) => String(n).padStart(2, '0');
const p4 = (n: number) => String(n).padStart(4, '0');
const p6 = (n: number) => String(n).padStart(6, '0');

function dateParts(bits: bigint): { date: string; clock: string } {
  const ymd = Number(bits >> 17n);
  const hms = Number(bits & 0x1ffffn);
  const ym = ymd >> 5;
  return {
    date: `${p4(Math.floor(ym / 13))}-${p2(ym % 13)}-${p2(ymd & 31)}`,
    clock: `${p2(hms >> 12)}:${p2((hms >> 6) & 63)}:${p2(hms & 63)}`,
  };
}

function packedDate(data: Buffer): string {
  return dateParts(unpack(data).bits).date;
}

function packedDatetime(data: Buffer): string {
  const { bits, micros } = unpack(data);
  const { date, clock } = dateParts(bits);
  return `${date} ${clock}.${p6(micros)}`;
}

function packedTime(data: Buffer): string {
  const { negative, bits, micros } = unpack(data);
  const hms = Number(bits);
  return `${negative ? '-' : ''}${p2(Math.floor(hms / 4096))}:${p2((hms >> 6) & 63)}:${p2(hms & 63)}.${p6(micros)}`;
}
