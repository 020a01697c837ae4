import { SyncError } from '../errors.ts';
import type { ChangeEvent } from '../model/change-event.ts';
import { recordType } from './avro-schema.ts';
import type {
  DtsBinaryGeometry, DtsBinaryObject, DtsCharacter, DtsDateTime, DtsDecimal, DtsField, DtsFloat,
  DtsImageValue, DtsInteger, DtsRecord, DtsTextGeometry, DtsTextObject, DtsTimestamp, DtsTimestampWithTimeZone,
} from './dts-record.ts';
import { buildRecord, type BuildContext } from './record-builder.ts';

/*
 * A writer for exactly the DTS Record schema, in place of avsc's generic one: avsc spends
 * most of its time resolving unions per value and writing short strings a character at
 * a time, which kept a 10-column INSERT far below 250,000 rows/s. The bytes are the
 * same as recordType.toBuffer's; test/unit/dts/encoder.test.ts compares the two on
 * every kind of value and on random records. One deliberate difference: a lone UTF-16
 * surrogate in a string of up to 64 bytes, which avsc writes as invalid UTF-8 (ED A0 80),
 * is written as U+FFFD, as Buffer writes it and as avsc does in longer strings. The
 * field order below is the schema's; the check at module load stops a schema edit from
 * going unnoticed.
 */

const RECORD_FIELDS = [
  'version', 'id', 'sourceTimestamp', 'sourcePosition', 'safeSourcePosition', 'sourceTxid', 'source',
  'operation', 'objectName', 'processTimestamps', 'tags', 'fields', 'beforeImages', 'afterImages', 'bornTimestamp',
];
const IMAGE_BRANCHES = [
  'null', 'com.alibaba.dts.formats.avro.Integer', 'com.alibaba.dts.formats.avro.Character',
  'com.alibaba.dts.formats.avro.Decimal', 'com.alibaba.dts.formats.avro.Float',
  'com.alibaba.dts.formats.avro.Timestamp', 'com.alibaba.dts.formats.avro.DateTime',
  'com.alibaba.dts.formats.avro.TimestampWithTimeZone', 'com.alibaba.dts.formats.avro.BinaryGeometry',
  'com.alibaba.dts.formats.avro.TextGeometry', 'com.alibaba.dts.formats.avro.BinaryObject',
  'com.alibaba.dts.formats.avro.TextObject', 'com.alibaba.dts.formats.avro.EmptyObject',
];

interface SchemaView {
  fields: { name: string; type: { symbols?: string[]; fields?: { name: string; type: { symbols?: string[] } }[]; types?: { itemsType?: { types: { branchName: string }[] } }[] } }[];
}
const schemaView = recordType as unknown as SchemaView;
const field = (name: string) => schemaView.fields.find((f) => f.name === name)!.type;

if (schemaView.fields.map((f) => f.name).join() !== RECORD_FIELDS.join()) {
  throw new Error('avro/Record.avsc no longer has the Record fields the encoder writes');
}
for (const images of ['beforeImages', 'afterImages']) {
  const branches = field(images).types?.[2].itemsType?.types.map((t) => t.branchName);
  if (branches?.join() !== IMAGE_BRANCHES.join()) {
    throw new Error(`avro/Record.avsc no longer has the ${images} branches the encoder writes`);
  }
}

/** Enum symbol → index, taken from the schema so that the two cannot disagree. */
function symbolIndex(symbols: readonly string[] | undefined): Map<string, number> {
  return new Map((symbols ?? []).map((s, i) => [s, i]));
}
const OPERATIONS = symbolIndex(field('operation').symbols);
const SOURCE_TYPES = symbolIndex(field('source').fields?.find((f) => f.name === 'sourceType')?.type.symbols);
const EMPTY_OBJECT_SYMBOLS = new Map([['NULL', 0], ['NONE', 1]]);

