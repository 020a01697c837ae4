/**
 * The binlog listener: wraps zongji, keeps values exact (zongji-exact-rows.ts), tracks
 * positions and transactions, and hands normalised events to one handler. It knows
 * nothing of schemas, DTS or Kafka.
 *
 * Positions: every event carries the binlog file it is in and its end position; every
 * row and DDL carries its transaction's start (the end of the previous transaction), the
 * place a reader can restart from without losing it. A transaction's commit time is the
 * time of its GTID event, which both MariaDB and MySQL write at commit, so rows need not
 * wait for the commit event to know it.
 */
import ZongJi, { GtidSet } from '@vlasky/zongji';
import { SyncError } from '../errors.ts';
import { type BinlogPosition, formatBinlogPosition } from '../model/binlog-position.ts';
import type { SourceConnectionOptions } from './source-inspector.ts';
import type { TableMapInfo } from './table-schema-resolver.ts';
import { decodeTransactionPayloads, loadZongjiEventClasses } from './transaction-payload.ts';
import { installExactRowReader, type RawValue } from './zongji-exact-rows.ts';

export interface TransactionInfo {
  /** where a reader restarts to see this transaction whole */
  readonly start: BinlogPosition;
  readonly gtid: string | null;
  /** UNIX seconds */
  readonly commitTimestamp: number;
  readonly serverId: number;
  /**
   * The session thread that wrote the transaction: its BEGIN query event's thread id
   * (MySQL writes one; MariaDB's GTID event stands for BEGIN and carries none: 0).
   */
  readonly threadId: number;
}

export interface BinlogRowsEvent {
  readonly kind: 'rows';
  readonly operation: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly database: string;
  readonly table: string;
  /** the table as the binlog describes it at this position (see table-schema-resolver.ts) */
  readonly tableMap: TableMapInfo;
  /** INSERT/DELETE: one image per row; UPDATE: before and after */
  readonly rows: readonly RawValue[][] | readonly { before: RawValue[]; after: RawValue[] }[];
  /** end of the rows event */
  readonly position: BinlogPosition;
  readonly transaction: TransactionInfo;
}

export interface BinlogDdlEvent {
  readonly kind: 'ddl';
  /** the default database the statement ran in ('' when none) */
  readonly database: string;
  readonly sql: string;
  readonly threadId: number;
  readonly position: BinlogPosition;
  readonly transaction: TransactionInfo;
}

export interface BinlogCommitEvent {
  readonly kind: 'commit';
  /** end of the commit event: the next transaction starts here */
  readonly position: BinlogPosition;
  readonly transaction: TransactionInfo;
  /**
   * What a checkpoint at this boundary stores as its GTID: on MySQL the executed GTID set up
   * to and including this transaction (null when the reader started at a file and position
   * it had no set for), on MariaDB the transaction's own GTID (its domain-server-sequence).
   */
  readonly resumeGtid: string | null;
}

export type BinlogEvent = BinlogRowsEvent | BinlogDdlEvent | BinlogCommitEvent;


export interface BinlogReaderOptions {
  readonly connection: SourceConnectionOptions;
  /** the replica server id the reader announces; unique among the source's replicas */
  readonly serverId: number;
  /**
   * where to start: a transaction boundary, or 'end' for the current end of the binlog. A
   * MySQL GTID set in `gtid` (`uuid:1-27[,...]`, tagged `uuid:1-27:tag:1`) makes the reader
   * resume by it (COM_BINLOG_DUMP_GTID): the server finds the file itself and skips what the
   * set holds, so a purge of older files or a failover to a replica keeps the place.
   */
  readonly startAt: (BinlogPosition & { readonly gtid?: string | null }) | 'end';
  /** databases and tables whose rows are decoded (true: every table of the database) */
  readonly include: Record<string, string[] | true>;
  readonly onEvent: (event: BinlogEvent) => void;
  /** a fatal error, or a retriable one the caller decides to retry (see classifyBinlogError) */
  readonly onError: (error: SyncError) => void;
  /**
   * Heartbeat period asked of the source (`@master_heartbeat_period`), ms; default 5,000. The
   * server sends a heartbeat whenever it has had nothing to send for this long, so a
   * connection that delivers no byte for IDLE_PERIODS periods (while not paused) is dead: a
   * cut without a clean close, or a server that stopped answering. It is reported to
   * onError as a retriable SOURCE_UNREACHABLE.
   */
  readonly heartbeatMs?: number;
}

