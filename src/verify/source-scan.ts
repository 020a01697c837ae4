/**
 * The source side of verify: one consistent snapshot of the source (a REPEATABLE READ
 * transaction started WITH CONSISTENT SNAPSHOT), its binlog position, and every row of the
 * verified tables streamed into the bucket files as (key, digest) lines; a table is never
 * held in memory.
 *
 * MariaDB says exactly which binlog position the snapshot matches (Binlog_snapshot_file /
 * Binlog_snapshot_position); verify then leaves out the records after it, so a source that
 * keeps changing still verifies exactly. MySQL has no such status: its binlog status right
 * after the snapshot is close but not exact (a commit in between shows as a difference).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition } from '../model/binlog-position.ts';
import type { ColumnSchema } from '../model/table-schema.ts';
import { binlogStatus } from '../source/source-inspector.ts';
import { type Canonical, canonicalFromSource, keyText, quoteIdentifier, rowDigest, sourceExpression } from './canonical.ts';
import type { BucketWriter } from './spill.ts';
import { digestOf } from './topic-ops.ts';
import type { VerifiedTable } from './verified-table.ts';

export interface SourceSnapshot {
  readonly position: BinlogPosition | null;
  /** the position is MariaDB's exact snapshot position (not MySQL's approximation) */
  readonly exact: boolean;
}

/** Starts the snapshot transaction on `conn` (its session is set to UTC) and reads its binlog position. */
export async function startSnapshot(conn: Connection): Promise<SourceSnapshot> {
  await conn.query("SET SESSION time_zone = '+00:00'");
  await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  const [status] = await conn.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const file = status.find((r) => String(r.Variable_name).toLowerCase() === 'binlog_snapshot_file')?.Value;
  const position = status.find((r) => String(r.Variable_name).toLowerCase() === 'binlog_snapshot_position')?.Value;
  if (file && position) return { position: { file: String(file), position: Number(position) }, exact: true };
  try {
    const end = await binlogStatus(conn);
    return { position: { file: end.file, position: end.position }, exact: false };
  } catch {
    return { position: null, exact: false };
  }
}

/** Streams every row of `t` into `writer`; returns the row count. */
export async function scanTable(conn: Connection, t: VerifiedTable, writer: BucketWriter): Promise<number> {
  const cols = t.schema.columns;
  const sql = `SELECT ${cols.map(sourceExpression).join(', ')} FROM ${quoteIdentifier(t.database)}.${quoteIdentifier(t.table)}`;
  // The callback connection under the promise wrapper streams rows without buffering them.
  const callbackConnection = (conn as unknown as { connection: { query(o: { sql: string; rowsAsArray: boolean }): { stream(o: { highWaterMark: number }): AsyncIterable<unknown[]> } } }).connection;
  const stream = callbackConnection.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 1000 });
  let rows = 0;
  for await (const raw of stream) {
    const { digest, line } = sourceLine(t, cols.map((col, i) => canonicalFromSource(col, raw[i])));
    writer.add(digest, line);
    rows++;
  }
  return rows;
}

/** The bucket-file line of one source row (in canonical form) of `t`, and its digest. */
export function sourceLine(t: VerifiedTable, values: readonly Canonical[]): { digest: string; line: string } {
  const row = rowDigest(values);
  if (t.key !== null) {
    const key = keyText(t.keyIndexes.map((i) => values[i]!));
    const digest = digestOf(`${t.index}\0${key}`);
    return { digest, line: ['K', digest, t.index, row.row, row.columns, key].join('\t') };
  }
  const digest = digestOf(`${t.index}\0${row.row}`);
  return { digest, line: ['M', digest, t.index, row.row, JSON.stringify(preview(t.schema.columns, values))].join('\t') };
}

/** A short readable form of a keyless row, for the report's examples. */
function preview(cols: readonly ColumnSchema[], values: readonly Canonical[]): string {
  const text = cols
    .map((c, i) => {
      const v = values[i]!;
      const readable = Buffer.isBuffer(v) && c.charset !== null && /^(utf8|ascii)/.test(c.charset);
      const shown = v === null
        ? 'NULL'
        : readable
          ? v.toString('utf8')
          : Buffer.isBuffer(v)
            ? `0x${v.subarray(0, 16).toString('hex').toUpperCase()}${v.length > 16 ? '…' : ''}`
            : v;
      return `${c.name}=${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`;
    })
    .join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
