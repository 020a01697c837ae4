/**
 * Questions about the source that the synchronizer asks over an ordinary connection:
 * its version, the current end of the binlog, and which tables the configured objects
 * name.
 */
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../errors.ts';
import { tlsFailure, tlsFix } from '../tls-errors.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';

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

export async function binlogEnd(conn: Connection): Promise<BinlogPosition & { gtid: string | null }> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  const r = rows[0];
  if (!r) throw new SyncError('SOURCE_QUERY_FAILED', 'SHOW MASTER STATUS returned nothing: the binlog is off on the source (start it with --log-bin)', { retriable: false });
  let gtid: string | null = null;
  try {
    const [g] = await conn.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS g');
    gtid = g[0]?.g ? String(g[0].g) : null;
  } catch {
    // MySQL has no gtid_binlog_pos; its GTIDs are not needed for file/position resumes.
  }
  return { file: String(r.File), position: Number(r.Position), gtid };
}

/** Every base table of `database`, for `db.*` patterns. */
export async function tablesOf(conn: Connection, database: string): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [database],
  );
  return rows.map((r) => String(r.t));
}
