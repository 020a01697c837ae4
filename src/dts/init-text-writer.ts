/**
 * The text INIT writer. The full-data sync reads rows over the text protocol (snapshot/
 * chunk-query.ts): each field arrives as the server's text of the value. Making a value of
 * it (a bigint, a temporal object, a Buffer view) only for writeItem to take it apart again
 * was most of a snapshot row's cost, so an INIT record is written here from the field bytes
 * themselves, for the column kinds whose text is already what the item holds: integers
 * (their decimal digits), decimals (the digits, precision and scale read off them),
 * DATETIME (its components), and character, text and blob columns (their bytes). Any other
 * column takes the value `valueAt` makes of its field and writeItem (row-writer.ts); a
 * field whose text is not in the expected shape (a ZEROFILL integer's leading zeros, say)
 * does too. So the bytes are always those of encodeEvent on the row's exact values
 * (test/unit/dts/encoder-text.test.ts compares the two).
 *
 * False leaves the row to the general path (encodeEvent with its exact values), which
 * writes it or gives its error: for a value the fast row path leaves, and when `valueAt`
 * throws (the caller's general path reads the same values and reports that error). It
 * throws InvalidValue as the fast row path does; any other error is a fault. Pure.
 */
import type { RowChangeEvent } from '../model/change-event.ts';
import type { ColumnValue } from '../model/column-value.ts';
import type { TableSchema } from '../model/table-schema.ts';
import { parseTemporalBytes } from '../model/temporal-text.ts';
import { scanDecimalBytes, scannedPrecision, scannedScale } from './ascii-number.ts';
import type { AvroWriter } from './avro-writer.ts';
import type { BuildContext } from './record-builder.ts';
import type { TextImage, ValueAt } from './record-format.ts';
import { type DirectPlan, type ItemPlan, ItemKind, writeComponent, writeItem, writeRowHead } from './row-writer.ts';

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

/** The INIT record of `event` with `image` as its after image (the caller checked it is an INIT without a before image). */
export function writeInitText(w: AvroWriter, event: RowChangeEvent, image: TextImage, ctx: BuildContext, valueAt: ValueAt): boolean {
  const s = event.source;
  let d: DirectPlan | null;
  if (event.table === initTable && initPlan !== null && ctx.id === initId && ctx.sourceVersion === initVersion && ctx.readerTimestampMs === initReaderMs
    && s.commitTimestamp === initCommit && s.position.file === initFile && s.position.position === initPosition
    && s.transactionStart.file === initTxFile && s.transactionStart.position === initTxPosition && s.threadId === initThreadId && s.serverId === initServerId) {
    w.writeRaw(initHead);
    d = initPlan;
  } else {
    const offset = w.offset;
    d = writeRowHead(w, event, ctx);
    if (d === null) return false;
    initHead = w.copySince(offset);
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
  w.writeByte(0); // beforeImages: null
  if (!writeTextImage(w, d, image, valueAt)) return false;
  w.writeZigZag(s.commitTimestamp * 2); // bornTimestamp
  return true;
}

function writeTextImage(w: AvroWriter, d: DirectPlan, image: TextImage, valueAt: ValueAt): boolean {
  const items = d.items;
  const n = items.length;
  if (image.count !== n) return false;
  const { buf: b, starts, ends } = image;
  w.writeByte(4);
  if (n > 0) {
    w.writeCount(n);
    for (let i = 0; i < n; i++) {
      const s = starts[i]!;
      if (s < 0) {
        w.writeByte(0);
        continue;
      }
      if (writeTextItem(w, items[i]!, b, s, ends[i]!)) continue;
      const v = valueOf(valueAt, i);
      if (v === undefined || v === null || !writeItem(w, items[i]!, v)) return false;
    }
  }
  w.writeByte(0);
  return true;
}

/** valueAt(i), or undefined when it throws: the general path reads the value again and reports the error. */
function valueOf(valueAt: ValueAt, i: number): ColumnValue | undefined {
  try {
    return valueAt(i);
  } catch {
    return undefined;
  }
}

/** Field b[s, e) written as its item when its kind and text allow; false to leave it to writeItem. */
function writeTextItem(w: AvroWriter, p: ItemPlan, b: Buffer, s: number, e: number): boolean {
  switch (p.kind) {
    case ItemKind.Integer: {
      if (!integerInRange(p, b, s, e)) return false;
      w.reserve(e - s + 3);
      const buf = w.buf;
      buf[w.pos++] = 2;
      buf[w.pos++] = p.a;
      buf[w.pos++] = (e - s) << 1; // at most 20 characters: one varint byte
      w.writeRange(b, s, e);
      return true;
    }
    case ItemKind.Decimal: {
      if (!scanDecimalBytes(b, s, e)) return false;
      w.writeByte(6);
      w.writeCount(e - s);
      w.writeRange(b, s, e);
      w.writeInt(scannedPrecision, 'Decimal.precision');
      w.writeInt(scannedScale, 'Decimal.scale');
      return true;
    }
    case ItemKind.DateTime:
      return writeDateTimeText(w, b, s, e);
    case ItemKind.Character:
      if (e - s < p.a) return false; // a short BINARY value: padded by its mapper
      w.writeByte(4);
      w.writeRaw(p.bytes);
      w.writeCount(e - s);
      w.writeRange(b, s, e);
      return true;
    case ItemKind.BinaryObject:
      w.writeByte(20);
      w.writeRaw(p.bytes);
      w.writeCount(e - s);
      w.writeRange(b, s, e);
      return true;
    default:
      return false;
  }
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

/** `YYYY-MM-DD HH:MM:SS[.f…]` as a DateTime item (read by the model's one temporal parser); false when the text has another shape. */
function writeDateTimeText(w: AvroWriter, b: Buffer, s: number, e: number): boolean {
  const v = parseTemporalBytes('datetime', b, s, e);
  if (v === null || v.kind !== 'temporal') return false;
  w.reserve(43);
  w.buf[w.pos++] = 12;
  writeComponent(w, v.year!);
  writeComponent(w, v.month!);
  writeComponent(w, v.day!);
  writeComponent(w, v.hour!);
  writeComponent(w, v.minute!);
  writeComponent(w, v.second!);
  writeComponent(w, v.micros!);
  return true;
}
