import { SyncError } from '../errors.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';
import type { ChangeEvent, RowChangeEvent } from '../model/change-event.ts';
import type { ColumnValue, TemporalValue, TimestampValue } from '../model/column-value.ts';
import type { ColumnSchema, TableSchema } from '../model/table-schema.ts';
import { recordType } from './avro-schema.ts';
import type {
  DtsBinaryGeometry, DtsBinaryObject, DtsCharacter, DtsDateTime, DtsDecimal, DtsField, DtsFloat,
  DtsImageValue, DtsInteger, DtsRecord, DtsTextGeometry, DtsTextObject, DtsTimestamp, DtsTimestampWithTimeZone,
} from './dts-record.ts';
import { buildRecord, type BuildContext, formatPosition, millisText, planFor, type TablePlan } from './record-builder.ts';
import { digitsAt, scanDecimal, scanDecimalBytes, scannedPrecision, scannedScale } from './ascii-number.ts';
import { dtsCharset, shortestFloat32, type ValueMapper } from './value-mapper.ts';

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

let buf: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
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
  return finishRecord();
}

/** The record just written, as a view of the slab; the next one starts after it. */
function finishRecord(): Buffer {
  const out = buf.subarray(start, pos);
  // Eight-byte alignment keeps the next record's doubles and copies on aligned addresses.
  start = (pos + 7) & ~7;
  if (buf.length > SLAB_SIZE || start >= buf.length) {
    buf = Buffer.allocUnsafe(SLAB_SIZE);
    start = 0;
  }
  return out;
}

/**
 * buildRecord then encodeRecord: the same bytes. A row change takes a direct path that
 * writes the record from the event without building the DtsRecord and its image items
 * first (see "The direct path" below); anything that path does not take as it is (a DDL,
 * a value of an unexpected form, a record that would fail) goes through buildRecord and
 * encodeRecord, which write it or throw their error.
 */
export function encodeEvent(event: ChangeEvent, ctx: BuildContext): Buffer {
  if (event.kind === 'row') {
    pos = start;
    let written = false;
    try {
      written = writeRowDirect(event, ctx);
    } catch {
      written = false;
    }
    if (written) return finishRecord();
    pos = start;
  }
  return encodeRecord(buildRecord(event, ctx));
}

/*
 * The direct path. A row record of the pipeline is written straight from its
 * RowChangeEvent: record-builder's buildRowRecord makes a Record object, a tags object and
 * two objects per column value, which writeRecord then takes apart again (Object.keys per
 * image item and a switch on its branch name, a string per integer), and that made up most
 * of the encoding time. Here each column has a writer chosen once per table (directPlan)
 * that checks the value exactly as its value-mapper does and writes the item the mapper and
 * writeImageValue would have written; the other fields are written in schema order as
 * writeRecord writes buildRowRecord's values. A writer meeting anything it does not write
 * itself returns or throws, and encodeEvent then takes the general path, so the bytes and
 * the errors are always those of buildRecord + encodeRecord
 * (test/unit/dts/golden.test.ts and round-trip.test.ts pin them).
 */

/**
 * How one column's image items are written, settled per table: the item kind and what it
 * needs. Every column has an object of this one shape, so writeItem reads them all alike.
 */
interface ItemPlan {
  readonly kind: ItemKind;
  /** Integer: the precision byte (zig-zag width); Float: 1 for FLOAT; Character: the BINARY width to pad to */
  readonly a: number;
  /** Float: precision and scale */
  readonly precision: number;
  readonly scale: number;
  /** Integer: the range of the column as numbers and as bigints */
  readonly minNumber: number;
  readonly maxNumber: number;
  readonly min: bigint;
  readonly max: bigint;
  /** Character: the charset; BinaryObject, TextObject: the type; as writeString writes them */
  readonly bytes: Buffer;
  /** General: the column's value-mapper (its item is written by writeImageValue) */
  readonly mapper: ValueMapper;
}

const enum ItemKind { Integer, Decimal, Float, Timestamp, DateTime, Date, Character, BinaryObject, TextObject, General }