/** Heartbeat periods without a byte after which the binlog connection is taken as dead. */
export const IDLE_PERIODS = 3;

const ROW_OPERATIONS: Record<string, 'INSERT' | 'UPDATE' | 'DELETE'> = {
  writerows: 'INSERT',
  updaterows: 'UPDATE',
  deleterows: 'DELETE',
};

/** One connection to the binlog, from a position, until stop() or an error. */
/**
 * How zongji is asked to hand over the values the exact row reader leaves to it, so that
 * they stay exact: 64-bit integers as strings, JSON as text, classic temporal types as UTC
 * strings (scripts/bench-parse.ts measures zongji alone with the same).
 */
export const ZONGJI_VALUE_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  jsonStrings: true,
  timezone: 'Z',
} as const;

export class BinlogReader {
  private readonly opts: BinlogReaderOptions;
  private zongji: ZongJi | null = null;
  private file = '';
  /** end of the last transaction boundary seen: where the current transaction starts */
  private boundary: BinlogPosition | null = null;
  private tx: TransactionInfo | null = null;
  private stopped = false;
  /** set by pause(); the idle watchdog does not count paused time */
  private paused = false;
  private lastData = Date.now();
  private watchdog: NodeJS.Timeout | null = null;
  /** MySQL: the executed GTID set, when the start gave one; grows at each commit */
  private executed: GtidSet | null = null;
  /** TableMap details zongji does not keep (primary key, geometry types), by table id */
  private readonly mapExtras = new Map<number, { primaryKey: number[] | null; geometryTypes: number[] | null }>();
  /** one TableMapInfo per zongji table map entry, so that consumers can cache by identity */
  private readonly mapInfos = new WeakMap<object, TableMapInfo>();

  constructor(opts: BinlogReaderOptions) {
    this.opts = opts;
  }

