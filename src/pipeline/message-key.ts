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

function indexesOf(schema: TableSchema): number[] | null {
  let ix = keyIndexes.get(schema);
  if (ix === undefined) {
    const key = rowKey(schema);
    ix = key ? key.columns.map((name) => schema.columns.findIndex((c) => c.name === name)) : null;
    if (ix && ix.some((i) => i < 0)) ix = null;
    keyIndexes.set(schema, ix);
  }
  return ix;
}

export function messageKey(event: RowChangeEvent): Buffer | null {
  const ix = indexesOf(event.table);
  const image = event.after ?? event.before;
  if (!ix || !image) return null;
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
