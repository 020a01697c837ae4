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
import { binlogStatus, normalizeGtidSet } from '../source/source-inspector.ts';
import { boundaryQuery, type ChunkKey, type ChunkTable, chunkKeyOf, chunkQuery, keyIndexes, quoteIdentifier, type TextRow, textRow, textRowFields } from './chunk-query.ts';

/** Prepares a connection for chunk reads: raw result bytes, TIMESTAMPs in UTC. */
export async function prepareSnapshotConnection(conn: Connection): Promise<void> {
  await conn.query(`SET SESSION time_zone = '+00:00', SESSION character_set_results = NULL`);
}

/**
 * A binlog position such that every transaction that ends at or before it is visible to
 * any read that starts afterwards. The binlog's end alone does not give that: a
 * transaction is written to the binlog before the storage engine commits it, so for a
 * moment the binlog end is past a transaction that reads cannot see yet. The least
 * intrusive way each server offers:
 * - MariaDB: `START TRANSACTION WITH CONSISTENT SNAPSHOT` reports, in
 *   `binlog_snapshot_file` and `binlog_snapshot_position`, the position its snapshot
 *   matches exactly, without any lock and without a privilege.
 * - MySQL 8.0.17+: `performance_schema.log_status` (needs BACKUP_ADMIN). To fill it the
 *   server holds the binlog's log, sync and commit locks together, so no commit group is
 *   between its binlog write and its engine commit: the position and GTID set it reports
 *   cover only committed transactions. Commits wait for the microseconds it takes; no
 *   table lock.
 * - Otherwise: the classic short global read lock (FLUSH TABLES WITH READ LOCK, needs
 *   RELOAD) for as long as the binlog status takes.
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
  if (file === undefined || position === undefined) return mysqlConsistentPosition(conn);
  if (file === '') {
    throw new SyncError('SOURCE_QUERY_FAILED', 'the source has no binlog (binlog_snapshot_file is empty): start it with --log-bin', { retriable: false });
  }
  return { file, position, gtid: await gtidAt(conn, file, position) };
}

async function mysqlConsistentPosition(conn: Connection): Promise<CheckpointPosition> {
  let logStatusError: unknown;
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT LOCAL AS l FROM performance_schema.log_status');
    const local = parseLogStatus(rows[0]?.l);
    if (local) return local;
    logStatusError = new Error('performance_schema.log_status has no binary log position');
  } catch (err) {
    logStatusError = err;
  }
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
  } catch (err) {
    throw new SyncError('SOURCE_PRIVILEGE_MISSING',
      'the initial sync needs a binlog position consistent with its reads: reading performance_schema.log_status failed ' +
        `(${(logStatusError as Error).message}) and so did the short global read lock (${(err as Error).message}); ` +
        'grant the sync user BACKUP_ADMIN (MySQL 8.0.17+, no lock: GRANT BACKUP_ADMIN ON *.* TO ...) or RELOAD (a global read lock for a moment)',
      { cause: err, retriable: false });
  }
  try {
    const end = await binlogStatus(conn);
    return { file: end.file, position: end.position, gtid: end.executedGtidSet || null };
  } finally {
    await conn.query('UNLOCK TABLES');
  }
}

/** performance_schema.log_status's LOCAL column: `{"gtid_executed": ..., "binary_log_file": ..., "binary_log_position": ...}`. */
export function parseLogStatus(local: unknown): CheckpointPosition | null {
  const v = (typeof local === 'string' ? JSON.parse(local) : local) as Record<string, unknown> | null;
  if (!v || typeof v.binary_log_file !== 'string' || v.binary_log_file === '' || v.binary_log_position === undefined) return null;
  const gtid = typeof v.gtid_executed === 'string' ? normalizeGtidSet(v.gtid_executed) : '';
  return { file: v.binary_log_file, position: Number(v.binary_log_position), gtid: gtid || null };
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

/** The source's server_id: the server_id tag of the records a full-data sync copies. */
export async function sourceServerId(conn: Connection): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT @@server_id AS id');
  return Number(rows[0]?.id ?? 0);
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
  /** mysql2's state for the result rows: fieldsEOF hands each row packet to `this.row` */
  row: RowState;
}
interface CoreConnection {
  query(options: { sql: string; rowsAsArray: boolean; typeCast: boolean }): StreamingQuery;
}
/** What mysql2 (3.x, lib/packets/packet.js) gives a command's row state. */
interface RowPacket {
  readonly buffer: Buffer;
  offset: number;
  readonly end: number;
  isEOF(): boolean;
}
type RowState = (this: StreamingQuery, packet: RowPacket, connection: unknown) => unknown;

/**
 * Reads one chunk, handing each row to `onRow` as it arrives, so that rows are encoded while
 * the rest of the chunk is still on the wire and no chunk-sized array of rows is ever held.
 * With `upTo`, the chunk is the range (after, upTo], however many rows it holds now; without,
 * at most `limit` rows.
 *
 * The rows are read from the driver's packets here rather than by mysql2's row parser, which
 * makes an array and a Buffer per field of every row (a third of the cost of a row before it
 * is encoded): mysql2's query runs as usual (the query, its column definitions, errors, its
 * end), but its row state is replaced on the query object, and a row packet is turned into
 * field ranges in one TextRow reused for every row (each field a length-coded string, 0xfb
 * for NULL: the text protocol's row). The end-of-rows packet goes back to mysql2's own state.
 */