interface DirectPlan {
  readonly plan: TablePlan;
  readonly items: readonly ItemPlan[];
  /** `[0x00]` (the end of the tags) and the encoded `fields`: the same for every row of the table */
  tail: Buffer | null;
  /**
   * The bytes from sourceTxid to the key of thread_id: the same for every row with this
   * source version and operation (kept for the last ones seen).
   */
  middle: Buffer | null;
  middleVersion: string;
  middleOperation: string;
}

const directPlans = new WeakMap<TableSchema, DirectPlan>();

function directPlan(table: TableSchema): DirectPlan {
  let d = directPlans.get(table);
  if (d === undefined) {
    const plan = planFor(table);
    d = {
      plan, items: table.columns.map((c, i) => itemPlan(c, plan.mappers[i]!)), tail: null,
      middle: null, middleVersion: '', middleOperation: '',
    };
    directPlans.set(table, d);
  }
  return d;
}

/** What writeString writes for s: its UTF-8 length as a zig-zag varint, then the bytes. */
function stringBytes(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const head: number[] = [];
  let z = bytes.length * 2;
  while (z > 0x7f) {
    head.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  head.push(z);
  return Buffer.concat([Buffer.from(head), bytes]);
}

const TAG_PK_UK_INFO = stringBytes('pk_uk_info');
const TAG_THREAD_ID = stringBytes('thread_id');
const TAG_SERVER_ID = stringBytes('server_id');
const TAG_READER_TIME = stringBytes('readerThroughoutTime');
const SOURCE_TXID = stringBytes('0');
let lastDirectTable: TableSchema | null = null;
let lastDirectPlan: DirectPlan | null = null;

// The last positions written and their text: the rows of one binlog event share their
// position, the rows of one transaction their start. Likewise the thread and server ids.
let lastPositionFile = '';
let lastPositionOffset = -1;
let lastPositionText = '';
let lastSafeFile = '';
let lastSafeOffset = -1;
let lastSafeText = '';
let lastThreadId: unknown = undefined;
let lastThreadText = 'undefined';
let lastServerId: unknown = undefined;
let lastServerText = 'undefined';

function positionText(p: BinlogPosition): string {
  if (p.position !== lastPositionOffset || p.file !== lastPositionFile) {
    lastPositionText = formatPosition(p);
    lastPositionFile = p.file;
    lastPositionOffset = p.position;
  }
  return lastPositionText;
}

function safePositionText(p: BinlogPosition): string {
  if (p.position !== lastSafeOffset || p.file !== lastSafeFile) {
    lastSafeText = formatPosition(p);
    lastSafeFile = p.file;
    lastSafeOffset = p.position;
  }
  return lastSafeText;
}

/** A row record as buildRowRecord + writeRecord write it; false to leave it to them. */
function writeRowDirect(event: RowChangeEvent, ctx: BuildContext): boolean {
  const operation = event.operation;
  const hasBefore = operation === 'UPDATE' || operation === 'DELETE';
  const hasAfter = operation !== 'DELETE';
  if ((event.before !== null) !== hasBefore || (event.after !== null) !== hasAfter) return false;
  const d = writeRowHead(event, ctx);
  if (d === null) return false;
  if (!writeImagesDirect(d, event.before)) return false;
  if (!writeImagesDirect(d, event.after)) return false;
  writeZigZag(event.source.commitTimestamp * 2); // bornTimestamp
  return true;
}

/**
 * A row record's fields up to its images (version .. fields), as writeRecord writes them;
 * the table's plan, or null to leave the record to the general path.
 */
function writeRowHead(event: RowChangeEvent, ctx: BuildContext): DirectPlan | null {
  const table = event.table;
  let d = lastDirectPlan;
  if (table !== lastDirectTable || d === null) {
    d = directPlan(table);
    lastDirectTable = table;
    lastDirectPlan = d;
  }
  const source = event.source;
  const operation = event.operation;
  const seconds = source.commitTimestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds >= FAST_LONG) return null;
  const id = ctx.id;
  const version = ctx.sourceVersion;
  if (typeof id !== 'bigint' || typeof version !== 'string') return null;

  if (d.middle === null || version !== d.middleVersion || operation !== d.middleOperation) writeMiddle(d, version, operation);
  if (d.tail === null) writeTail(d);
  const threadId = source.threadId;
  if (threadId !== lastThreadId) {
    lastThreadText = String(threadId);
    lastThreadId = threadId;
  }
  const serverId = source.serverId;
  if (serverId !== lastServerId) {
    lastServerText = String(serverId);
    lastServerId = serverId;
  }
  const middle = d.middle!;
  reserve(21 + middle.length);
  buf[pos++] = 0; // version
  const n = Number(id);
  if (n > -FAST_LONG && n < FAST_LONG) writeZigZag(n >= 0 ? n * 2 : -n * 2 - 1);
  else writeLong(id, 'id');
  writeZigZag(seconds * 2); // sourceTimestamp
  writeString(positionText(source.position), 'sourcePosition');
  writeString(safePositionText(source.transactionStart), 'safeSourcePosition');
  writeRaw(middle);
  writeString(lastThreadText, 'tags');
  writeRaw(TAG_SERVER_ID);
  writeString(lastServerText, 'tags');
  writeRaw(TAG_READER_TIME);
  writeString(millisText(ctx.readerTimestampMs), 'tags');
  writeRaw(d.tail!);
  return d;
}