  /** Connects and resolves once the server streams (or rejects with a classified error). */
  async start(): Promise<void> {
    await installExactRowReader();
    const eventClassOf = await loadZongjiEventClasses();
    const c = this.opts.connection;
    const zongji = new ZongJi({
      host: c.host,
      port: c.port,
      user: c.user,
      password: c.password,
      ssl: c.ssl,
      connectTimeout: c.connectTimeoutMs ?? 10_000,
      ...ZONGJI_VALUE_OPTIONS,
    } as ConstructorParameters<typeof ZongJi>[0]);
    this.zongji = zongji;
    const start = this.opts.startAt;
    const gtidSet = start !== 'end' && isMysqlGtidSet(start.gtid) ? start.gtid : null;
    if (start !== 'end') {
      this.file = start.file;
      this.boundary = { file: start.file, position: start.position };
    }
    if (gtidSet !== null) this.executed = GtidSet.parse(gtidSet);
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      zongji.on('ready', () => {
        ready = true;
        // Compressed transactions through zongji's own row path; undecodable events stop the stream.
        decodeTransactionPayloads(zongji, { eventClassOf, unsupported: 'fail' });
        // Queued on the binlog connection before zongji's dump command (added right after 'ready').
        this.watchLiveness(zongji);
        resolve();
      });
      zongji.on('error', (err: unknown) => {
        const e = classifyBinlogError(err, start === 'end' ? null : (this.boundary ?? start));
        if (!ready) reject(e);
        else if (!this.stopped) this.opts.onError(e);
      });
      zongji.on('binlog', (evt: unknown) => {
        try {
          this.onZongjiEvent(evt as ZongjiEvent);
        } catch (err) {
          this.opts.onError(err instanceof SyncError ? err : new SyncError('SOURCE_QUERY_FAILED', `binlog event could not be read: ${(err as Error).message}`, { cause: err, retriable: false }));
        }
      });
      zongji.start({
        serverId: this.opts.serverId,
        ...(start === 'end' ? { startAtEnd: true } : gtidSet !== null ? { gtidSet } : { filename: start.file, position: start.position }),
        includeEvents: ['rotate', 'mariadbgtid', 'gtid', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query'],
        includeSchema: this.opts.include,
      });
    });
    if (start === 'end') {
      // zongji has resolved the end of the binlog by now.
      const o = (zongji as unknown as { options: { filename: string; position: number } }).options;
      this.file = o.filename;
      this.boundary = { file: o.filename, position: o.position };
      // On MySQL zongji seeded its set from @@gtid_executed (undefined on MariaDB).
      const seeded = (zongji as unknown as { gtidSet?: string }).gtidSet;
      if (isMysqlGtidSet(seeded)) this.executed = GtidSet.parse(seeded);
    }
  }

  /** The transaction boundary the stream has passed last: a safe restart point. */
  get position(): BinlogPosition | null {
    return this.boundary;
  }

  /** Changes which tables are decoded, without reconnecting. */
  setInclude(include: Record<string, string[] | true>): void {
    this.zongji?.start({ includeSchema: include } as never);
  }

  /** Stops reading from the socket (backpressure); events already parsed still arrive. */
  pause(): void {
    this.paused = true;
    connectionOf(this.zongji)?.pause();
  }

  resume(): void {
    this.paused = false;
    this.lastData = Date.now();
    connectionOf(this.zongji)?.resume();
  }

  /**
   * Asks the source for heartbeats and watches the socket: no byte for IDLE_PERIODS
   * heartbeat periods while not paused means the connection is dead.
   */
  private watchLiveness(zongji: ZongJi): void {
    const heartbeatMs = this.opts.heartbeatMs ?? 5_000;
    const conn = (zongji as unknown as { connection: LivenessConnection | null }).connection;
    if (!conn) return;
    // In nanoseconds; MariaDB and MySQL read the user variable when the dump starts.
    conn.query(`SET @master_heartbeat_period = ${Math.round(heartbeatMs) * 1_000_000}`, (err) => {
      if (err && !this.stopped) this.opts.onError(classifyBinlogError(err, this.boundary));
    });
    this.lastData = Date.now();
    conn.stream?.on('data', () => { this.lastData = Date.now(); });
    const limit = heartbeatMs * IDLE_PERIODS;
    this.watchdog = setInterval(() => {
      if (this.stopped || this.paused) return;
      const silent = Date.now() - this.lastData;
      if (silent < limit) return;
      this.clearWatchdog();
      const c = this.opts.connection;
      this.opts.onError(new SyncError('SOURCE_UNREACHABLE',
        `the binlog connection to ${c.host}:${c.port} delivered nothing for ${silent} ms, though the source sends a heartbeat every ${heartbeatMs} ms ` +
          `(source.heartbeatMs): the connection is taken as dead (cut without a clean close, or the server hangs); reconnecting` +
          `${this.boundary ? ` from ${formatBinlogPosition(this.boundary)}` : ''}`,
        { retriable: true }));
    }, Math.max(50, Math.min(1_000, heartbeatMs / 2)));
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  stop(): void {
    this.clearWatchdog();
    this.stopped = true;
    this.zongji?.stop();
    this.zongji = null;
  }

  private onZongjiEvent(evt: ZongjiEvent): void {
    const name = evt.getEventName();
    switch (name) {
      case 'rotate':
        // The artificial rotate at connect and the real one at a file's end both name the next file.
        if (evt.binlogName && evt.binlogName !== this.file) {
          this.file = evt.binlogName;
          this.boundary = { file: evt.binlogName, position: evt.position ?? 4 };
        }
        return;
      case 'mariadbgtid':
      case 'gtid':
        this.tx = {
          start: this.boundary ?? { file: this.file, position: 4 },
          gtid: evt.gtid ?? null,
          commitTimestamp: Math.floor(evt.timestamp / 1000),
          serverId: Number(evt.serverId ?? 0),
          threadId: 0,
        };
        return;
      case 'tablemap':
        this.mapExtras.set(evt.tableId!, { primaryKey: evt.primaryKey ?? null, geometryTypes: evt.geometryTypes ?? null });
        return;
      case 'writerows':
      case 'updaterows':
      case 'deleterows': {
        const map = evt.tableMap?.[evt.tableId!];
        if (!map || !evt.rows) return;
        this.opts.onEvent({
          kind: 'rows',
          operation: ROW_OPERATIONS[name]!,
          database: map.parentSchema,
          table: map.tableName,
          tableMap: this.tableMapInfo(evt.tableId!, map),
          rows: evt.rows as BinlogRowsEvent['rows'],
          position: { file: this.file, position: evt.nextPosition },
          transaction: this.currentTx(evt),
        });
        return;
      }
      case 'xid':
        this.commit(evt);
        return;
      case 'query': {
        const sql = (evt.query ?? '').trim();
        const upper = sql.toUpperCase();
        if (upper === 'BEGIN' || upper.startsWith('XA START')) {
          // The thread that runs the transaction: row events carry none, so its rows take this one.
          const tx = this.currentTx(evt);
          this.tx = { ...tx, threadId: Number(evt.slaveProxyId ?? 0) };
          return;
        }
        if (upper.startsWith('XA END') || upper.startsWith('SAVEPOINT')) return;
        if (upper === 'COMMIT' || upper === 'ROLLBACK' || upper.startsWith('XA COMMIT') || upper.startsWith('XA ROLLBACK')) {
          this.commit(evt);
          return;
        }
        // A statement logged as a query in ROW format is DDL (or a grant, which the
        // schema history ignores). It is a transaction of its own.
        const tx = this.currentTx(evt);
        const position = { file: this.file, position: evt.nextPosition };
        this.opts.onEvent({ kind: 'ddl', database: evt.schema ?? '', sql, threadId: Number(evt.slaveProxyId ?? 0), position, transaction: tx });
        this.opts.onEvent({ kind: 'commit', position, transaction: tx, resumeGtid: this.resumeGtid(tx) });
        this.boundary = position;
        this.tx = null;
        return;
      }
      default:
        return;
    }
  }

  private tableMapInfo(tableId: number, map: ZongjiTableMap): TableMapInfo {
    let info = this.mapInfos.get(map);
    if (!info) {
      const extras = this.mapExtras.get(tableId);
      info = {
        database: map.parentSchema,
        table: map.tableName,
        columns: map.columns,
        columnSchemas: map.columnSchemas,
        primaryKey: extras?.primaryKey ?? null,
        geometryTypes: extras?.geometryTypes ?? null,
      };
      this.mapInfos.set(map, info);
    }
    return info;
  }

  private commit(evt: ZongjiEvent): void {
    const tx = this.currentTx(evt);
    const position = { file: this.file, position: evt.nextPosition };
    this.opts.onEvent({ kind: 'commit', position, transaction: tx, resumeGtid: this.resumeGtid(tx) });
    this.boundary = position;
    this.tx = null;
  }

  /** Folds the committed transaction into the executed set (MySQL) and says what a checkpoint here stores. */
  private resumeGtid(tx: TransactionInfo): string | null {
    if (tx.gtid === null || !tx.gtid.includes(':')) return tx.gtid; // MariaDB's d-s-n, or none
    if (!this.executed) return null;
    this.executed.add(tx.gtid);
    return this.executed.toString();
  }

  // A transaction whose GTID event came before the reader's start has none: use the event's own time.
  private currentTx(evt: ZongjiEvent): TransactionInfo {
    if (!this.tx) {
      this.tx = {
        start: this.boundary ?? { file: this.file, position: 4 },
        gtid: evt.gtid ?? null,
        commitTimestamp: Math.floor(evt.timestamp / 1000),
        serverId: 0,
        threadId: 0,
      };
    }
    return this.tx;
  }
}