export function streamChunk(conn: Connection, t: ChunkTable, after: ChunkKey | null, limit: number, onRow: (row: TextRow) => void,
  upTo: ChunkKey | null = null): Promise<ChunkEnd> {
  const sql = chunkQuery(t, after, limit, upTo);
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const width = t.schema.columns.length;
  const keys = keyIndexes(t);
  return new Promise((resolve, reject) => {
    const row = textRow(width);
    let count = 0;
    // The last row's key fields: its packet's buffer and their ranges.
    let lastBuf: Buffer | null = null;
    const lastStarts = new Int32Array(keys.length);
    const lastEnds = new Int32Array(keys.length);
    let failed: unknown = null;
    const query = core.query({ sql, rowsAsArray: true, typeCast: false });
    const mysql2Row = Object.getPrototypeOf(query).row as RowState;
    if (typeof mysql2Row !== 'function') {
      reject(new SyncError('SOURCE_QUERY_FAILED', 'the installed mysql2 has no row state on its Query command (expected mysql2 3.x)', { retriable: false }));
      return;
    }
    const readRow: RowState = function (this: StreamingQuery, packet, connection) {
      if (packet.isEOF()) return mysql2Row.call(this, packet, connection);
      if (failed) return readRow;
      try {
        readTextRow(packet, row);
        count++;
        if (row.count === width) {
          lastBuf = row.buf;
          for (let k = 0; k < keys.length; k++) {
            lastStarts[k] = row.starts[keys[k]!]!;
            lastEnds[k] = row.ends[keys[k]!]!;
          }
        }
        onRow(row);
      } catch (err) {
        failed = err;
      }
      return readRow;
    };
    query.row = readRow;
    query
      .on('error', (err) => {
        reject(new SyncError('SOURCE_QUERY_FAILED', `reading a chunk of ${t.schema.database}.${t.schema.table} failed: ${err.message}`, { cause: err }));
      })
      .on('end', () => {
        if (failed) return reject(failed);
        if (count === 0 || lastBuf === null) return resolve({ count, lastKey: null });
        const key: string[] = [];
        for (let k = 0; k < keys.length; k++) {
          if (lastStarts[k]! < 0) return reject(new Error(`key column ${t.schema.columns[keys[k]!]!.name} of ${t.schema.database}.${t.schema.table} is NULL`));
          key.push(lastBuf.toString('hex', lastStarts[k], lastEnds[k]));
        }
        resolve({ count, lastKey: key });
      });
  });
}

/**
 * The key of the `rows`-th row after `after` (chunk-query.ts, boundaryQuery): the end of the
 * next chunk of that many rows; null when fewer rows remain (the next chunk is the last).
 */
export async function nextBoundary(conn: Connection, t: ChunkTable, after: ChunkKey | null, rows: number): Promise<ChunkKey | null> {
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const fields = await new Promise<(Buffer | null)[] | null>((resolve, reject) => {
    let found: (Buffer | null)[] | null = null;
    core.query({ sql: boundaryQuery(t, after, rows), rowsAsArray: true, typeCast: false })
      .on('result', (row) => { found = row.map((f) => (f ? Buffer.from(f) : null)); })
      .on('error', (err) => reject(new SyncError('SOURCE_QUERY_FAILED', `finding the next chunk of ${t.schema.database}.${t.schema.table} failed: ${err.message}`, { cause: err })))
      .on('end', () => resolve(found));
  });
  if (fields === null) return null;
  // The row holds the key columns only: spread them to their places for chunkKeyOf.
  const row: (Buffer | null)[] = new Array(t.schema.columns.length).fill(null);
  keyIndexes(t).forEach((i, k) => { row[i] = fields[k] ?? null; });
  return chunkKeyOf(t, row);
}

/** The fields of a text-protocol row packet into `row` (count = the fields the packet has). */
function readTextRow(packet: RowPacket, row: TextRow): void {
  const b = packet.buffer;
  const end = packet.end;
  const { starts, ends } = row;
  const room = starts.length;
  let at = packet.offset;
  let n = 0;
  while (at < end) {
    const tag = b[at++]!;
    let length: number;
    if (tag < 0xfb) length = tag;
    else if (tag === 0xfb) length = -1;
    else if (tag === 0xfc) { length = b[at]! | (b[at + 1]! << 8); at += 2; }
    else if (tag === 0xfd) { length = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16); at += 3; }
    else if (tag === 0xfe) { length = b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x100000000; at += 8; }
    else throw new SyncError('SOURCE_QUERY_FAILED', `a chunk row has a field with the length tag 0x${tag.toString(16)}, which the text protocol does not use`);
    if (n < room) {
      starts[n] = length < 0 ? -1 : at;
      ends[n] = length < 0 ? -1 : at + length;
    }
    if (length > 0) at += length;
    n++;
  }
  if (at !== end) throw new SyncError('SOURCE_QUERY_FAILED', 'a chunk row packet ends inside a field');
  row.buf = b;
  row.count = n;
}

/** One chunk's rows, collected (for tests and small reads). */
export async function readChunk(conn: Connection, t: ChunkTable, after: ChunkKey | null, limit: number): Promise<{ rows: (Buffer | null)[][]; lastKey: ChunkKey | null }> {
  const rows: (Buffer | null)[][] = [];
  // The row and its packet are the driver's: keep copies.
  const end = await streamChunk(conn, t, after, limit, (row) => rows.push(textRowFields(row).map((f) => (f ? Buffer.from(f) : null))));
  return { rows, lastKey: end.lastKey };
}