// Records are written one after another into a slab and handed out as views of it, so a
// record costs no allocation and no copy of its own; a full slab is left to the records
// that still point into it, and a fresh one is taken. A record that outgrows the rest of
// the slab moves to a fresh buffer: a new slab when it fits one, else a buffer of its
// own that is dropped after the record.
const SLAB_SIZE = 256 * 1024;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// Longs within this range take the number path; its zig-zag doubles stay exact.
const FAST_LONG = 2 ** 51;

let buf = Buffer.allocUnsafe(SLAB_SIZE);
/** where the record being written starts in buf */
let start = 0;
let pos = 0;

// Encoded `fields` arrays by array: record-builder freezes the one array (and its Field
// objects) that all rows of a table share, so a frozen list is worth keeping.
const encodedFields = new WeakMap<readonly DtsField[], Buffer>();

class InvalidValue extends Error {}

function invalid(what: string, value: unknown): InvalidValue {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (Buffer.isBuffer(value)) shown = `a Buffer of ${value.length} bytes`;
  else if (typeof value === 'object' && value !== null) shown = Array.isArray(value) ? 'an array' : 'an object';
  else shown = String(value);
  return new InvalidValue(`${what}: ${shown} is not valid`);
}

function reserve(n: number): void {
  if (pos + n > buf.length) {
    const written = pos - start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, 2 * (written + n)));
    buf.copy(next, 0, start, pos);
    buf = next;
    start = 0;
    pos = written;
  }
}

/** A small non-negative varint known to fit one byte: union and enum indexes, zero counts. */
function writeByte(b: number): void {
  reserve(1);
  buf[pos++] = b;
}

function writeInt(n: number, what: string): void {
  if (typeof n !== 'number' || n !== (n | 0)) throw invalid(what, n);
  reserve(5);
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
}

/** The zig-zag value z (non-negative, < 2^53) as a varint: float steps until it fits int32. */
function writeZigZag(z: number): void {
  reserve(10);
  while (z > 0x7fffffff) {
    // Not z % 128: on a double that is a call to fmod.
    const high = Math.floor(z / 128);
    buf[pos++] = (z - high * 128) | 0x80;
    z = high;
  }
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
}

/** A non-negative count or length (always < 2^51 here). */
function writeCount(n: number): void {
  writeZigZag(n * 2);
}

function writeLong(n: bigint, what: string): void {
  if (typeof n !== 'bigint') throw invalid(what, n);
  // Comparing numbers is far cheaper than comparing bigints, and Number() of a bigint
  // beyond the fast range lands beyond it too, so the bigint checks run only there.
  const v = Number(n);
  if (v > -FAST_LONG && v < FAST_LONG) {
    writeZigZag(v >= 0 ? v * 2 : -v * 2 - 1);
    return;
  }
  if (n < INT64_MIN || n > INT64_MAX) throw invalid(what, n);
  reserve(10);
  let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  while (z > 0x7fn) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
}

// Below these lengths a copy by hand beats a call into native code (measured on the
// benchmark machine: a string write costs ~65 ns, a TypedArray set ~17 ns).
const SHORT_STRING = 32;
const SHORT_BYTES = 16;

function writeString(s: string, what: string): void {
  if (typeof s !== 'string') throw invalid(what, s);
  const n = s.length;
  // An ASCII string's length is its byte count, and below 64 it fits one varint byte.
  if (n < SHORT_STRING) {
    reserve(n + 1);
    const out = buf;
    const first = pos + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      out[first + i] = c;
    }
    if (i === n) {
      out[pos] = n << 1;
      pos = first + n;
      return;
    }
  }
  const length = Buffer.byteLength(s, 'utf8');
  writeCount(length);
  reserve(length);
  pos += buf.write(s, pos, length, 'utf8');
}

// Encoded strings that records repeat verbatim: server version, objectName, tag keys,
// pk_uk_info. Bounded, so that a stream over many tables cannot grow it without end;
// refilling it is cheap.
const CACHE_LIMIT = 16_384;
const MAX_CACHED_LENGTH = 256;
const encodedStrings = new Map<string, Buffer>();

