/**
 * Keeps the running checkpoint: the last acknowledged transaction boundary and the record
 * id counter. Positions are written at most every `intervalMs` (and on flush); id blocks
 * are reserved in the file before any id of the block is used, so that ids only grow,
 * also across crashes.
 */
import type { BinlogPosition } from '../model/binlog-position.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import { type Checkpoint, type SnapshotState, writeCheckpoint } from './checkpoint-store.ts';

const ID_BLOCK = 1_000_000n;

export interface CheckpointRunState {
  readonly binlog: (BinlogPosition & { readonly gtid: string | null }) | null;
}

export interface CheckpointWriterOptions {
  readonly file: string;
  readonly intervalMs: number;
  readonly initial: Checkpoint;
  readonly onWrite?: (position: string) => void;
}

export class CheckpointWriter {
  private readonly o: CheckpointWriterOptions;
  private binlog: Checkpoint['binlog'];
  private snapshot_: Checkpoint['snapshot'];
  private next: bigint;
  private reservedUntil: bigint;
  private dirty = false;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(o: CheckpointWriterOptions) {
    this.o = o;
    this.binlog = o.initial.binlog;
    this.snapshot_ = o.initial.snapshot;
    // Ids of an earlier run may have gone up to its reservation: continue above it.
    this.next = BigInt(o.initial.idReservedUntil);
    this.reservedUntil = this.next;
  }

  get position(): Checkpoint['binlog'] {
    return this.binlog;
  }

  get snapshot(): SnapshotState | null {
    return this.snapshot_;
  }

  /**
   * Records the full-data sync's progress: written now when `now` (a table or the whole sync
   * starts or ends), else at most every intervalMs like binlog positions.
   */
  setSnapshot(state: SnapshotState | null, now = false): void {
    this.snapshot_ = state;
    if (now) this.write();
    else this.schedule();
  }

  nextId(): bigint {
    if (this.next >= this.reservedUntil) {
      this.reservedUntil = this.next + ID_BLOCK;
      this.write();
    }
    return this.next++;
  }

  /** Sets the position explicitly and writes it now (a start from --start-position, or the first start). */
  reset(position: BinlogPosition & { gtid: string | null }): void {
    this.binlog = { file: position.file, position: position.position, gtid: position.gtid };
    this.write();
  }

  advance(position: BinlogPosition, gtid: string | null): void {
    this.binlog = { file: position.file, position: position.position, gtid };
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    const wait = this.lastWrite + this.o.intervalMs - Date.now();
    if (wait <= 0) this.write();
    else if (!this.timer) this.timer = setTimeout(() => { this.timer = null; if (this.dirty) this.write(); }, wait);
  }

  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.dirty) this.write();
  }

  private write(): void {
    writeCheckpoint(this.o.file, { binlog: this.binlog, idReservedUntil: this.reservedUntil.toString(), snapshot: this.snapshot_ });
    this.dirty = false;
    this.lastWrite = Date.now();
    if (this.binlog) this.o.onWrite?.(formatBinlogPosition(this.binlog));
  }
}
