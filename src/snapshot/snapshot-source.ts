/**
 * What the full-data sync asks of the source: a binlog position every earlier commit is
 * visible at, a table's CREATE TABLE and key, its estimated row count, and its rows one
 * chunk at a time (chunk-query.ts). Never locks tables.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { CheckpointPosition } from '../checkpoint/checkpoint-store.ts';
import { SyncError } from '../errors.ts';
import { rowKey, type TableSchema } from '../model/table-schema.ts';
import { readTableSchema } from '../source/schema-reader.ts';
import { type ChunkKey, type ChunkTable, chunkKeyOf, chunkQuery, quoteIdentifier } from './chunk-query.ts';

/** Prepares a connection for chunk reads: raw result bytes, TIMESTAMPs in UTC. */
export async function prepareSnapshotConnection(conn: Connection): Promise<void> {
  await conn.query(`SET SESSION time_zone = '+00:00', SESSION character_set_results = NULL`);
}

/**
 * A binlog position such that every transaction that ends at or before it is visible to
 * any read that starts afterwards. SHOW MASTER STATUS alone does not give that: a
 * transaction is written to the binlog before the storage engine commits it, so for a
 * moment the binlog end is past a transaction that reads cannot see yet. MariaDB's
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT` reports, in `binlog_snapshot_file` and
 * `binlog_snapshot_position`, the binlog position its snapshot matches exactly, without any
 * lock. Servers without them (MySQL) get the classic method: a global read lock for as long
 * as SHOW MASTER STATUS takes (needs the RELOAD privilege).
 */
export async function consistentBinlogPosition(conn: Connection): Promise<CheckpointPosition> {
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  let file: string | undefined;
  let position: number | undefined;
  try {
    const [rows] = await conn.query<RowDataPacket[]>(`SHOW STATUS LIKE 'binlog_snapshot_%'`);
    for (const r of rows) {
      if (r.Variable_name === 'Binlog_snapshot_file') file = String(r.Value);
      if (r.Variable_name === 'Binlog_snapshot_position') position = Number(r.Value);
    }
  } finally {
    await conn.query('COMMIT');
  }
  if (file === undefined || position === undefined) return lockedBinlogPosition(conn);
  if (file === '') {
    throw new SyncError('SOURCE_QUERY_FAILED', 'the source has no binlog (binlog_snapshot_file is empty): start it with --log-bin', { retriable: false });
  }
  return { file, position, gtid: await gtidAt(conn, file, position) };
}

async function lockedBinlogPosition(conn: Connection): Promise<CheckpointPosition> {
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
  } catch (err) {
    throw new SyncError('SOURCE_QUERY_FAILED',
      `the source has no binlog_snapshot_position status (not MariaDB), and taking the short global read lock that gives a consistent binlog position failed: ${(err as Error).message}; grant the sync user RELOAD`,
      { cause: err, retriable: false });
  }
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
    const r = rows[0];
    if (!r) throw new SyncError('SOURCE_QUERY_FAILED', 'SHOW MASTER STATUS returned nothing: the binlog is off on the source (start it with --log-bin)', { retriable: false });
    return { file: String(r.File), position: Number(r.Position), gtid: r.Executed_Gtid_Set ? String(r.Executed_Gtid_Set) : null };
  } finally {
    await conn.query('UNLOCK TABLES');
  }
}

async function gtidAt(conn: Connection, file: string, position: number): Promise<string | null> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS g', [file, position]);
    return rows[0]?.g ? String(rows[0].g) : null;
  } catch {
    return null;
  }
}

/** The table's schema, its chunk key and column collations; refuses a table without a usable key. */
export async function readChunkTable(conn: Connection, database: string, table: string): Promise<ChunkTable> {
  const schema = await readTableSchema(conn, database, table);
  const key = rowKey(schema);
  if (!key) {
    throw new SyncError('SCHEMA_NO_KEY',
      `table ${database}.${table} has neither a primary key nor a unique key on NOT NULL columns, so its rows cannot be told apart (the destination would get duplicates); add a primary key, or remove the table from objects`);
  }
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS n, COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [database, table],
  );
  const byName = new Map(rows.map((r) => [String(r.n), r.c === null ? null : String(r.c)]));
  return { schema, key, collations: schema.columns.map((c) => byName.get(c.name) ?? null) };
}

export async function showCreateTable(conn: Connection, schema: TableSchema): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdentifier(schema.database)}.${quoteIdentifier(schema.table)}`);
  const row = rows[0];
  const text = row?.['Create Table'];
  // character_set_results is NULL on snapshot connections: the text arrives as bytes.
  return Buffer.isBuffer(text) ? text.toString('utf8') : String(text);
}

/** The storage engine's estimate of the row count (for progress only). */
export async function estimateRows(conn: Connection, database: string, table: string): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
  );
  return Number(rows[0]?.n ?? 0);
}

export interface ChunkEnd {
  /** rows the chunk had */
  readonly count: number;
  /** key of the last row; null when the chunk is empty */
  readonly lastKey: ChunkKey | null;
}

/** The driver's event-emitting query, under mysql2's promise wrapper. */
interface StreamingQuery {
  on(event: 'result', listener: (row: (Buffer | null)[]) => void): StreamingQuery;
  on(event: 'error', listener: (err: Error) => void): StreamingQuery;
  on(event: 'end', listener: () => void): StreamingQuery;
}
interface CoreConnection {
  query(options: { sql: string; rowsAsArray: boolean; typeCast: boolean }): StreamingQuery;
}

/**
 * Reads one chunk, handing each row to `onRow` as it arrives (its fields as the server's
 * bytes, null for NULL), so that rows are encoded while the rest of the chunk is still
 * on the wire and no chunk-sized array of rows is ever held.
 */
export function streamChunk(conn: Connection, t: ChunkTable, after: ChunkKey | null, limit: number, onRow: (fields: (Buffer | null)[]) => void): Promise<ChunkEnd> {
  const sql = chunkQuery(t, after, limit);
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  return new Promise((resolve, reject) => {
    let count = 0;
    let last: (Buffer | null)[] | null = null;
    let failed: unknown = null;
    core.query({ sql, rowsAsArray: true, typeCast: false })
      .on('result', (row) => {
        if (failed) return;
        count++;
        last = row;
        try {
          onRow(row);
        } catch (err) {
          failed = err;
        }
      })
      .on('error', (err) => {
        reject(new SyncError('SOURCE_QUERY_FAILED', `reading a chunk of ${t.schema.database}.${t.schema.table} failed: ${err.message}`, { cause: err }));
      })
      .on('end', () => {
        if (failed) return reject(failed);
        try {
          resolve({ count, lastKey: last ? chunkKeyOf(t, last) : null });
        } catch (err) {
          reject(err);
        }
      });
  });
}

/** One chunk's rows, collected (for tests and small reads). */
export async function readChunk(conn: Connection, t: ChunkTable, after: ChunkKey | null, limit: number): Promise<{ rows: (Buffer | null)[][]; lastKey: ChunkKey | null }> {
  const rows: (Buffer | null)[][] = [];
  // The driver's packet buffer may be reused once the row is handed over: keep copies.
  const end = await streamChunk(conn, t, after, limit, (fields) => rows.push(fields.map((f) => (f ? Buffer.from(f) : null))));
  return { rows, lastKey: end.lastKey };
}