/**
 * Encodes sourceTxid .. the key of thread_id field by field, as writeRecord writes them,
 * and keeps the bytes in `d` for the rows that follow (written after the end of the record
 * so far, copied out, and dropped from the slab again).
 */
function writeMiddle(d: DirectPlan, version: string, operation: string): void {
  const plan = d.plan;
  // Relative to the record: writing may move the record to a larger buffer.
  const offset = pos - start;
  writeRaw(SOURCE_TXID);
  writeEnum(SOURCE_TYPES, 'MySQL', 'source.sourceType');
  writeRepeatedString(version, 'source.version');
  writeEnum(OPERATIONS, operation, 'operation');
  writeByte(2);
  writeRepeatedString(plan.objectName, 'objectName');
  writeByte(0); // processTimestamps
  // tags: the four keys of buildRowRecord, in its order
  writeByte(8);
  writeRaw(TAG_PK_UK_INFO);
  writeRepeatedString(plan.pkUkInfo, 'tags.pk_uk_info');
  writeRaw(TAG_THREAD_ID);
  d.middle = Buffer.from(buf.subarray(start + offset, pos));
  d.middleVersion = version;
  d.middleOperation = operation;
  pos = start + offset;
}

/** The end of the tags and the encoded `fields`, kept in `d` as writeMiddle keeps its part. */
function writeTail(d: DirectPlan): void {
  const offset = pos - start;
  writeByte(0); // end of the tags
  writeFields(d.plan.fields);
  d.tail = Buffer.from(buf.subarray(start + offset, pos));
  pos = start + offset;
}

function writeImagesDirect(d: DirectPlan, values: readonly ColumnValue[] | null): boolean {
  if (values === null) {
    writeByte(0);
    return true;
  }
  const items = d.items;
  const n = values.length;
  if (!Array.isArray(values) || n !== items.length) return false;
  writeByte(4);
  if (n > 0) {
    writeCount(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v === null) writeByte(0);
      else if (!writeItem(items[i]!, v)) return false;
    }
  }
  writeByte(0);
  return true;
}

