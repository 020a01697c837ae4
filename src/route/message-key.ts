/**
 * The Kafka message key of a row change: its key columns' values (primary key, else the
 * NOT NULL unique key), so that consumers can compact or route by row. The form is a
 * JSON array of the values as text (`["42"]`, `["eu","7"]`): readable, unambiguous for
 * composite keys, and the same bytes for the same row whatever the operation. Binary key
 * values are written as hex. Pure.
 */
import type { RowChangeEvent } from '../model/change-event.ts';
import { isTemporalValue, isTimestampValue, type ColumnValue } from '../model/column-value.ts';
import { rowKey, type TableSchema } from '../model/table-schema.ts';

const keyIndexes = new WeakMap<TableSchema, number[] | null>();

// The rows of a stream mostly come from one table at a time: its indexes are kept at hand.
let lastSchema: TableSchema | null = null;
let lastIndexes: number[] | null = null;

function indexesOf(schema: TableSchema): number[] | null {
  if (schema === lastSchema) return lastIndexes;
  let ix = keyIndexes.get(schema);
  if (ix === undefined) {
    const key = rowKey(schema);
    ix = key ? key.columns.map((name) => schema.columns.findIndex((c) => c.name === name)) : null;
    if (ix && ix.some((i) => i < 0)) ix = null;
    keyIndexes.set(schema, ix);
  }
  lastSchema = schema;
  lastIndexes = ix;
  return ix;
}

const INTEGER_TYPES: ReadonlySet<string> = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/**
 * The index of the table's key column when the key is that one integer column, else -1:
 * then a row's key is `["<digits>"]`, the column's value in decimal, and one written from
 * the column's text (writeIntegerKeyText) is the key messageKey makes.
 */
export function integerKeyColumn(schema: TableSchema): number {
  const ix = indexesOf(schema);
  return ix !== null && ix.length === 1 && INTEGER_TYPES.has(schema.columns[ix[0]!]!.type) ? ix[0]! : -1;
}

export function messageKey(event: RowChangeEvent): Buffer | null {
  const ix = indexesOf(event.table);
  const image = event.after ?? event.before;
  if (!ix || !image) return null;
  // The common key, one integer column, written straight: `["42"]` needs no escaping.
  if (ix.length === 1) {
    const v = image[ix[0]!];
    if (typeof v === 'bigint') return integerKey(v);
  }
  const parts = ix.map((i) => keyText(image[i]!, event.table.columns[i]!.charset));
  return Buffer.from(JSON.stringify(parts));
}

function keyText(v: ColumnValue, charset: string | null): string | null {
  if (v === null) return null;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string') return String(v);
  if (Buffer.isBuffer(v)) return charset && charset !== 'binary' ? v.toString('utf8') : v.toString('hex');
  if (isTimestampValue(v)) return `${v.epochSeconds}.${String(v.micros).padStart(6, '0')}`;
  if (isTemporalValue(v)) return JSON.stringify(v);
  return String(v);
}

/** `["<digits>"]` of an integer, as JSON.stringify([String(v)]) writes it, in ASCII. */
function integerKey(v: bigint): Buffer {
  const n = Number(v);
  if (!(n > -0x80000000 && n < 0x80000000)) return Buffer.from(`["${v.toString()}"]`, 'latin1');
  // Digits written straight into the key, without a string in between.
  const negative = n < 0;
  let abs = negative ? -n : n;
  let digits = 1;
  while (digits < 10 && abs >= POWERS_OF_TEN[digits]!) digits++;
  const length = (negative ? 1 : 0) + digits;
  const out = Buffer.allocUnsafe(length + INTEGER_KEY_FRAME);
  openIntegerKey(out, 0);
  let at = length + 1;
  do {
    const q = (abs / 10) | 0;
    out[at--] = 48 + (abs - q * 10);
    abs = q;
  } while (abs > 0);
  if (negative) out[2] = 0x2d; // -
  closeIntegerKey(out, length + 2);
  return out;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** The bytes an integer key adds around its digits: `["` and `"]`. */
export const INTEGER_KEY_FRAME = 4;

function openIntegerKey(b: Uint8Array, p: number): void {
  b[p] = 0x5b; // [
  b[p + 1] = 0x22; // "
}

function closeIntegerKey(b: Uint8Array, p: number): void {
  b[p] = 0x22; // "
  b[p + 1] = 0x5d; // ]
}

/**
 * The key of a row whose one integer key column has the decimal text text[s, e), written
 * at b[p] without a Buffer in between (the snapshot's worker-side keys): the bytes
 * messageKey makes of that integer, when the text is as String(bigint) prints it
 * (isCanonicalInteger). Returns the position after it.
 */
export function writeIntegerKeyText(b: Uint8Array, p: number, text: Uint8Array, s: number, e: number): number {
  openIntegerKey(b, p);
  p += 2;
  for (let i = s; i < e; i++) b[p++] = text[i]!;
  closeIntegerKey(b, p);
  return p + 2;
}

/**
 * An optional minus and decimal digits, without a leading zero (but "0" itself) and not
 * "-0": an integer's text exactly as String(bigint) prints it, so that its key written by
 * writeIntegerKeyText is messageKey's.
 */
export function isCanonicalInteger(b: Uint8Array, s: number, e: number): boolean {
  const first = b[s] === 0x2d ? s + 1 : s;
  if (first >= e || e - first > 20) return false;
  if (b[first] === 0x30 && (e - first > 1 || first > s)) return false;
  for (let i = first; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return false;
  }
  return true;
}
