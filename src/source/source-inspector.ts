/**
 * Questions about the source that the synchronizer asks over an ordinary connection:
 * its version, the current end of the binlog, and which tables the configured objects
 * name.
 */
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../errors.ts';
import { tlsFailure, tlsFix } from '../tls-errors.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';
import { binlogStatusStatement, parseServerVersion, type ServerInfo } from './server-version.ts';

export interface SourceConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly ssl?: Record<string, unknown>;
  readonly connectTimeoutMs?: number;
}

export async function connectSource(o: SourceConnectionOptions): Promise<Connection> {
  try {
    return await mysql.createConnection({
      host: o.host,
      port: o.port,
      user: o.user,
      password: o.password,
      ssl: o.ssl as never,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
  } catch (err) {
    const e = err as { code?: string; errno?: number; message?: string };
    const denied = e.errno === 1045;
    // A certificate the client does not trust, or a server without TLS, fails the same way on every retry.
    const tls = tlsFailure(err);
    throw new SyncError('SOURCE_UNREACHABLE',
      denied
        ? `the source ${o.host}:${o.port} refused user ${o.user}: check source.user and source.password`
        : tls
          ? `TLS to the source ${o.host}:${o.port} failed (${tls.code}: ${e.message ?? String(err)}); ${tlsFix(tls, 'source.tls')}`
          : `cannot connect to the source ${o.host}:${o.port}: ${e.message ?? String(err)}; check source.host and source.port, and that the server runs`,
      { cause: err, retriable: !denied && !tls });
  }
}

export async function serverVersion(conn: Connection): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS v');
  return String(rows[0]!.v);
}

const serverInfos = new WeakMap<Connection, ServerInfo>();

/** Which server the connection is to (asked once per connection). */
export async function sourceServer(conn: Connection): Promise<ServerInfo> {
  let info = serverInfos.get(conn);
  if (!info) {
    info = parseServerVersion(await serverVersion(conn));
    serverInfos.set(conn, info);
  }
  return info;
}

export interface BinlogStatus extends BinlogPosition {
  /** MySQL's Executed_Gtid_Set ('' when gtid_mode is OFF); null on MariaDB */
  readonly executedGtidSet: string | null;
}

/** The end of the binlog, as SHOW BINARY LOG STATUS / SHOW MASTER STATUS reports it. */
export async function binlogStatus(conn: Connection): Promise<BinlogStatus> {
  const statement = binlogStatusStatement(await sourceServer(conn));
  const [rows] = await conn.query<RowDataPacket[]>(statement);
  const r = rows[0];
  if (!r) throw new SyncError('SOURCE_QUERY_FAILED', `${statement} returned nothing: the binlog is off on the source (start it with --log-bin)`, { retriable: false });
  const set = r.Executed_Gtid_Set;
  return {
    file: String(r.File),
    position: Number(r.Position),
    executedGtidSet: set === undefined ? null : normalizeGtidSet(String(set ?? '')),
  };
}

/** MySQL prints long GTID sets over several lines. */
export function normalizeGtidSet(set: string): string {
  return set.replace(/\s+/g, '');
}

/**
 * The end of the binlog and the GTIDs up to it: on MySQL the executed GTID set (null
 * when gtid_mode is OFF), on MariaDB its gtid_binlog_pos.
 */
export async function binlogEnd(conn: Connection): Promise<BinlogPosition & { gtid: string | null }> {
  const status = await binlogStatus(conn);
  if (status.executedGtidSet !== null) return { file: status.file, position: status.position, gtid: status.executedGtidSet || null };
  const [g] = await conn.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS g');
  return { file: status.file, position: status.position, gtid: g[0]?.g ? String(g[0].g) : null };
}

/** Every base table of `database`, for `db.*` patterns. */
export async function tablesOf(conn: Connection, database: string): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [database],
  );
  return rows.map((r) => String(r.t));
}