/** An unsigned 32-bit value as a varint (a zig-zag int already applied). */
function writeVarint32(z: number): void {
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * The decimal text of a safe integer as writeString writes String(n): length, then ASCII
 * digits, without making the string when |n| < 2^31.
 */
function writeIntegerText(n: number): void {
  const negative = n < 0;
  const abs = negative ? -n : n;
  if (abs > 0x7fffffff) {
    writeString(String(n), 'Integer.value');
    return;
  }
  let digits = 1;
  while (digits < 10 && abs >= POWERS_OF_TEN[digits]!) digits++;
  const length = negative ? digits + 1 : digits;
  reserve(length + 1);
  buf[pos] = length << 1;
  let at = pos + length;
  pos = at + 1;
  let v = abs;
  do {
    const q = (v / 10) | 0;
    buf[at--] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  if (negative) buf[at] = 45;
}

function isComponent(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

function isMicros(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 999_999;
}

/** One `["null","int"]` DateTime component that is set: branch 1, then the int (n >= 0, checked). */
function writeComponent(n: number): void {
  buf[pos++] = 2;
  writeVarint32((n * 2) >>> 0);
}

const NO_BYTES = Buffer.alloc(0);

/** What writeItem needs of a column, as its value-mapper would map its values. */
function itemPlan(column: ColumnSchema, mapper: ValueMapper): ItemPlan {
  const p = {
    kind: ItemKind.General, a: 0, precision: 0, scale: 0, minNumber: 0, maxNumber: 0, min: 0n, max: 0n, bytes: NO_BYTES, mapper,
  };
  const integer = (width: number): ItemPlan => {
    const bits = BigInt(width * 8);
    const min = column.unsigned ? 0n : -(1n << (bits - 1n));
    const max = column.unsigned ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
    return { ...p, kind: ItemKind.Integer, a: width * 2, min, max, minNumber: Number(min), maxNumber: Number(max) };
  };
  switch (column.type) {
    case 'tinyint': return integer(1);
    case 'smallint': return integer(2);
    case 'mediumint': return integer(3);
    case 'int': return integer(4);
    case 'bigint': return integer(8);
    case 'decimal': return { ...p, kind: ItemKind.Decimal };
    case 'float':
    case 'double':
      return { ...p, kind: ItemKind.Float, a: column.type === 'float' ? 1 : 0, precision: column.precision ?? 0, scale: column.scale ?? 0 };
    case 'timestamp': return { ...p, kind: ItemKind.Timestamp };
    case 'datetime': return { ...p, kind: ItemKind.DateTime };
    case 'date': return { ...p, kind: ItemKind.Date };
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return { ...p, kind: ItemKind.Character, bytes: stringBytes(dtsCharset(column)), a: column.type === 'binary' ? column.length ?? 0 : 0 };
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return { ...p, kind: ItemKind.BinaryObject, bytes: stringBytes('TEXT') };
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return { ...p, kind: ItemKind.BinaryObject, bytes: stringBytes('BLOB') };
    case 'json':
    case 'enum':
    case 'set':
      return { ...p, kind: ItemKind.TextObject, bytes: stringBytes(column.type.toUpperCase()) };
    default:
      // BIT, TIME, YEAR, geometry, UUID, INET: their mapper's item, written as encodeRecord writes it.
      return p;
  }
}

/**
 * One non-null image item: the checks of the column's value-mapper, then the bytes
 * writeImageValue writes for the item the mapper makes. False for a value the mapper
 * would refuse (or one left to the general path).
 */
function writeItem(p: ItemPlan, v: NonNullable<ColumnValue>): boolean {
  switch (p.kind) {
    case ItemKind.Integer: {
      if (typeof v !== 'bigint') return false;
      const n = Number(v);
      if (Number.isSafeInteger(n)) {
        if (n < p.minNumber || n > p.maxNumber) return false;
        reserve(2);
        buf[pos++] = 2;
        buf[pos++] = p.a;
        writeIntegerText(n);
        return true;
      }
      if (v < p.min || v > p.max) return false;
      reserve(2);
      buf[pos++] = 2;
      buf[pos++] = p.a;
      writeString(v.toString(), 'Integer.value');
      return true;
    }
    case ItemKind.Decimal:
      if (typeof v !== 'string' || !scanDecimal(v)) return false;
      writeByte(6);
      writeString(v, 'Decimal.value');
      writeInt(scannedPrecision, 'Decimal.precision');
      writeInt(scannedScale, 'Decimal.scale');
      return true;
    case ItemKind.Float: {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      const value = p.a === 1 ? shortestFloat32(v) : v;
      if (!Number.isFinite(value)) return false;
      writeByte(8);
      writeDouble(value, 'Float.value');
      writeInt(p.precision, 'Float.precision');
      writeInt(p.scale, 'Float.scale');
      return true;
    }
    case ItemKind.Timestamp: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'timestamp') return false;
      const t = v as TimestampValue;
      const seconds = t.epochSeconds;
      if (!Number.isSafeInteger(seconds) || seconds < 0 || !isMicros(t.micros)) return false;
      writeByte(10);
      if (seconds < FAST_LONG) writeZigZag(seconds * 2);
      else writeLong(BigInt(seconds), 'Timestamp.timestamp');
      writeInt(t.micros, 'Timestamp.millis');
      return true;
    }
    case ItemKind.DateTime: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'temporal') return false;
      const t = v as TemporalValue;
      if (t.negative || !isComponent(t.year) || !isComponent(t.month) || !isComponent(t.day)) return false;
      const micros = t.micros ?? 0;
      if (!isComponent(t.hour) || !isComponent(t.minute) || !isComponent(t.second) || !isMicros(micros)) return false;
      reserve(43);
      buf[pos++] = 12;
      writeComponent(t.year);
      writeComponent(t.month);
      writeComponent(t.day);
      writeComponent(t.hour);
      writeComponent(t.minute);
      writeComponent(t.second);
      writeComponent(micros);
      return true;
    }
    case ItemKind.Date: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'temporal') return false;
      const t = v as TemporalValue;
      if (t.negative || !isComponent(t.year) || !isComponent(t.month) || !isComponent(t.day)) return false;
      reserve(23);
      buf[pos++] = 12;
      writeComponent(t.year);
      writeComponent(t.month);
      writeComponent(t.day);
      buf[pos++] = 0; // hour, minute, second, millis: null
      buf[pos++] = 0;
      buf[pos++] = 0;
      buf[pos++] = 0;
      return true;
    }
    case ItemKind.Character:
      // A BINARY value shorter than its width is padded by the mapper: left to the general path.
      if (!Buffer.isBuffer(v) || v.length < p.a) return false;
      writeByte(4);
      writeRaw(p.bytes);
      writeBytes(v, 'Character.value');
      return true;
    case ItemKind.BinaryObject:
      if (!Buffer.isBuffer(v)) return false;
      writeByte(20);
      writeRaw(p.bytes);
      writeBytes(v, 'BinaryObject.value');
      return true;
    case ItemKind.TextObject:
      if (typeof v !== 'string') return false;
      writeByte(22);
      writeRaw(p.bytes);
      writeString(v, 'TextObject.value');
      return true;
    default:
      writeImageValue(p.mapper(v));
      return true;
  }
}

