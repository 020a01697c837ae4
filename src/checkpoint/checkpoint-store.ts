/**
 * The checkpoint file: where the synchronizer resumes after any stop. Written atomically
 * (write a temporary file, fsync, rename, fsync the folder), so a crash leaves either the
 * old or the new checkpoint, never half of one. A file that does not parse is an error,
 * never a silent start from somewhere else.
 *
 * Record ids: DTS consumers expect `id` never to go backwards, also across restarts. The
 * file reserves ids ahead (`idReservedUntil`); a restart continues above the reservation,
 * so ids of records replayed after a crash are higher than any id written before it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SyncError } from '../errors.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';

export interface Checkpoint {
  readonly version: 1;
  /** the transaction boundary to resume the binlog from; null before the first one */
  readonly binlog: (BinlogPosition & { readonly gtid: string | null }) | null;
  /** ids below this were reserved by an earlier run; the next run starts here */
  readonly idReservedUntil: string;
  /** the initial full-data sync's progress; null when there was none */
  readonly snapshot: SnapshotState | null;
  readonly updatedAt: string;
}

export type CheckpointPosition = BinlogPosition & { readonly gtid: string | null };

/** One table's part of the full-data sync. */
export interface SnapshotTableState {
  readonly database: string;
  readonly table: string;
  /**
   * A binlog position read (consistently) before the table's first chunk: every change to
   * the table committed at or before it is in the rows read, so the stream drops them.
   */
  readonly lowWatermark: CheckpointPosition | null;
  /** the initial schema sync's DDL record of the table was acknowledged */
  readonly schemaSent: boolean;
  /** key of the last row of the last acknowledged chunk (hex of its fields); null before the first */
  readonly lastKey: readonly string[] | null;
  /** rows acknowledged so far */
  readonly rows: number;
  readonly done: boolean;
  /** copied while the stream flows (a table added later; DBLog watermarks), not before it */
  readonly streamed?: boolean;
}

/** The initial full-data sync: where the binlog stream starts after it, and each table's progress. */
export interface SnapshotState {
  /** the stream starts here once every table is done (the first table's low watermark) */
  readonly start: CheckpointPosition;
  readonly tables: readonly SnapshotTableState[];
  readonly done: boolean;
}

const EMPTY: Checkpoint = { version: 1, binlog: null, idReservedUntil: '1', snapshot: null, updatedAt: '' };

/** What to do about a corrupt checkpoint file, the default fix of `parseCheckpoint`. */
const FILE_FIX = 'To start anyway, move the file away and give the start explicitly (--start-position FILE:POS or --start-timestamp SECONDS), or delete it to start from the current end of the binlog (mode incremental) or with a fresh snapshot (mode initial).';

export function readCheckpoint(file: string): Checkpoint | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SyncError('CHECKPOINT_CORRUPT', `checkpoint file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return parseCheckpoint(text, `checkpoint file ${file}`);
}

/**
 * The checkpoint in `text`, validated, or CHECKPOINT_CORRUPT. Pure, and shared by every
 * store (the file, the Kafka topic of src/ha), so that a checkpoint is held to the same rules
 * wherever it lives. `where` names it in messages ("checkpoint file F", "checkpoint of task
 * X in topic T"); `fix` says how to start anyway from that store.
 */
export function parseCheckpoint(text: string, where: string, fix: string = FILE_FIX): Checkpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SyncError('CHECKPOINT_CORRUPT', `${where} is corrupt (${text.length} bytes, not valid JSON: ${(err as Error).message}). ${fix}`, { cause: err });
  }
  const problem = checkShape(parsed);
  if (problem) throw new SyncError('CHECKPOINT_CORRUPT', `${where} is corrupt: ${problem}. ${fix}`);
  return parsed as Checkpoint;
}

function checkShape(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'it is not a JSON object';
  const c = v as Record<string, unknown>;
  if (c.version !== 1) return `unknown version ${JSON.stringify(c.version)} (this build writes 1)`;
  if (typeof c.idReservedUntil !== 'string' || !/^\d+$/.test(c.idReservedUntil)) return 'idReservedUntil is not a decimal string';
  if (c.binlog !== null) {
    const b = c.binlog as Record<string, unknown> | undefined;
    if (typeof b !== 'object' || b === null) return 'binlog is neither null nor an object';
    if (typeof b.file !== 'string' || !/\.\d+$/.test(b.file)) return 'binlog.file is not a binlog file name';
    if (!Number.isSafeInteger(b.position) || (b.position as number) < 4) return 'binlog.position is not a position (an integer >= 4)';
    if (b.gtid !== null && typeof b.gtid !== 'string') return 'binlog.gtid is neither null nor a string';
  }
  if (c.snapshot !== null && c.snapshot !== undefined) {
    const s = c.snapshot as Record<string, unknown>;
    if (typeof s !== 'object' || !Array.isArray(s.tables) || typeof s.done !== 'boolean' || typeof s.start !== 'object' || s.start === null) {
      return 'snapshot is neither null nor {start, tables, done}';
    }
    for (const t of s.tables as Record<string, unknown>[]) {
      if (typeof t?.database !== 'string' || typeof t.table !== 'string' || typeof t.done !== 'boolean' || !Number.isSafeInteger(t.rows)
        || !(t.lastKey === null || (Array.isArray(t.lastKey) && t.lastKey.every((k) => typeof k === 'string' && /^([0-9a-f]{2})*$/.test(k))))) {
        return `snapshot table ${JSON.stringify(t?.database)}.${JSON.stringify(t?.table)} is malformed`;
      }
    }
  }
  return null;
}

export function writeCheckpoint(file: string, checkpoint: Omit<Checkpoint, 'version' | 'updatedAt'>): void {
  const full: Checkpoint = { version: 1, ...checkpoint, updatedAt: new Date().toISOString() };
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, `${JSON.stringify(full, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

export function emptyCheckpoint(): Checkpoint {
  return EMPTY;
}
