/**
 * The generic writer: a DtsRecord (record-builder.ts) as the Avro binary of exactly the DTS
 * Record schema, in place of avsc's generic writer: avsc spends most of its time resolving
 * unions per value and writing short strings a character at a time, which kept a 10-column
 * INSERT far below 250,000 rows/s. The bytes are the same as recordType.toBuffer's;
 * test/unit/dts/encoder.test.ts compares the two on every kind of value and on random
 * records. One deliberate difference: a lone UTF-16 surrogate in a string of up to 64
 * bytes, which avsc writes as invalid UTF-8 (ED A0 80), is written as U+FFFD, as Buffer
 * writes it and as avsc does in longer strings. The field order below is the schema's; the
 * check at module load stops a schema edit from going unnoticed. Pure.
 *
 * The parts the fast row path (row-writer.ts) shares are exported: the enum symbol tables,
 * the image item writer and the `fields` writer.
 */
import { recordType } from './avro-schema.ts';
import { type AvroWriter, invalid, InvalidValue } from './avro-writer.ts';
import type {
  DtsBinaryGeometry, DtsBinaryObject, DtsCharacter, DtsDateTime, DtsDecimal, DtsField, DtsFloat,
  DtsImageValue, DtsInteger, DtsRecord, DtsTextGeometry, DtsTextObject, DtsTimestamp, DtsTimestampWithTimeZone,
} from './dts-record.ts';

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
function symbolIndex(symbols: readonly string[] | undefined): ReadonlyMap<string, number> {
  return new Map((symbols ?? []).map((s, i) => [s, i]));
}
export const OPERATIONS = symbolIndex(field('operation').symbols);
export const SOURCE_TYPES = symbolIndex(field('source').fields?.find((f) => f.name === 'sourceType')?.type.symbols);
const EMPTY_OBJECT_SYMBOLS = new Map([['NULL', 0], ['NONE', 1]]);

// Encoded `fields` arrays by array: record-builder freezes the one array (and its Field
// objects) that all rows of a table share, so a frozen list is worth keeping.
const encodedFields = new WeakMap<readonly DtsField[], Buffer>();

/**
 * A string or enum symbol at one place of the record that is mostly the same as in the
 * record before (the operation, the server version, the table): a comparison with the
 * last one is cheaper than any lookup. A cache of bytes, valid for every writer.
 */
class LastValue {
  value: string | undefined = undefined;
  bytes: Uint8Array = new Uint8Array(0);
}

function writeLastEnum(w: AvroWriter, last: LastValue, symbols: ReadonlyMap<string, number>, symbol: string, what: string): void {
  if (symbol !== last.value) {
    const index = symbols.get(symbol);
    if (index === undefined) throw invalid(what, symbol);
    last.bytes = Uint8Array.of(index * 2);
    last.value = symbol;
  }
  w.writeByte(last.bytes[0]);
}

function writeLastString(w: AvroWriter, last: LastValue, s: string, what: string): void {
  if (s !== last.value) {
    const offset = w.offset;
    w.writeRepeatedString(s, what);
    last.bytes = w.copySince(offset);
    last.value = s;
    return;
  }
  w.writeRaw(last.bytes);
}

const lastSourceType = new LastValue();
const lastVersion = new LastValue();
const lastOperation = new LastValue();
const lastObjectName = new LastValue();
const lastPkUkInfo = new LastValue();
/** by position in the tags: records of a kind write the same keys in the same order */
const lastTagKeys: LastValue[] = [];

/** `["null", "int"]`, as each DateTime component is. */
function writeOptionalInt(w: AvroWriter, n: number | null, what: string): void {
  if (n === null) {
    w.writeByte(0);
  } else {
    w.writeByte(2);
    w.writeInt(n, what);
  }
}