function writeRepeatedString(s: string, what: string): void {
  let encoded = encodedStrings.get(s);
  if (encoded === undefined) {
    if (typeof s !== 'string') throw invalid(what, s);
    if (s.length > MAX_CACHED_LENGTH) {
      writeString(s, what);
      return;
    }
    // Relative to the record: writing may move the record to a larger buffer.
    const offset = pos - start;
    writeString(s, what);
    encoded = Buffer.from(buf.subarray(start + offset, pos));
    if (encodedStrings.size >= CACHE_LIMIT) encodedStrings.clear();
    encodedStrings.set(s, encoded);
    return;
  }
  writeRaw(encoded);
}

/** Bytes as they are, no length prefix. */
function writeRaw(b: Uint8Array): void {
  const n = b.length;
  reserve(n);
  if (n < SHORT_BYTES) {
    const out = buf;
    const at = pos;
    for (let i = 0; i < n; i++) out[at + i] = b[i];
  } else {
    buf.set(b, pos);
  }
  pos += n;
}

function writeBytes(b: Buffer, what: string): void {
  if (!Buffer.isBuffer(b)) throw invalid(what, b);
  writeCount(b.length);
  writeRaw(b);
}

function writeDouble(v: number, what: string): void {
  if (typeof v !== 'number') throw invalid(what, v);
  reserve(8);
  pos = buf.writeDoubleLE(v, pos);
}

function writeEnum(symbols: Map<string, number>, symbol: string, what: string): void {
  const index = symbols.get(symbol);
  if (index === undefined) throw invalid(what, symbol);
  writeCount(index);
}

/**
 * A string or enum symbol at one place of the record that is mostly the same as in the
 * record before (the operation, the server version, the table): a comparison with the
 * last one is cheaper than any lookup.
 */
class LastValue {
  value: string | undefined = undefined;
  bytes: Uint8Array = new Uint8Array(0);
}

function writeLastEnum(last: LastValue, symbols: Map<string, number>, symbol: string, what: string): void {
  if (symbol !== last.value) {
    const index = symbols.get(symbol);
    if (index === undefined) throw invalid(what, symbol);
    last.bytes = Uint8Array.of(index * 2);
    last.value = symbol;
  }
  writeByte(last.bytes[0]);
}

function writeLastString(last: LastValue, s: string, what: string): void {
  if (s !== last.value) {
    // Relative to the record: writing may move the record to a larger buffer.
    const offset = pos - start;
    writeRepeatedString(s, what);
    last.bytes = Buffer.from(buf.subarray(start + offset, pos));
    last.value = s;
    return;
  }
  writeRaw(last.bytes);
}

const lastSourceType = new LastValue();
const lastVersion = new LastValue();
const lastOperation = new LastValue();
const lastObjectName = new LastValue();
const lastPkUkInfo = new LastValue();
/** by position in the tags: records of a kind write the same keys in the same order */
const lastTagKeys: LastValue[] = [];

/** `["null", "int"]`, as each DateTime component is. */
function writeOptionalInt(n: number | null, what: string): void {
  if (n === null) {
    writeByte(0);
  } else {
    writeByte(2);
    writeInt(n, what);
  }
}

function writeDateTime(d: DtsDateTime): void {
  if (typeof d !== 'object' || d === null) throw invalid('DateTime', d);
  writeOptionalInt(d.year, 'DateTime.year');
  writeOptionalInt(d.month, 'DateTime.month');
  writeOptionalInt(d.day, 'DateTime.day');
  writeOptionalInt(d.hour, 'DateTime.hour');
  writeOptionalInt(d.minute, 'DateTime.minute');
  writeOptionalInt(d.second, 'DateTime.second');
  writeOptionalInt(d.millis, 'DateTime.millis');
}

