/**
 * The fast row path. A row record of the pipeline is written straight from its
 * RowChangeEvent: record-builder's buildRowRecord makes a Record object, a tags object and
 * two objects per column value, which writeRecord (record-writer.ts) then takes apart again
 * (Object.keys per image item and a switch on its branch name, a string per integer), and
 * that made up most of the encoding time. Here each column has a writer chosen once per
 * table (directPlan) that checks the value exactly as its value-mapper does and writes the
 * item the mapper and writeImageValue would have written; the other fields are written in
 * schema order as writeRecord writes buildRowRecord's values.
 *
 * A value this path does not write itself makes it return false, and encodeEvent
 * (dts-avro-format.ts) then takes the general path, so the bytes and the errors are always
 * those of buildRecord + writeRecord (test/unit/dts/golden.test.ts and round-trip.test.ts
 * pin them). It throws InvalidValue for a value the schema cannot hold, which the general
 * path reports with the record's id; any other error is a fault, not a fallback. Pure.
 */
import type { BinlogPosition } from '../model/binlog-position.ts';
import type { RowChangeEvent } from '../model/change-event.ts';
import type { ColumnValue, TemporalValue, TimestampValue } from '../model/column-value.ts';
import type { ColumnSchema, TableSchema } from '../model/table-schema.ts';
import { scanDecimal, scannedPrecision, scannedScale } from './ascii-number.ts';
import { type AvroWriter, FAST_LONG, stringBytes } from './avro-writer.ts';
import { type BuildContext, formatPosition, millisText, planFor, type TablePlan } from './record-builder.ts';
import { OPERATIONS, SOURCE_TYPES, writeFields, writeImageValue } from './record-writer.ts';
import { dtsCharset, shortestFloat32, type ValueMapper } from './value-mapper.ts';

/**
 * How one column's image items are written, settled per table: the item kind and what it
 * needs. Every column has an object of this one shape, so writeItem reads them all alike.
 */
