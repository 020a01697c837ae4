/**
 * The SQL of the full-data sync and the reading of its results, without I/O.
 *
 * Rows are read in key order, in chunks, by keyset pagination: `WHERE key > last key
 * ORDER BY key LIMIT n`, never OFFSET (which rereads every skipped row). The result set is
 * read over the text protocol with every field taken as the server's raw bytes
 * (`character_set_results = NULL`, session `time_zone = '+00:00'`), and each column is
 * selected in a form whose text is exact:
 *
 * - FLOAT as `CAST(c AS DOUBLE)`: the server prints a FLOAT with 6 significant digits
 *   (16777216 prints as 16777200), but a DOUBLE with every digit it needs;
 * - ENUM and SET as `c+0` (the index and the bit set), mapped to labels here, so that
 *   labels need no charset decoding and key comparisons follow the index order that
 *   ORDER BY uses;
 * - TIMESTAMP in UTC (the session time zone), read back into epoch seconds;
 * - strings, binaries and blobs as their stored bytes in the column's charset.
 *
 * The values then take the same path as binlog rows: RawValue (the binlog reader's form)
 * → normalizeRow → the codec. The last key of a chunk is kept as the hex of its fields'
 * bytes (checkpointed as is) and written back into SQL as literals of the column's own
 * type and collation, so that `>` compares exactly as ORDER BY sorts.
 */
import type { ColumnSchema, IndexSchema, TableSchema } from '../model/table-schema.ts';
import { parseTemporalBytes, type TemporalType } from '../model/temporal-text.ts';
import type { RawValue } from '../source/zongji-exact-rows.ts';

/** What the chunk queries need to know of a table besides its schema. */
export interface ChunkTable {
  readonly schema: TableSchema;
  /** the key rows are ordered and paged by: the primary key, else a NOT NULL unique key */
  readonly key: IndexSchema;
  /** collation of each column (null for non-string columns), index-aligned with schema.columns */
  readonly collations: readonly (string | null)[];
}

/** The last key of a chunk: per key column, the hex of the field bytes as selected. */
export type ChunkKey = readonly string[];

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function selectExpression(c: ColumnSchema): string {
  const q = quoteIdentifier(c.name);
  if (c.type === 'float') return `CAST(${q} AS DOUBLE)`;
  if (c.type === 'enum' || c.type === 'set') return `${q}+0`;
  return q;
}

/** Index of each key column in schema.columns. */
export function keyIndexes(t: ChunkTable): number[] {
  return t.key.columns.map((name) => {
    const i = t.schema.columns.findIndex((c) => c.name === name);
    if (i < 0) throw new Error(`key ${t.key.name} of ${t.schema.database}.${t.schema.table} names an unknown column ${name}`);
    return i;
  });
}

/**
 * `SELECT … FROM t [WHERE key > after] [AND key <= upTo] ORDER BY key [LIMIT n]`: the rows
 * after `after` (from the start when null), up to and including `upTo` when given (a range
 * whose end nextBoundary found; no LIMIT then), else at most `limit`.
 */