function writeDateTime(w: AvroWriter, d: DtsDateTime): void {
  if (typeof d !== 'object' || d === null) throw invalid('DateTime', d);
  writeOptionalInt(w, d.year, 'DateTime.year');
  writeOptionalInt(w, d.month, 'DateTime.month');
  writeOptionalInt(w, d.day, 'DateTime.day');
  writeOptionalInt(w, d.hour, 'DateTime.hour');
  writeOptionalInt(w, d.minute, 'DateTime.minute');
  writeOptionalInt(w, d.second, 'DateTime.second');
  writeOptionalInt(w, d.millis, 'DateTime.millis');
}

/** One image item: the union index (zig-zag, so 2 * index) and the branch's record. */
export function writeImageValue(w: AvroWriter, item: DtsImageValue): void {
  if (item === null) {
    w.writeByte(0);
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
      w.writeByte(2);
      w.writeInt(x.precision, 'Integer.precision');
      w.writeString(x.value, 'Integer.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Character': {
      const x = v as DtsCharacter;
      w.writeByte(4);
      w.writeString(x.charset, 'Character.charset');
      w.writeBytes(x.value, 'Character.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Decimal': {
      const x = v as DtsDecimal;
      w.writeByte(6);
      w.writeString(x.value, 'Decimal.value');
      w.writeInt(x.precision, 'Decimal.precision');
      w.writeInt(x.scale, 'Decimal.scale');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Float': {
      const x = v as DtsFloat;
      w.writeByte(8);
      w.writeDouble(x.value, 'Float.value');
      w.writeInt(x.precision, 'Float.precision');
      w.writeInt(x.scale, 'Float.scale');
      return;
    }
    case 'com.alibaba.dts.formats.avro.Timestamp': {
      const x = v as DtsTimestamp;
      w.writeByte(10);
      w.writeLong(x.timestamp, 'Timestamp.timestamp');
      w.writeInt(x.millis, 'Timestamp.millis');
      return;
    }
    case 'com.alibaba.dts.formats.avro.DateTime':
      w.writeByte(12);
      writeDateTime(w, v as DtsDateTime);
      return;
    case 'com.alibaba.dts.formats.avro.TimestampWithTimeZone': {
      const x = v as DtsTimestampWithTimeZone;
      w.writeByte(14);
      writeDateTime(w, x.value);
      w.writeRepeatedString(x.timezone, 'TimestampWithTimeZone.timezone');
      return;
    }
    case 'com.alibaba.dts.formats.avro.BinaryGeometry': {
      const x = v as DtsBinaryGeometry;
      w.writeByte(16);
      w.writeString(x.type, 'BinaryGeometry.type');
      w.writeBytes(x.value, 'BinaryGeometry.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.TextGeometry': {
      const x = v as DtsTextGeometry;
      w.writeByte(18);
      w.writeString(x.type, 'TextGeometry.type');
      w.writeString(x.value, 'TextGeometry.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.BinaryObject': {
      const x = v as DtsBinaryObject;
      w.writeByte(20);
      w.writeString(x.type, 'BinaryObject.type');
      w.writeBytes(x.value, 'BinaryObject.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.TextObject': {
      const x = v as DtsTextObject;
      w.writeByte(22);
      w.writeString(x.type, 'TextObject.type');
      w.writeString(x.value, 'TextObject.value');
      return;
    }
    case 'com.alibaba.dts.formats.avro.EmptyObject':
      w.writeByte(24);
      w.writeEnum(EMPTY_OBJECT_SYMBOLS, v as string, 'EmptyObject');
      return;
    default:
      throw invalid('image value branch', branch);
  }
}

/** `fields`, `beforeImages` and `afterImages` are all `["null", "string", {array}]`. */
function writeArrayUnion<T>(w: AvroWriter, value: readonly T[] | string | null, what: string,
  writeItem: (w: AvroWriter, item: T) => void): void {
  if (value === null) {
    w.writeByte(0);
  } else if (typeof value === 'string') {
    w.writeByte(2);
    w.writeString(value, what);
  } else if (Array.isArray(value)) {
    w.writeByte(4);
    const n = value.length;
    if (n > 0) {
      w.writeCount(n);
      for (let i = 0; i < n; i++) {
        try {
          writeItem(w, value[i]);
        } catch (e) {
          throw e instanceof InvalidValue ? new InvalidValue(`${what}[${i}] ${e.message}`) : e;
        }
      }
    }
    w.writeByte(0);
  } else {
    throw invalid(what, value);
  }
}

function writeField(w: AvroWriter, f: DtsField): void {
  if (typeof f !== 'object' || f === null) throw invalid('Field', f);
  w.writeString(f.name, 'Field.name');
  w.writeInt(f.dataTypeNumber, 'Field.dataTypeNumber');
}

export function writeFields(w: AvroWriter, fields: readonly DtsField[] | string | null): void {
  if (!Array.isArray(fields) || !Object.isFrozen(fields)) {
    writeArrayUnion(w, fields, 'fields', writeField);
    return;
  }
  const list = fields as readonly DtsField[];
  const encoded = encodedFields.get(list);
  if (encoded === undefined) {
    const offset = w.offset;
    writeArrayUnion(w, list, 'fields', writeField);
    // Only a list that cannot change, down to its Field objects, may be written from memory.
    if (list.every((f) => Object.isFrozen(f))) encodedFields.set(list, w.copySince(offset));
    return;
  }
  w.writeRaw(encoded);
}

function writeTags(w: AvroWriter, tags: { readonly [key: string]: string }): void {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw invalid('tags', tags);
  const keys = Object.keys(tags);
  if (keys.length > 0) {
    w.writeCount(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (i >= lastTagKeys.length) lastTagKeys.push(new LastValue());
      writeLastString(w, lastTagKeys[i], key, 'tags key');
      // pk_uk_info is the one long tag value that repeats; the others change per record.
      if (key === 'pk_uk_info') writeLastString(w, lastPkUkInfo, tags[key], 'tags.pk_uk_info');
      else if (typeof tags[key] === 'string') w.writeString(tags[key], 'tags');
      else throw invalid(`tags.${key}`, tags[key]);
    }
  }
  w.writeByte(0);
}

/** The record, field by field; throws InvalidValue for a value the schema cannot hold. */
export function writeRecord(w: AvroWriter, r: DtsRecord): void {
  if (typeof r !== 'object' || r === null) throw invalid('record', r);
  w.writeInt(r.version, 'version');
  w.writeLong(r.id, 'id');
  w.writeLong(r.sourceTimestamp, 'sourceTimestamp');
  w.writeString(r.sourcePosition, 'sourcePosition');
  w.writeString(r.safeSourcePosition, 'safeSourcePosition');
  w.writeRepeatedString(r.sourceTxid, 'sourceTxid');
  if (typeof r.source !== 'object' || r.source === null) throw invalid('source', r.source);
  writeLastEnum(w, lastSourceType, SOURCE_TYPES, r.source.sourceType, 'source.sourceType');
  writeLastString(w, lastVersion, r.source.version, 'source.version');
  writeLastEnum(w, lastOperation, OPERATIONS, r.operation, 'operation');
  if (r.objectName === null) {
    w.writeByte(0);
  } else {
    w.writeByte(2);
    writeLastString(w, lastObjectName, r.objectName, 'objectName');
  }
  if (r.processTimestamps === null) {
    w.writeByte(0);
  } else {
    w.writeByte(2);
    if (!Array.isArray(r.processTimestamps)) throw invalid('processTimestamps', r.processTimestamps);
    if (r.processTimestamps.length > 0) {
      w.writeCount(r.processTimestamps.length);
      for (const t of r.processTimestamps) w.writeLong(t, 'processTimestamps[]');
    }
    w.writeByte(0);
  }
  writeTags(w, r.tags);
  writeFields(w, r.fields);
  writeArrayUnion(w, r.beforeImages, 'beforeImages', writeImageValue);
  writeArrayUnion(w, r.afterImages, 'afterImages', writeImageValue);
  w.writeLong(r.bornTimestamp, 'bornTimestamp');
}