interface ZongjiEvent {
  getEventName(): string;
  timestamp: number;
  nextPosition: number;
  gtid?: string;
  serverId?: number | string;
  binlogName?: string;
  position?: number;
  tableId?: number;
  tableMap?: Record<number, ZongjiTableMap>;
  primaryKey?: number[];
  geometryTypes?: number[];
  rows?: unknown[];
  query?: string;
  schema?: string;
  slaveProxyId?: number;
}

interface ZongjiTableMap {
  parentSchema: string;
  tableName: string;
  columns: TableMapInfo['columns'];
  columnSchemas: TableMapInfo['columnSchemas'];
}

interface LivenessConnection {
  query(sql: string, cb: (err: unknown) => void): void;
  stream?: { on(event: 'data', listener: () => void): void };
}

function connectionOf(z: ZongJi | null): { pause(): void; resume(): void } | null {
  return (z as unknown as { connection: { pause(): void; resume(): void } | null } | null)?.connection ?? null;
}

/**
 * Sorts binlog connection errors: a purged or missing position is fatal (a fresh
 * snapshot is the only way on), a refused login is fatal, anything else on the wire is
 * retriable.
 */
export function classifyBinlogError(err: unknown, at: BinlogPosition | null): SyncError {
  if (err instanceof SyncError) return err;
  const e = err as { errno?: number; code?: string; message?: string };
  const msg = e?.message ?? String(err);
  const where = at ? formatBinlogPosition(at) : 'the requested position';
  if (e?.errno === 1236 || /could not find first log file|purged|1236/i.test(msg)) {
    return new SyncError('BINLOG_POSITION_PURGED',
      `the source no longer has binlog position ${where} (${msg}); the changes since then are lost to the binlog. ` +
      'Recover with a fresh snapshot: delete the checkpoint file and start again with mode "initial".',
      { cause: err });
  }
  // zongji's own report of an event it skips (transaction-payload.ts stops at such events
  // first, with the position; this catches any it reports another way): never retried,
  // since a retry meets the same event again.
  if (/zongji cannot decode/i.test(msg)) {
    return new SyncError('SOURCE_EVENT_UNSUPPORTED', `the binlog at ${where} holds an event the synchronizer cannot decode: ${msg}`, { cause: err });
  }
  if (e?.errno === 1045 || e?.code === 'ER_ACCESS_DENIED_ERROR') {
    return new SyncError('SOURCE_UNREACHABLE', `the source refused the login: ${msg}; check source.user and source.password`, { cause: err, retriable: false });
  }
  if (e?.errno === 1227 || e?.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
    return new SyncError('SOURCE_UNREACHABLE',
      `the source user lacks a privilege to read the binlog: ${msg}; grant REPLICATION SLAVE and REPLICATION CLIENT (BINLOG MONITOR on MariaDB)`,
      { cause: err, retriable: false });
  }
  return new SyncError('SOURCE_UNREACHABLE', `binlog connection failed at ${where}: ${msg}`, { cause: err });
}

/** A MySQL GTID set (`uuid:1-5,uuid2:1-3`), as opposed to MariaDB's `0-1-42` positions. */
export function isMysqlGtidSet(gtid: string | null | undefined): gtid is string {
  return typeof gtid === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:/i.test(gtid);
}