/*
 * The text path. The full-data sync reads rows over the text protocol (snapshot/
 * chunk-query.ts): each field arrives as the server's text of the value. Making a value of
 * it (a bigint, a temporal object, a Buffer view) only for writeItem to take it apart again
 * was most of a snapshot row's cost, so an INIT record is written here from the field bytes
 * themselves, for the column kinds whose text is already what the item holds: integers
 * (their decimal digits), decimals (the digits, precision and scale read off them),
 * DATETIME (its components), and character, text and blob columns (their bytes). Any other
 * column takes the value `valueAt` makes of its field and writeItem; a field whose text
 * is not in the expected shape (a ZEROFILL integer's leading zeros, say) does too. So the
 * bytes are always those of encodeEvent on the row's exact values
 * (test/unit/dts/encoder-text.test.ts compares the two).
 */

/** A row as the text protocol sends it: field i is buf[starts[i], ends[i]), NULL when starts[i] < 0. */
export interface TextImage {
  readonly buf: Buffer;
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/**
 * The INIT record of `event` (whose `after` is not read) with `image` as its after image;
 * the same bytes as encodeEvent of the event with the row's exact values as `after`.
 * `valueAt(i)` is the exact value of non-NULL field i. Null when the row needs the general
 * path (encodeEvent with its values), which then writes it or gives its error.
 */
export function encodeInitText(event: RowChangeEvent, image: TextImage, ctx: BuildContext, valueAt: (i: number) => ColumnValue): Buffer | null {
  if (event.operation !== 'INIT' || event.before !== null) return null;
  pos = start;
  if (writeInitText(event, image, ctx, valueAt)) return finishRecord();
  pos = start;
  return null;
}

/**
 * encodeInitText written into `out` from `at` to at most its end, instead of a slab, so
 * that the caller (a chunk of the full-data sync) needs no copy of its own. Returns where
 * the record ends, or -1 when the row needs the general path or `out` has too little room
 * (nothing of use is then in `out`).
 */
export function encodeInitTextInto(out: Buffer, at: number, event: RowChangeEvent, image: TextImage, ctx: BuildContext,
  valueAt: (i: number) => ColumnValue): number {
  if (event.operation !== 'INIT' || event.before !== null) return -1;
  const slab = buf;
  const slabStart = start;
  // The record is written into `out` as if it were the slab: a record that would need more
  // room makes reserve() move it to a buffer of its own, which shows here.
  buf = out;
  start = at;
  pos = at;
  const written = writeInitText(event, image, ctx, valueAt);
  const end = pos;
  const stayed = buf === out;
  buf = slab;
  start = slabStart;
  pos = slabStart;
  return written && stayed ? end : -1;
}

// The fields before the images are the same for every row of a chunk: the last ones written
// are kept with what they were written from, and copied while that stays the same.
let initHead: Buffer = Buffer.alloc(0);
let initPlan: DirectPlan | null = null;
let initTable: TableSchema | null = null;
let initId = -1n;
let initVersion = '';
let initReaderMs = -1;
let initCommit = -1;
let initFile = '';
let initPosition = -1;
let initTxFile = '';
let initTxPosition = -1;
let initThreadId: unknown = undefined;
let initServerId: unknown = undefined;

function writeInitText(event: RowChangeEvent, image: TextImage, ctx: BuildContext, valueAt: (i: number) => ColumnValue): boolean {
  try {
    const s = event.source;
    let d: DirectPlan | null;
    if (event.table === initTable && initPlan !== null && ctx.id === initId && ctx.sourceVersion === initVersion && ctx.readerTimestampMs === initReaderMs
      && s.commitTimestamp === initCommit && s.position.file === initFile && s.position.position === initPosition
      && s.transactionStart.file === initTxFile && s.transactionStart.position === initTxPosition && s.threadId === initThreadId && s.serverId === initServerId) {
      writeRaw(initHead);
      d = initPlan;
    } else {
      const offset = pos - start;
      d = writeRowHead(event, ctx);
      if (d === null) return false;
      initHead = Buffer.from(buf.subarray(start + offset, pos));
      initPlan = d;
      initTable = event.table;
      initId = ctx.id;
      initVersion = ctx.sourceVersion;
      initReaderMs = ctx.readerTimestampMs;
      initCommit = s.commitTimestamp;
      initFile = s.position.file;
      initPosition = s.position.position;
      initTxFile = s.transactionStart.file;
      initTxPosition = s.transactionStart.position;
      initThreadId = s.threadId;
      initServerId = s.serverId;
    }
    writeByte(0); // beforeImages: null
    if (!writeTextImage(d, image, valueAt)) return false;
    writeZigZag(s.commitTimestamp * 2); // bornTimestamp
    return true;
  } catch {
    return false;
  }
}

function writeTextImage(d: DirectPlan, image: TextImage, valueAt: (i: number) => ColumnValue): boolean {
  const items = d.items;
  const n = items.length;
  if (image.count !== n) return false;
  const { buf: b, starts, ends } = image;
  writeByte(4);
  if (n > 0) {
    writeCount(n);
    for (let i = 0; i < n; i++) {
      const s = starts[i]!;
      if (s < 0) {
        writeByte(0);
        continue;
      }
      if (writeTextItem(items[i]!, b, s, ends[i]!)) continue;
      const v = valueAt(i);
      if (v === null || !writeItem(items[i]!, v)) return false;
    }
  }
  writeByte(0);
  return true;
}

/** Field b[s, e) written as its item when its kind and text allow; false to leave it to writeItem. */
function writeTextItem(p: ItemPlan, b: Buffer, s: number, e: number): boolean {
  switch (p.kind) {
    case ItemKind.Integer: {
      if (!integerInRange(p, b, s, e)) return false;
      reserve(e - s + 3);
      buf[pos++] = 2;
      buf[pos++] = p.a;
      buf[pos++] = (e - s) << 1; // at most 20 characters: one varint byte
      copyField(b, s, e);
      return true;
    }
    case ItemKind.Decimal: {
      if (!scanDecimalBytes(b, s, e)) return false;
      writeByte(6);
      writeCount(e - s);
      copyField(b, s, e);
      writeInt(scannedPrecision, 'Decimal.precision');
      writeInt(scannedScale, 'Decimal.scale');
      return true;
    }
    case ItemKind.DateTime:
      return writeDateTimeText(b, s, e);
    case ItemKind.Character:
      if (e - s < p.a) return false; // a short BINARY value: padded by its mapper
      writeByte(4);
      writeRaw(p.bytes);
      writeCount(e - s);
      copyField(b, s, e);
      return true;
    case ItemKind.BinaryObject:
      writeByte(20);
      writeRaw(p.bytes);
      writeCount(e - s);
      copyField(b, s, e);
      return true;
    default:
      return false;
  }
}

/** Below this a field is copied by hand: Buffer.copy's own checks cost more than the bytes. */
const SHORT_FIELD = 64;

function copyField(b: Buffer, s: number, e: number): void {
  const n = e - s;
  reserve(n);
  if (n < SHORT_FIELD) {
    const out = buf;
    const at = pos - s;
    for (let i = s; i < e; i++) out[at + i] = b[i]!;
  } else {
    b.copy(buf, pos, s, e);
  }
  pos += n;
}

/**
 * True when b[s, e) is an integer as String(bigint) prints it (no leading zero, no "-0",
 * no sign but a minus) and within the column's range: then its text is the item's value.
 */
function integerInRange(p: ItemPlan, b: Buffer, s: number, e: number): boolean {
  const negative = b[s] === 0x2d;
  const first = negative ? s + 1 : s;
  const digits = e - first;
  if (digits < 1 || digits > 15) return false; // longer ones: the bigint checks of writeItem
  if (b[first] === 0x30 && (digits > 1 || negative)) return false;
  let v = 0;
  for (let i = first; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  if (negative) v = -v;
  return v >= p.minNumber && v <= p.maxNumber;
}

/** `YYYY-MM-DD HH:MM:SS[.f…]` as a DateTime item; false when the text has another shape. */
function writeDateTimeText(b: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n < 19 || n > 26 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x20 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a) return false;
  let micros = 0;
  if (n > 19) {
    if (b[s + 19] !== 0x2e || n === 20) return false;
    const fraction = digitsAt(b, s + 20, n - 20);
    if (fraction < 0) return false;
    micros = fraction * POWERS_OF_TEN[26 - n]!;
  }
  const year = digitsAt(b, s, 4);
  const month = digitsAt(b, s + 5, 2);
  const day = digitsAt(b, s + 8, 2);
  const hour = digitsAt(b, s + 11, 2);
  const minute = digitsAt(b, s + 14, 2);
  const second = digitsAt(b, s + 17, 2);
  if ((year | month | day | hour | minute | second) < 0) return false;
  reserve(43);
  buf[pos++] = 12;
  writeComponent(year);
  writeComponent(month);
  writeComponent(day);
  writeComponent(hour);
  writeComponent(minute);
  writeComponent(second);
  writeComponent(micros);
  return true;
}
