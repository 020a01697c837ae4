/**
 * One synchronizer per `source.serverId` on a source. Two binlog clients announcing the same
 * server id do not coexist: when the second starts its dump, the source kills the first
 * one's (MariaDB and MySQL both, `kill_zombie_dump_threads`); the first reconnects and kills
 * the second's, and both keep writing the same changes to Kafka. So a synchronizer holds a
 * named lock on the source for its server id (`GET_LOCK`, which needs no privilege), on a
 * connection of its own kept for its whole run, and refuses to start when another holds it.
 *
 * The lock lives as long as its connection: a synchronizer that exits or crashes frees it at
 * once (its socket is closed). A connection cut without a clean close keeps it on the source
 * until the source drops that connection; when this synchronizer resumes after such a cut,
 * the holder is its own old connection, which it recognises by id and kills (a user may kill
 * its own connections).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../errors.ts';
import { connectSource, type SourceConnectionOptions } from './source-inspector.ts';

/** The lock's name on the source (at most 64 characters). */
export function serverIdLockName(serverId: number): string {
  return `dts-binlog-kafka.server-id.${serverId}`;
}

export interface LockHolder {
  /** the holder's connection id */
  readonly connectionId: number;
  /** user@host and idle time, when this user may see the holder in the processlist */
  readonly who: string | null;
}

/** Who holds the lock of `serverId` on the source, if anyone (read-only; for the precheck). */
export async function serverIdLockHolder(conn: Connection, serverId: number): Promise<LockHolder | null> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [serverIdLockName(serverId)]);
  const id = rows[0]?.id;
  if (id === null || id === undefined) return null;
  const connectionId = Number(id);
  let who: string | null = null;
  try {
    const [p] = await conn.query<RowDataPacket[]>('SELECT USER AS u, HOST AS h, TIME AS t FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId]);
    if (p[0]) who = `${String(p[0].u)}@${String(p[0].h)}, idle ${String(p[0].t)} s`;
  } catch {
    // without the PROCESS privilege other users' connections are not listed
  }
  return { connectionId, who };
}

/** The message for a server id held by another connection. */
export function serverIdInUseMessage(serverId: number, where: string, holder: LockHolder): string {
  return `source.serverId ${serverId} is in use on ${where}: another synchronizer holds it (its lock connection ${holder.connectionId}` +
    `${holder.who ? `, ${holder.who}` : ''}). Two binlog clients with one server id make the source drop one of them ` +
    'again and again, and both would write the same changes. Stop the other synchronizer, or give this one its own ' +
    'source.serverId (and its own checkpoint.file); if the other one is gone but its host lost the network, the source ' +
    `frees the id when it drops that connection (or run KILL ${holder.connectionId} on the source)`;
}

const QUERY_TIMEOUT_MS = 10_000;
const CHECK_TIMEOUT_MS = 3_000;
const KEEPALIVE_MS = 30_000;

export interface ServerIdLockLogger {
  warn(obj: object, msg: string): void;
}

export class ServerIdLock {
  private readonly source: SourceConnectionOptions;
  private readonly takeOver: boolean;
  private readonly serverId: number;
  private readonly log: ServerIdLockLogger;
  private conn: Connection | null = null;
  /** the connection id that held the lock last: a holder with this id is our own, left from a cut */
  private heldBy: number | null = null;
  private keepalive: NodeJS.Timeout | null = null;

  /**
   * takeOver: the holder is known to be deposed (checkpoint.store kafka: this instance was
   * elected active of its task, so another holder is a former active one, paused or cut
   * off); its lock connection is killed, as our own old one would be.
   */
  constructor(source: SourceConnectionOptions, serverId: number, log: ServerIdLockLogger, takeOver = false) {
    this.takeOver = takeOver;
    this.source = source;
    this.serverId = serverId;
    this.log = log;
  }

  /**
   * Takes the lock, or checks that it is still held. Throws SERVER_ID_IN_USE (not retriable)
   * when another connection holds it; SOURCE_UNREACHABLE (retriable) when the source cannot
   * be asked.
   */
  async acquire(): Promise<void> {
    if (this.conn && (await this.stillHeld())) return;
    await this.drop();
    const name = serverIdLockName(this.serverId);
    const conn = await connectSource(this.source);
    try {
      let got = await this.getLock(conn, name, 0);
      if (!got) {
        const holder = await serverIdLockHolder(conn, this.serverId);
        if (holder && (holder.connectionId === this.heldBy || this.takeOver)) {
          // Our own connection from before a cut: the source has not noticed it is gone. Or a deposed active instance's.
          this.log.warn({ connectionId: holder.connectionId }, `the lock on source.serverId ${this.serverId} is still held by ${holder.connectionId === this.heldBy
            ? "this synchronizer's old connection" : 'the former active instance of this task, connection'} ${holder.connectionId}; killing it`);
          await conn.query(`KILL ${holder.connectionId}`).catch(() => {});
          got = await this.getLock(conn, name, 5);
        }
        if (!got) {
          const now = holder ?? (await serverIdLockHolder(conn, this.serverId));
          throw new SyncError('SERVER_ID_IN_USE', serverIdInUseMessage(this.serverId, `${this.source.host}:${this.source.port}`, now ?? { connectionId: 0, who: null }));
        }
      }
      const [rows] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      this.heldBy = Number(rows[0]!.id);
      this.conn = conn;
      this.startKeepalive();
    } catch (err) {
      await conn.end().catch(() => {});
      throw asSourceError(err, this.source);
    }
  }

  /** Frees the lock (closing its connection frees it too). */
  async release(): Promise<void> {
    const conn = this.conn;
    if (conn) await conn.query('SELECT RELEASE_LOCK(?)', [serverIdLockName(this.serverId)]).catch(() => {});
    this.heldBy = null;
    await this.drop();
  }

  private async getLock(conn: Connection, name: string, waitSeconds: number): Promise<boolean> {
    const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SELECT GET_LOCK(?, ?) AS got', timeout: QUERY_TIMEOUT_MS + waitSeconds * 1000 }, [name, waitSeconds]);
    return Number(rows[0]?.got) === 1;
  }

  private async stillHeld(): Promise<boolean> {
    try {
      // Short: a live source answers at once, and a session waits on this before it resumes.
      const [rows] = await this.conn!.query<RowDataPacket[]>({ sql: 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', timeout: CHECK_TIMEOUT_MS }, [serverIdLockName(this.serverId)]);
      return Number(rows[0]?.mine) === 1;
    } catch {
      return false;
    }
  }

  /** A query now and then keeps the idle connection from the source's wait_timeout, and notices a dead one. */
  private startKeepalive(): void {
    this.keepalive = setInterval(() => {
      void this.stillHeld().then((held) => {
        if (held || !this.conn) return;
        this.log.warn({ serverId: this.serverId }, `lost the lock connection for source.serverId ${this.serverId}; it is taken again before the next binlog connection`);
        void this.drop();
      });
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  private async drop(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    const conn = this.conn;
    this.conn = null;
    // Destroyed rather than ended: a dead connection would never answer COM_QUIT's write.
    conn?.destroy();
  }
}

function asSourceError(err: unknown, o: SourceConnectionOptions): SyncError {
  if (err instanceof SyncError) return err;
  return new SyncError('SOURCE_UNREACHABLE', `cannot take the server id lock on the source ${o.host}:${o.port}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