/** One image item: the union index (zig-zag, so 2 * index) and the branch's record. */
function writeImageValue(item: DtsImageValue): void {
  if (item === null) {
    writeByte(0);
    return;
  }
  if (typeof item !== 'object') throw invalid('image value', item);
  // Object.keys measured faster than for-in here, and it also counts the keys.
  const keys = Object.keys(item);
  if (keys.length !== 1) throw invalid('image value', item);
  const branch = keys[0];
  const v: unknown = (item as { readonly [branch: string]: unknown })[branch];
  switch (branch) {
    case 'com.alibaba.dts.formats.avro.Integer': {
      const x = v as DtsInteger;
      writeByte(2);
      writeInt(x.precision, 'Integer.precision');
      writeString(x.value, 'Integer.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Character': {
      const x = v as DtsCharacter;
      writeByte(4);
      writeString(x.charset, 'Character.charset');
      writeBytes(x.value, 'Character.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Decimal': {
      const x = v as DtsDecimal;
      writeByte(6);
      writeString(x.value, 'Decimal.value');
      writeInt(x.precision, 'Decimal.precision');
      writeInt(x.scale, 'Decimal.scale');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Float': {
      const x = v as DtsFloat;
      writeByte(8);
      writeDouble(x.value, 'Float.value');
      writeInt(x.precision, 'Float.precision');
      writeInt(x.scale, 'Float.scale');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Timestamp': {
      const x = v as DtsTimestamp;
      writeByte(10);
      writeLong(x.timestamp, 'Timestamp.timestamp');
      writeInt(x.millis, 'Timestamp.millis');
      return;
    }
    case 'com.alibaba.dts.formats.avro.DateTime':
      writeByte(12);
      writeDateTime(v as DtsDateTime);
      return;
    case 'com.alibaba.dts.formats.avro.TimestampWithTimeZone': {
      const x = v as DtsTimestampWithTimeZone;
      writeByte(14);
      writeDateTime(x.value);
      writeRepeatedString(x.timezone, 'TimestampWithTimeZone.timezone');
      return;
    }
    case 'com.alibaba.dts.formats.avro.BinaryGeometry': {
      const x = v as DtsBinaryGeometry;
      writeByte(16);
      writeString(x.type, 'BinaryGeometry.type');
      writeBytes(x.value, 'BinaryGeometry.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.TextGeometry': {
      const x = v as DtsTextGeometry;
      writeByte(18);
      writeString(x.type, 'TextGeometry.type');
      writeString(x.value, 'TextGeometry.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.BinaryObject': {
      const x = v as DtsBinaryObject;
      writeByte(20);
      writeString(x.type, 'BinaryObject.type');
      writeBytes(x.value, 'BinaryObject.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.TextObject': {
      const x = v as DtsTextObject;
      writeByte(22);
      writeString(x.type, 'TextObject.type');
      writeString(x.value, 'TextObject.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.EmptyObject':
      writeByte(24);
      writeEnum(EMPTY_OBJECT_SYMBOLS, v as string, 'EmptyObject');
      return;
    default:
      throw invalid('image value branch', branch);
  }
}

/** `fields`, `beforeImages` and `afterImages` are all `["null", "string", {array}]`. */
function writeArrayUnion<T>(value: readonly T[] | string | null, what: string, writeItem: (item: T) => void): void {
  if (value === null) {
    writeByte(0);
  } else if (typeof value === 'string') {
    writeByte(2);
    writeString(value, what);
  } else if (Array.isArray(value)) {
    writeByte(4);
    const n = value.length;
    if (n > 0) {
      writeCount(n);
      for (let i = 0; i < n; i++) {
        try {
          writeItem(value[i]);
        } catch (e) {
          throw e instanceof InvalidValue ? new InvalidValue(`${what}[${i}] ${e.message}`) : e;
        }
      }
    }
    writeByte(0);
  } else {
    throw invalid(what, value);
  }
}

function writeField(f: DtsField): void {
  if (typeof f !== 'object' || f === null) throw invalid('Field', f);
  writeString(f.name, 'Field.name');
  writeInt(f.dataTypeNumber, 'Field.dataTypeNumber');
}

function writeFields(fields: readonly DtsField[] | string | null): void {
  if (!Array.isArray(fields) || !Object.isFrozen(fields)) {
    writeArrayUnion(fields, 'fields', writeField);
    return;
  }
  const list = fields as readonly DtsField[];
  const encoded = encodedFields.get(list);
  if (encoded === undefined) {
    const offset = pos - start;
    writeArrayUnion(list, 'fields', writeField);
    // Only a list that cannot change, down to its Field objects, may be written from memory.
    if (list.every((f) => Object.isFrozen(f))) {
      encodedFields.set(list, Buffer.from(buf.subarray(start + offset, pos)));
    }
    return;
  }
  writeRaw(encoded);
}

function writeTags(tags: { readonly [key: string]: string }): void {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw invalid('tags', tags);
  const keys = Object.keys(tags);
  if (keys.length > 0) {
    writeCount(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (i >= lastTagKeys.length) lastTagKeys.push(new LastValue());
      writeLastString(lastTagKeys[i], key, 'tags key');
      // pk_uk_info is the one long tag value that repeats; the others change per record.
      if (key === 'pk_uk_info') writeLastString(lastPkUkInfo, tags[key], 'tags.pk_uk_info');
      else if (typeof tags[key] === 'string') writeString(tags[key], 'tags');
      else throw invalid(`tags.${key}`, tags[key]);
    }
  }
  writeByte(0);
}

function writeRecord(r: DtsRecord): void {
  writeInt(r.version, 'version');
  writeLong(r.id, 'id');
  writeLong(r.sourceTimestamp, 'sourceTimestamp');
  writeString(r.sourcePosition, 'sourcePosition');
  writeString(r.safeSourcePosition, 'safeSourcePosition');
  writeRepeatedString(r.sourceTxid, 'sourceTxid');
  if (typeof r.source !== 'object' || r.source === null) throw invalid('source', r.source);
  writeLastEnum(lastSourceType, SOURCE_TYPES, r.source.sourceType, 'source.sourceType');
  writeLastString(lastVersion, r.source.version, 'source.version');
  writeLastEnum(lastOperation, OPERATIONS, r.operation, 'operation');
  if (r.objectName === null) {
    writeByte(0);
  } else {
    writeByte(2);
    writeLastString(lastObjectName, r.objectName, 'objectName');
  }
  if (r.processTimestamps === null) {
    writeByte(0);
  } else {
    writeByte(2);
    if (!Array.isArray(r.processTimestamps)) throw invalid('processTimestamps', r.processTimestamps);
    if (r.processTimestamps.length > 0) {
      writeCount(r.processTimestamps.length);
      for (const t of r.processTimestamps) writeLong(t, 'processTimestamps[]');
    }
    writeByte(0);
  }
  writeTags(r.tags);
  writeFields(r.fields);
  writeArrayUnion(r.beforeImages, 'beforeImages', writeImageValue);
  writeArrayUnion(r.afterImages, 'afterImages', writeImageValue);
  writeLong(r.bornTimestamp, 'bornTimestamp');
}

/**
 * The bare Avro binary of one Record: a Kafka message value. The Buffer is a view of a
 * shared slab (as Node's own small Buffers are): never write into it.
 */
export function encodeRecord(record: DtsRecord): Buffer {
  pos = start;
  try {
    if (typeof record !== 'object' || record === null) throw invalid('record', record);
    writeRecord(record);
  } catch (e) {
    pos = start;
    if (!(e instanceof InvalidValue)) throw e;
    const what = record && typeof record === 'object' ? ` id ${String(record.id)} of ${record.objectName}` : '';
    throw new SyncError('ENCODE_FAILED', `cannot encode the DTS record${what}: ${e.message}`, { cause: e });
  }
  const out = buf.subarray(start, pos);
  // Eight-byte alignment keeps the next record's doubles and copies on aligned addresses.
  start = (pos + 7) & ~7;
  if (buf.length > SLAB_SIZE || start >= buf.length) {
    buf = Buffer.allocUnsafe(SLAB_SIZE);
    start = 0;
  }
  return out;
}

/** buildRecord then encodeRecord. */
export function encodeEvent(event: ChangeEvent, ctx: BuildContext): Buffer {
  return encodeRecord(buildRecord(event, ctx));
}
