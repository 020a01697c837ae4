/**
 * `--start-timestamp`: the binlog position of the first transaction committed at or after a
 * given time, for a start that does not come from the checkpoint (a lost or corrupt one).
 *
 * The binlog has no index by time, so its files are read: newest first, each only up to its
 * first transaction, until one that began before the time; then that file (and the ones
 * after it) is read to the first transaction whose commit time (its GTID event's time, as
 * the synchronizer's records carry) is at or after the time. Only event headers and
 * transaction boundaries are decoded, never rows. The answer is a transaction boundary,
 * where a start loses nothing of that transaction; no transaction at or after the time means
 * the current end of the binlog. A compressed transaction (MySQL's TRANSACTION_PAYLOAD_EVENT)
 * is opened like the stream opens it (transaction-payload.ts), so its XID, inside the payload,
 * ends it at the payload's end; events that cannot be decoded are skipped here, since a
 * boundary missed only moves the start earlier, and the stream itself stops at them.
 */
import ZongJi from '@vlasky/zongji';
import type { RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../errors.ts';
import { type BinlogPosition, binlogFileNumber, compareBinlogPositions, formatBinlogPosition } from '../model/binlog-position.ts';
import { classifyBinlogError } from './binlog-reader.ts';
import { binlogEnd, connectSource, type SourceConnectionOptions } from './source-inspector.ts';
import { decodeTransactionPayloads, type EventClassOf, loadZongjiEventClasses } from './transaction-payload.ts';

export interface SeekResult {
  readonly position: BinlogPosition;
  /** commit time (UNIX seconds) of the transaction at `position`; null when it is the binlog's end */
  readonly commitTimestamp: number | null;
}

/** How long a scan may see no event before it gives up (the server stopped answering). */
const IDLE_MS = 15_000;
const EVENTS = ['rotate', 'format', 'gtid', 'anonymousgtid', 'previousgtids', 'mariadbgtid', 'mariadbgtidlist', 'binlogcheckpoint', 'xid', 'query', 'xaprepare', 'intvar', 'heartbeat'];

/**
 * The transaction boundary to start from so that every transaction committed at or after
 * `epochSeconds` is read. `serverId` is the one the binlog connection announces (the
 * synchronizer's own, under its server id lock).
 */
export async function binlogPositionAt(source: SourceConnectionOptions, serverId: number, epochSeconds: number): Promise<SeekResult> {
  const conn = await connectSource(source);
  let files: string[];
  let end: BinlogPosition;
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
    files = rows.map((r) => String(r.Log_name));
    end = await binlogEnd(conn);
  } finally {
    await conn.end().catch(() => {});
  }
  if (files.length === 0) throw new SyncError('SOURCE_QUERY_FAILED', 'SHOW BINARY LOGS lists no file: the binlog is off on the source', { retriable: false });
  const target = epochSeconds * 1000;
  // Newest first: the first file whose first transaction is before the time holds the start
  // (or the files after it do).
  const eventClassOf = await loadZongjiEventClasses();
  let from = -1;
  for (let i = files.length - 1; i >= 0; i--) {
    const first = await scan(source, serverId, eventClassOf, { file: files[i]!, position: 4 }, end, () => true, true);
    if (first.found && first.timestamp! < target) {
      from = i;
      break;
    }
  }
  if (from < 0) {
    const oldest = files[0]!;
    if (binlogFileNumber(oldest) !== 1) {
      throw new SyncError('BINLOG_POSITION_PURGED',
        `no binlog file on the source goes back to ${new Date(target).toISOString()} (${epochSeconds}): the oldest, ${oldest}, starts later, ` +
          'and the files before it were purged, so changes since that time may be lost to the binlog. ' +
          `Start at the oldest binlog (--start-position ${oldest}:4) to accept that, or recover with a fresh snapshot (mode initial, no checkpoint file)`);
    }
    from = 0;
  }
  const hit = await scan(source, serverId, eventClassOf, { file: files[from]!, position: 4 }, end, (ms) => ms >= target, false);
  if (hit.found) return { position: hit.start!, commitTimestamp: Math.floor(hit.timestamp! / 1000) };
  return { position: { file: end.file, position: end.position }, commitTimestamp: null };
}

interface ScanResult {
  found: boolean;
  /** the matching transaction's start (a boundary) */
  start?: BinlogPosition;
  /** its GTID event's time, ms */
  timestamp?: number;
}

/**
 * Reads from `start` until a transaction whose GTID event time satisfies `match`, the end of
 * the binlog, or (with `firstFileOnly`) the end of the first file.
 */
function scan(source: SourceConnectionOptions, serverId: number, eventClassOf: EventClassOf, start: BinlogPosition, end: BinlogPosition, match: (ms: number) => boolean, firstFileOnly: boolean): Promise<ScanResult> {
  const zongji = new ZongJi({
    host: source.host,
    port: source.port,
    user: source.user,
    password: source.password,
    ssl: source.ssl,
    connectTimeout: source.connectTimeoutMs ?? 10_000,
  } as ConstructorParameters<typeof ZongJi>[0]);
  return new Promise<ScanResult>((resolve, reject) => {
    let file = start.file;
    let boundary: BinlogPosition = start;
    let settled = false;
    let idle: NodeJS.Timeout | null = null;
    const finish = (r: ScanResult | Error) => {
      if (settled) return;
      settled = true;
      if (idle) clearTimeout(idle);
      zongji.stop();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const touch = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => finish(new SyncError('SOURCE_UNREACHABLE',
        `reading the binlog for --start-timestamp stalled at ${formatBinlogPosition(boundary)} (no event for ${IDLE_MS / 1000} s)`)), IDLE_MS);
    };
    zongji.on('error', (err: unknown) => finish(classifyBinlogError(err, boundary)));
    zongji.on('ready', () => {
      decodeTransactionPayloads(zongji, { eventClassOf, unsupported: 'skip' });
      touch();
    });
    zongji.on('binlog', (e: unknown) => {
      const evt = e as SeekEvent;
      touch();
      const name = evt.getEventName();
      if (name === 'rotate') {
        if (evt.binlogName && evt.binlogName !== file) {
          if (firstFileOnly) return finish({ found: false });
          file = evt.binlogName;
          boundary = { file, position: evt.position ?? 4 };
        }
        return;
      }
      if (name === 'gtid' || name === 'anonymousgtid' || name === 'mariadbgtid') {
        if (match(evt.timestamp)) return finish({ found: true, start: boundary, timestamp: evt.timestamp });
        if (firstFileOnly) return finish({ found: true, start: boundary, timestamp: evt.timestamp });
      } else if (name === 'xid' || (name === 'query' && !/^(BEGIN|XA START|XA END|SAVEPOINT)/i.test((evt.query ?? '').trim()))) {
        // A commit, or a statement that is a transaction of its own (DDL): the next one starts here.
        if (evt.nextPosition > 0) boundary = { file, position: evt.nextPosition };
      }
      if (evt.nextPosition > 0 && compareBinlogPositions({ file, position: evt.nextPosition }, end) >= 0) finish({ found: false });
    });
    zongji.start({
      serverId,
      filename: start.file,
      position: start.position,
      includeEvents: EVENTS,
      includeSchema: {},
    } as never);
  });
}

interface SeekEvent {
  getEventName(): string;
  timestamp: number;
  nextPosition: number;
  binlogName?: string;
  position?: number;
  query?: string;
}
