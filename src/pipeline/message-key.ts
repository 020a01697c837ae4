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
  const out = Buffer.allocUnsafe(length + 4);
  out[0] = 0x5b; // [
  out[1] = 0x22; // "
  let at = length + 1;
  do {
    const q = (abs / 10) | 0;
    out[at--] = 48 + (abs - q * 10);
    abs = q;
  } while (abs > 0);
  if (negative) out[2] = 0x2d; // -
  out[length + 2] = 0x22;
  out[length + 3] = 0x5d; // ]
  return out;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