export interface ItemPlan {
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

export const enum ItemKind { Integer, Decimal, Float, Timestamp, DateTime, Date, Character, BinaryObject, TextObject, General }

export interface DirectPlan {
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

const TAG_PK_UK_INFO = stringBytes('pk_uk_info');
const TAG_TEXT_CHARSETS = stringBytes('text_charsets');
const TAG_THREAD_ID = stringBytes('thread_id');
const TAG_SERVER_ID = stringBytes('server_id');
const TAG_READER_TIME = stringBytes('readerThroughoutTime');
const SOURCE_TXID = stringBytes('0');

// Caches of what the last row was written from (not of any writer's bytes): the last
// table's plan; the last positions written and their text (the rows of one binlog event
// share their position, the rows of one transaction their start); the thread and server ids.
let lastDirectTable: TableSchema | null = null;
let lastDirectPlan: DirectPlan | null = null;
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
export function writeRowDirect(w: AvroWriter, event: RowChangeEvent, ctx: BuildContext): boolean {
  const operation = event.operation;
  const hasBefore = operation === 'UPDATE' || operation === 'DELETE';
  const hasAfter = operation !== 'DELETE';
  if ((event.before !== null) !== hasBefore || (event.after !== null) !== hasAfter) return false;
  const d = writeRowHead(w, event, ctx);
  if (d === null) return false;
  if (!writeImagesDirect(w, d, event.before)) return false;
  if (!writeImagesDirect(w, d, event.after)) return false;
  w.writeZigZag(event.source.commitTimestamp * 2); // bornTimestamp
  return true;
}

/**
 * A row record's fields up to its images (version .. fields), as writeRecord writes them;
 * the table's plan, or null to leave the record to the general path.
 */
export function writeRowHead(w: AvroWriter, event: RowChangeEvent, ctx: BuildContext): DirectPlan | null {
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

  if (d.middle === null || version !== d.middleVersion || operation !== d.middleOperation) writeMiddle(w, d, version, operation);
  if (d.tail === null) writeTail(w, d);
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
  w.reserve(21 + middle.length);
  w.buf[w.pos++] = 0; // version
  const n = Number(id);
  if (n > -FAST_LONG && n < FAST_LONG) w.writeZigZag(n >= 0 ? n * 2 : -n * 2 - 1);
  else w.writeLong(id, 'id');
  w.writeZigZag(seconds * 2); // sourceTimestamp
  w.writeString(positionText(source.position), 'sourcePosition');
  w.writeString(safePositionText(source.transactionStart), 'safeSourcePosition');
  w.writeRaw(middle);
  w.writeString(lastThreadText, 'tags');
  w.writeRaw(TAG_SERVER_ID);
  w.writeString(lastServerText, 'tags');
  w.writeRaw(TAG_READER_TIME);
  w.writeString(millisText(ctx.readerTimestampMs), 'tags');
  w.writeRaw(d.tail!);
  return d;
}

/**
 * Encodes sourceTxid .. the key of thread_id field by field, as writeRecord writes them,
 * and keeps the bytes in `d` for the rows that follow (written after the end of the record
 * so far, copied out, and dropped from the buffer again).
 */
function writeMiddle(w: AvroWriter, d: DirectPlan, version: string, operation: string): void {
  const plan = d.plan;
  const offset = w.offset;
  w.writeRaw(SOURCE_TXID);
  w.writeEnum(SOURCE_TYPES, 'MySQL', 'source.sourceType');
  w.writeRepeatedString(version, 'source.version');
  w.writeEnum(OPERATIONS, operation, 'operation');
  w.writeByte(2);
  w.writeRepeatedString(plan.objectName, 'objectName');
  w.writeByte(0); // processTimestamps
  // tags: the keys of buildRowRecord, in its order (text_charsets only for some tables)
  w.writeByte(plan.textCharsets === null ? 8 : 10);
  w.writeRaw(TAG_PK_UK_INFO);
  w.writeRepeatedString(plan.pkUkInfo, 'tags.pk_uk_info');
  if (plan.textCharsets !== null) {
    w.writeRaw(TAG_TEXT_CHARSETS);
    w.writeString(plan.textCharsets, 'tags.text_charsets');
  }
  w.writeRaw(TAG_THREAD_ID);
  d.middle = w.copySince(offset);
  d.middleVersion = version;
  d.middleOperation = operation;
  w.rewind(offset);
}

/** The end of the tags and the encoded `fields`, kept in `d` as writeMiddle keeps its part. */
function writeTail(w: AvroWriter, d: DirectPlan): void {
  const offset = w.offset;
  w.writeByte(0); // end of the tags
  writeFields(w, d.plan.fields);
  d.tail = w.copySince(offset);
  w.rewind(offset);
}

function writeImagesDirect(w: AvroWriter, d: DirectPlan, values: readonly ColumnValue[] | null): boolean {
  if (values === null) {
    w.writeByte(0);
    return true;
  }
  const items = d.items;
  const n = values.length;
  if (!Array.isArray(values) || n !== items.length) return false;
  w.writeByte(4);
  if (n > 0) {
    w.writeCount(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v === null) w.writeByte(0);
      else if (!writeItem(w, items[i]!, v)) return false;
    }
  }
  w.writeByte(0);
  return true;
}

export const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * The decimal text of a safe integer as writeString writes String(n): length, then ASCII
 * digits, without making the string when |n| < 2^31.
 */
function writeIntegerText(w: AvroWriter, n: number): void {
  const negative = n < 0;
  const abs = negative ? -n : n;
  if (abs > 0x7fffffff) {
    w.writeString(String(n), 'Integer.value');
    return;
  }
  let digits = 1;
  while (digits < 10 && abs >= POWERS_OF_TEN[digits]!) digits++;
  const length = negative ? digits + 1 : digits;
  w.reserve(length + 1);
  const buf = w.buf;
  buf[w.pos] = length << 1;
  let at = w.pos + length;
  w.pos = at + 1;
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

/** One `["null","int"]` DateTime component that is set: branch 1, then the int (n >= 0, checked; room reserved). */
export function writeComponent(w: AvroWriter, n: number): void {
  w.buf[w.pos++] = 2;
  w.writeVarint32((n * 2) >>> 0);
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
      // BIT, TIME, YEAR, geometry, UUID, INET: their mapper's item, written as writeRecord writes it.
      return p;
  }
}

/**
 * One non-null image item: the checks of the column's value-mapper, then the bytes
 * writeImageValue writes for the item the mapper makes. False for a value the mapper
 * would refuse (or one left to the general path).
 */
export function writeItem(w: AvroWriter, p: ItemPlan, v: NonNullable<ColumnValue>): boolean {
  switch (p.kind) {
    case ItemKind.Integer: {
      if (typeof v !== 'bigint') return false;
      const n = Number(v);
      if (Number.isSafeInteger(n)) {
        if (n < p.minNumber || n > p.maxNumber) return false;
        w.reserve(2);
        w.buf[w.pos++] = 2;
        w.buf[w.pos++] = p.a;
        writeIntegerText(w, n);
        return true;
      }
      if (v < p.min || v > p.max) return false;
      w.reserve(2);
      w.buf[w.pos++] = 2;
      w.buf[w.pos++] = p.a;
      w.writeString(v.toString(), 'Integer.value');
      return true;
    }
    case ItemKind.Decimal:
      if (typeof v !== 'string' || !scanDecimal(v)) return false;
      w.writeByte(6);
      w.writeString(v, 'Decimal.value');
      w.writeInt(scannedPrecision, 'Decimal.precision');
      w.writeInt(scannedScale, 'Decimal.scale');
      return true;
    case ItemKind.Float: {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      const value = p.a === 1 ? shortestFloat32(v) : v;
      if (!Number.isFinite(value)) return false;
      w.writeByte(8);
      w.writeDouble(value, 'Float.value');
      w.writeInt(p.precision, 'Float.precision');
      w.writeInt(p.scale, 'Float.scale');
      return true;
    }
    case ItemKind.Timestamp: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'timestamp') return false;
      const t = v as TimestampValue;
      const seconds = t.epochSeconds;
      if (!Number.isSafeInteger(seconds) || seconds < 0 || !isMicros(t.micros)) return false;
      w.writeByte(10);
      if (seconds < FAST_LONG) w.writeZigZag(seconds * 2);
      else w.writeLong(BigInt(seconds), 'Timestamp.timestamp');
      w.writeInt(t.micros, 'Timestamp.millis');
      return true;
    }
    case ItemKind.DateTime: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'temporal') return false;
      const t = v as TemporalValue;
      if (t.negative || !isComponent(t.year) || !isComponent(t.month) || !isComponent(t.day)) return false;
      const micros = t.micros ?? 0;
      if (!isComponent(t.hour) || !isComponent(t.minute) || !isComponent(t.second) || !isMicros(micros)) return false;
      w.reserve(43);
      w.buf[w.pos++] = 12;
      writeComponent(w, t.year);
      writeComponent(w, t.month);
      writeComponent(w, t.day);
      writeComponent(w, t.hour);
      writeComponent(w, t.minute);
      writeComponent(w, t.second);
      writeComponent(w, micros);
      return true;
    }
    case ItemKind.Date: {
      if (typeof v !== 'object' || (v as { kind?: unknown }).kind !== 'temporal') return false;
      const t = v as TemporalValue;
      if (t.negative || !isComponent(t.year) || !isComponent(t.month) || !isComponent(t.day)) return false;
      w.reserve(23);
      w.buf[w.pos++] = 12;
      writeComponent(w, t.year);
      writeComponent(w, t.month);
      writeComponent(w, t.day);
      const buf = w.buf;
      buf[w.pos++] = 0; // hour, minute, second, millis: null
      buf[w.pos++] = 0;
      buf[w.pos++] = 0;
      buf[w.pos++] = 0;
      return true;
    }
    case ItemKind.Character:
      // A BINARY value shorter than its width is padded by the mapper: left to the general path.
      if (!Buffer.isBuffer(v) || v.length < p.a) return false;
      w.writeByte(4);
      w.writeRaw(p.bytes);
      w.writeBytes(v, 'Character.value');
      return true;
    case ItemKind.BinaryObject:
      if (!Buffer.isBuffer(v)) return false;
      w.writeByte(20);
      w.writeRaw(p.bytes);
      w.writeBytes(v, 'BinaryObject.value');
      return true;
    case ItemKind.TextObject:
      if (typeof v !== 'string') return false;
      w.writeByte(22);
      w.writeRaw(p.bytes);
      w.writeString(v, 'TextObject.value');
      return true;
    default:
      return writeMapped(w, p, v);
  }
}

/**
 * A value of a column this path has no writer of its own for: its mapper's item, as
 * writeRecord writes it. A mapper that refuses the value (whatever it throws) leaves the
 * record to the general path, which runs the same mapper and reports its error as
 * ENCODE_FAILED naming the table: the one error this path hands on rather than throws.
 */
function writeMapped(w: AvroWriter, p: ItemPlan, v: NonNullable<ColumnValue>): boolean {
  let item;
  try {
    item = p.mapper(v);
  } catch {
    return false;
  }
  writeImageValue(w, item);
  return true;
}