export function chunkQuery(t: ChunkTable, after: ChunkKey | null, limit: number, upTo: ChunkKey | null = null): string {
  const { schema } = t;
  const columns = schema.columns.map(selectExpression).join(', ');
  const conditions = [after && keyCondition(t, after, '>'), upTo && keyCondition(t, upTo, '<=')].filter((c) => c);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SELECT ${columns} FROM ${fromIndex(t)}${where} ORDER BY ${keyOrder(t)}${upTo ? '' : ` LIMIT ${limit}`}`;
}

/**
 * The key columns of the `rows`-th row after `after` (`LIMIT 1 OFFSET rows-1`), selected as
 * chunkQuery selects them: the end of a chunk of `rows` rows, found without sending those
 * rows (the server walks the index). No row means fewer than `rows` rows remain.
 */
export function boundaryQuery(t: ChunkTable, after: ChunkKey | null, rows: number): string {
  const idx = keyIndexes(t);
  const columns = idx.map((i) => selectExpression(t.schema.columns[i]!)).join(', ');
  const where = after ? ` WHERE ${keyCondition(t, after, '>')}` : '';
  return `SELECT ${columns} FROM ${fromIndex(t)}${where} ORDER BY ${keyOrder(t)} LIMIT 1 OFFSET ${rows - 1}`;
}

function fromIndex(t: ChunkTable): string {
  return `${quoteIdentifier(t.schema.database)}.${quoteIdentifier(t.schema.table)} FORCE INDEX (${quoteIdentifier(t.key.name)})`;
}

function keyOrder(t: ChunkTable): string {
  return t.key.columns.map(quoteIdentifier).join(', ');
}

/**
 * key > k: `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR …`; key <= k: `(k1 < v1) OR (k1 = v1 AND
 * k2 < v2) OR … OR (k1 = v1 AND … AND kn <= vn)`: the forms the range optimizer turns into
 * one index range.
 */
function keyCondition(t: ChunkTable, key: ChunkKey, op: '>' | '<='): string {
  const idx = keyIndexes(t);
  if (key.length !== idx.length) throw new Error(`a chunk key of ${key.length} values does not fit key ${t.key.name} of ${idx.length} columns`);
  const literals = idx.map((i, k) => keyLiteral(t.schema.columns[i]!, t.collations[i] ?? null, Buffer.from(key[k]!, 'hex')));
  const names = idx.map((i) => quoteIdentifier(t.schema.columns[i]!.name));
  const terms: string[] = [];
  for (let k = 0; k < idx.length; k++) {
    const eq = names.slice(0, k).map((n, j) => `${n} = ${literals[j]}`);
    const last = op === '>' ? '>' : k === idx.length - 1 ? '<=' : '<';
    terms.push(`(${[...eq, `${names[k]} ${last} ${literals[k]}`].join(' AND ')})`);
  }
  return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;
}

/** A SQL literal for a key field as selected (bytes of the text protocol), compared the way ORDER BY sorts. */
export function keyLiteral(c: ColumnSchema, collation: string | null, field: Buffer): string {
  const text = field.toString('latin1');
  if (INTEGER_TYPES.has(c.type) || c.type === 'enum' || c.type === 'set') return checked(text, /^-?\d+$/, c);
  if (c.type === 'decimal') return checked(text, /^-?\d+(\.\d+)?$/, c);
  // A double literal (an exponent makes it one), not a DECIMAL one.
  if (c.type === 'float' || c.type === 'double') return /e/i.test(text) ? checked(text, /^-?[\d.]+e[-+]?\d+$/i, c) : `${checked(text, /^-?[\d.]+$/, c)}e0`;
  if (c.type === 'bit') return `0x${field.length ? field.toString('hex') : '00'}`;
  if (BINARY_TYPES.has(c.type)) return `X'${field.toString('hex')}'`;
  if (TEXT_TYPES.has(c.type)) {
    const charset = c.charset ?? 'utf8mb4';
    return `_${charset === 'utf8mb3' ? 'utf8' : charset} X'${field.toString('hex')}'${collation ? ` COLLATE ${collation}` : ''}`;
  }
  // Temporal types, UUID, INET4/INET6: their printed text, quoted; the server parses it
  // back into the column's type (TIMESTAMP in the session's UTC).
  return `'${checked(text, /^[\d:.\- a-fA-F]*$/, c)}'`;
}

function checked(text: string, re: RegExp, c: ColumnSchema): string {
  if (!re.test(text)) throw new Error(`key column ${c.name} (${c.type}) has an unexpected value ${JSON.stringify(text)}`);
  return text;
}

/** The raw bytes of a row's key fields as a ChunkKey. */
export function chunkKeyOf(t: ChunkTable, fields: readonly (Buffer | null)[]): ChunkKey {
  return keyIndexes(t).map((i) => {
    const f = fields[i];
    if (!f) throw new Error(`key column ${t.schema.columns[i]!.name} of ${t.schema.database}.${t.schema.table} is NULL`);
    return f.toString('hex');
  });
}

/**
 * A row of a chunk as it came off the wire: where each field's bytes are in one buffer (the
 * driver's packet), so that reading a row makes no object per field. streamChunk fills the
 * same object for every row: read it inside the callback, never keep it.
 */
export interface TextRow {
  buf: Buffer;
  /** fields the row has (the columns the SELECT named, unless the table changed meanwhile) */
  count: number;
  /** per field, its first byte in buf; -1 for NULL */
  readonly starts: Int32Array;
  /** per field, the byte after its last */
  readonly ends: Int32Array;
}

/** A TextRow with room for `width` fields. */
export function textRow(width: number): TextRow {
  return { buf: Buffer.alloc(0), count: 0, starts: new Int32Array(width), ends: new Int32Array(width) };
}

/** The row's fields as Buffers (views of its buffer; null for NULL). */
export function textRowFields(row: TextRow): (Buffer | null)[] {
  const out: (Buffer | null)[] = new Array(row.count);
  for (let i = 0; i < row.count; i++) out[i] = row.starts[i]! < 0 ? null : row.buf.subarray(row.starts[i], row.ends[i]);
  return out;
}

/** One selected row (raw field bytes, null for NULL) in the binlog reader's RawValue form. */
export function rawRow(schema: TableSchema, fields: readonly (Buffer | null)[]): RawValue[] {
  const cols = schema.columns;
  if (fields.length !== cols.length) {
    throw new Error(`a row of ${schema.database}.${schema.table} has ${fields.length} fields, the schema ${cols.length} columns`);
  }
  const out: RawValue[] = new Array(cols.length);
  for (let i = 0; i < cols.length; i++) {
    const f = fields[i];
    out[i] = f === null || f === undefined ? null : rawValueAt(cols[i]!, f, 0, f.length);
  }
  return out;
}

/** rawRow of a TextRow. */
export function rawRowOf(schema: TableSchema, row: TextRow): RawValue[] {
  const cols = schema.columns;
  if (row.count !== cols.length) {
    throw new Error(`a row of ${schema.database}.${schema.table} has ${row.count} fields, the schema ${cols.length} columns`);
  }
  const { buf, starts, ends } = row;
  const out: RawValue[] = new Array(cols.length);
  for (let i = 0; i < cols.length; i++) {
    const s = starts[i]!;
    out[i] = s < 0 ? null : rawValueAt(cols[i]!, buf, s, ends[i]!);
  }
  return out;
}

export function rawValue(c: ColumnSchema, f: Buffer): RawValue {
  return rawValueAt(c, f, 0, f.length);
}

/** The RawValue of the field in buf[s, e). */
export function rawValueAt(c: ColumnSchema, buf: Buffer, s: number, e: number): RawValue {
  switch (c.type) {
    case 'tinyint': case 'smallint': case 'mediumint': case 'int': case 'bigint':
      return integerText(buf, s, e);
    case 'bit': {
      let v = 0n;
      for (let i = s; i < e; i++) v = (v << 8n) | BigInt(buf[i]!);
      return v;
    }
    case 'decimal':
      return buf.toString('latin1', s, e);
    case 'float': case 'double':
      return Number(buf.toString('latin1', s, e));
    case 'enum': {
      const n = Number(buf.toString('latin1', s, e));
      return n === 0 ? '' : c.values?.[n - 1] ?? String(n);
    }
    case 'set': {
      let bits = BigInt(buf.toString('latin1', s, e));
      const labels: string[] = [];
      for (let i = 0; bits > 0n; i++, bits >>= 1n) if (bits & 1n) labels.push(c.values?.[i] ?? String(i + 1));
      return labels.join(',');
    }
    case 'datetime': case 'date': case 'time': case 'year': case 'timestamp':
      return temporalAt(c, c.type, buf, s, e);
    case 'geometry': case 'point': case 'linestring': case 'polygon': case 'multipoint':
    case 'multilinestring': case 'multipolygon': case 'geometrycollection':
      // The stored form: a 4-byte SRID, then WKB; the binlog reader drops the SRID too.
      return buf.subarray(s + 4, e);
    case 'uuid': case 'inet4': case 'inet6':
      return buf.toString('latin1', s, e);
    default:
      // Every string, binary, text, blob and JSON column: the stored bytes (a view into the
      // driver's packet, encoded before the next chunk is read).
      return buf.subarray(s, e);
  }
}

/**
 * A decimal integer's text as a bigint. Up to 15 digits it is summed as a number first
 * (exact below 2^53), which is several times cheaper than BigInt(string).
 */
function integerText(f: Buffer, s: number, e: number): bigint {
  const negative = f[s] === 0x2d;
  if (e - s - (negative ? 1 : 0) > 15) return BigInt(f.toString('latin1', s, e));
  let v = 0;
  for (let i = negative ? s + 1 : s; i < e; i++) {
    const d = f[i]! - 0x30;
    if (d < 0 || d > 9) return BigInt(f.toString('latin1', s, e)); // throws with the text
    v = v * 10 + d;
  }
  return BigInt(negative ? -v : v);
}

/** A temporal column's text (TIMESTAMP printed in UTC) as its exact value (src/model/temporal-text.ts). */
function temporalAt(c: ColumnSchema, type: TemporalType, buf: Buffer, s: number, e: number): RawValue {
  const v = parseTemporalBytes(type, buf, s, e);
  if (v === null) throw new Error(`column ${c.name} (${c.type}) has an unexpected value ${JSON.stringify(buf.toString('latin1', s, e))}`);
  return v;
}
