/**
 * How far the binlog reader is behind the source, in bytes, for the dts_binlog_lag_bytes
 * metric: polled on the session's ordinary source connection every few seconds while it
 * streams. SHOW BINARY LOG STATUS (SHOW MASTER STATUS before MySQL 8.2) answers when the reader is in the source's current file;
 * only when it is in an older one does SHOW BINARY LOGS (which stats every file) add up
 * the files in between. Needs what the synchronizer's user has anyway (BINLOG MONITOR /
 * REPLICATION CLIENT).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition } from '../model/binlog-position.ts';
import { recordBinlogBehind } from '../ops/metrics.ts';
import { binlogStatus } from '../source/source-inspector.ts';

const POLL_MS = 5_000;

export interface BinlogFile {
  readonly name: string;
  readonly size: number;
}

/** Bytes from `at` to the end of the last file; null when `at`'s file is not among them (purged, or another server's). */
export function bytesBehind(files: readonly BinlogFile[], at: BinlogPosition): number | null {
  const i = files.findIndex((f) => f.name === at.file);
  if (i < 0) return null;
  let bytes = Math.max(0, files[i]!.size - at.position);
  for (let j = i + 1; j < files.length; j++) bytes += files[j]!.size;
  return bytes;
}

async function poll(conn: Connection, at: BinlogPosition): Promise<number | null> {
  const end = await binlogStatus(conn);
  if (end.file === at.file) return Math.max(0, end.position - at.position);
  const [logs] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
  return bytesBehind(logs.map((r) => ({ name: String(r.Log_name), size: Number(r.File_size) })), at);
}

/** Polls until the returned function is called; `position` gives the reader's current position. */
export function watchBinlogLag(conn: Connection, position: () => BinlogPosition | null): () => void {
  let busy = false;
  const tick = () => {
    const at = position();
    if (!at || busy) return;
    busy = true;
    // A failed poll only leaves the metric unknown: the session notices a lost connection itself.
    poll(conn, at).then(recordBinlogBehind, () => recordBinlogBehind(null)).finally(() => { busy = false; });
  };
  tick();
  const timer = setInterval(tick, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
