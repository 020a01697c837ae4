/**
 * Applies a table's schema to the raw values the binlog reader produced
 * (zongji-exact-rows.ts), giving the exact ColumnValue form each column type has
 * (model/column-value.ts). Pure: no I/O.
 */
import { SyncError } from '../errors.ts';
import type { ColumnValue } from '../model/column-value.ts';
import type { ColumnSchema, TableSchema } from '../model/table-schema.ts';
import type { RawValue } from './zongji-exact-rows.ts';

/**
 * The row's values in their exact forms. The result may be `raw` itself (when no value
 * needed a change): it is not copied, so neither array is to be changed afterwards.
 */
export function normalizeRow(schema: TableSchema, raw: readonly RawValue[]): ColumnValue[] {
  const cols = schema.columns;
  if (raw.length !== cols.length) {
    throw new SyncError('SCHEMA_UNKNOWN_TABLE',
      `row of ${schema.database}.${schema.table} has ${raw.length} columns but the schema in force has ${cols.length}`);
  }
  // Every row of the binlog passes here: what each column may need is settled once per
  // schema, and a value already in its exact form (most are) is kept as it is. When every
  // value is (the rows of the binlog reader mostly are), the row's own array is returned.
  const kinds = columnKinds(schema);
  const n = cols.length;
  let i = 0;
  for (; i < n; i++) {
    const v = raw[i];
    const kind = kinds[i];
    if (v === undefined || !(v === null || kind === KEEP || (kind === INTEGER && typeof v === 'bigint'))) break;
  }
  if (i === n) return raw as ColumnValue[];
  const out: ColumnValue[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const v = raw[j];
    const kind = kinds[j];
    if (v === null || v === undefined) out[j] = null;
    else if (kind === KEEP || (kind === INTEGER && typeof v === 'bigint')) out[j] = v as ColumnValue;
    else out[j] = normalizeValue(cols[j]!, v);
  }
  return out;
}

const KEEP = 0;
const INTEGER = 1;
const OTHER = 2;
const INTEGER_TYPES = new Set<string>(['tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'bit']);
/** The types normalizeValue changes besides integers; it keeps every other value as it is. */
const OTHER_TYPES = new Set<string>(['binary', 'json', 'uuid', 'inet4', 'inet6']);
const kindsByTable = new WeakMap<TableSchema, Uint8Array>();

let lastSchema: TableSchema | null = null;
let lastKinds: Uint8Array = new Uint8Array(0);

function columnKinds(schema: TableSchema): Uint8Array {
  if (schema === lastSchema) return lastKinds;
  let kinds = kindsByTable.get(schema);
  if (kinds === undefined) {
    kinds = Uint8Array.from(schema.columns, (c) => (INTEGER_TYPES.has(c.type) ? INTEGER : OTHER_TYPES.has(c.type) ? OTHER : KEEP));
    kindsByTable.set(schema, kinds);
  }
  lastSchema = schema;
  lastKinds = kinds;
  return kinds;
}

export function normalizeValue(col: ColumnSchema, v: RawValue): ColumnValue {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'tinyint': case 'smallint': case 'mediumint': case 'int': case 'bigint': case 'bit':
      return typeof v === 'bigint' ? v : BigInt(v as number | string);
    case 'binary':
      return Buffer.isBuffer(v) ? padTo(v, col.length ?? v.length) : v;
    case 'json':
      return Buffer.isBuffer(v) ? v.toString('utf8') : v;
    case 'uuid':
      return Buffer.isBuffer(v) ? formatUuid(padTo(v, 16)) : v;
    case 'inet4':
      return Buffer.isBuffer(v) ? formatInet4(padTo(v, 4)) : v;
    case 'inet6':
      return Buffer.isBuffer(v) ? formatInet6(padTo(v, 16)) : v;
    default:
      return v;
  }
}

// The row image drops trailing zero bytes of fixed-width binary values.
function padTo(b: Buffer, n: number): Buffer {
  if (b.length >= n) return b;
  const out = Buffer.alloc(n);
  b.copy(out);
  return out;
}

export function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function formatInet4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * MariaDB's text form of an INET6: RFC 5952 (lowercase, the longest run of two or more
 * zero groups as `::`, leftmost on a tie), IPv4-mapped and IPv4-compatible addresses
 * (other than :: and ::1) in dotted form.
 */
export function formatInet6(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0)) {
    const v4 = formatInet4(b.subarray(12));
    if (b[10] === 0xff && b[11] === 0xff) return `::ffff:${v4}`;
    if (b[10] === 0 && b[11] === 0 && b.readUInt32BE(12) > 1) return `::${v4}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart === -1) return groups.map(hex).join(':');
  return `${groups.slice(0, bestStart).map(hex).join(':')}::${groups.slice(bestStart + bestLength).map(hex).join(':')}`;
}
