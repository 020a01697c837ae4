/**
 * Keeps the running checkpoint: the last acknowledged transaction boundary, the full-data
 * sync's progress and the record id counter, written to a CheckpointStore (the file, or the
 * compacted Kafka topic of src/ha). Positions are written at most every `intervalMs` (and
 * on flush). Id blocks are reserved in the store before any id of the block is used, so
 * that ids only grow, also across crashes and takeovers.
 *
 * A store may write synchronously (the file) or not (Kafka). Writes land in call order,
 * one at a time; what changes while one is under way is written by the next. With an
 * asynchronous store the next id block is reserved ahead, while half of the current one is
 * still unused (500,000 ids: seconds at any rate we reach, against milliseconds per write).
 *
 * Exactly-once (`exactlyOnce`): every write commits the sink's open Kafka transaction with
 * the checkpoint as its last record (`commitWith`, per session), so a checkpoint describes
 * exactly the records committed with it. Two rules make that true:
 * - the document is taken when the commit's turn comes, once every record sent before it
 *   was acknowledged and the callbacks that advance this writer ran (send-queue.ts);
 * - a commit is queued only where every record sent so far is covered by what this writer
 *   will hold then: the session says after each batch whether it ended at a transaction
 *   boundary (`covered`); a write asked for elsewhere waits for the next covered point.
 * Ids need no reservation then: a crash aborts the records of the open transaction, ids
 * included, and the committed checkpoint carries the next id.
 */
import type { BinlogPosition } from '../model/binlog-position.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import { SyncError } from '../errors.ts';
import { type Checkpoint, type SnapshotState, writeCheckpoint } from './checkpoint-store.ts';

const ID_BLOCK = 1_000_000n;
/** The next block is asked for while this many ids of the current one are left. */
const HALF_BLOCK = ID_BLOCK / 2n;

/** What a store keeps: the checkpoint without the fields the store stamps. */
export type CheckpointDocument = Omit<Checkpoint, 'version' | 'updatedAt'>;

export interface CheckpointStore {
  /** where the checkpoint is, for messages: "checkpoint file x.json", "checkpoint of task t in topic p" */
  readonly where: string;
  /** Durably records the document; a promise when the store is asynchronous. Throws or rejects with a SyncError. */
  write(doc: CheckpointDocument): void | Promise<void>;
}

/**
 * Exactly-once: commits the sink's open transaction with the checkpoint as its last record;
 * `doc` is asked when the commit's turn comes (Sink.commit). Rejects with a SyncError.
 */
export type TransactionCommit = (doc: () => CheckpointDocument) => Promise<void>;

/** The checkpoint file as a store (atomic, synchronous writes: checkpoint-store.ts). */
export function fileCheckpointStore(file: string): CheckpointStore {
  return { where: `checkpoint file ${file}`, write: (doc) => writeCheckpoint(file, doc) };
}

export interface CheckpointRunState {
  readonly binlog: (BinlogPosition & { readonly gtid: string | null }) | null;
}

export interface CheckpointWriterOptions {
  readonly store: CheckpointStore;
  readonly intervalMs: number;
  readonly initial: Checkpoint;
  readonly onWrite?: (position: string) => void;
  /** delivery exactly-once: writes commit the session's transaction (commitWith), not `store` */
  readonly exactlyOnce?: boolean;
}

export class CheckpointWriter {
  private readonly o: CheckpointWriterOptions;
  private binlog: Checkpoint['binlog'];
  private snapshot_: Checkpoint['snapshot'];
  private next: bigint;
  /** ids below this are reserved in the store (its write was acknowledged) */
  private reservedUntil: bigint;
  /** the reservation the next write carries */
  private reserving: bigint;
  private dirty = false;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | null = null;
  /** the asynchronous write under way, if any */
  private writing: Promise<void> | null = null;
  private failure: SyncError | null = null;
  private onError: ((e: SyncError) => void) | null = null;
  /** exactly-once: the session's transaction commit, when a session runs */
  private commit: TransactionCommit | null = null;
  /** exactly-once: every record sent so far is covered by what this writer will hold once they are acknowledged */
  private covered_ = true;

  constructor(o: CheckpointWriterOptions) {
    this.o = o;
    this.binlog = o.initial.binlog;
    this.snapshot_ = o.initial.snapshot;
    // Ids of an earlier run may have gone up to its reservation: continue above it.
    this.next = BigInt(o.initial.idReservedUntil);
    this.reservedUntil = this.next;
    this.reserving = this.next;
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

  /**
   * Reserves the first id block before any record is made (needed with an asynchronous
   * store, whose reservations are acknowledged later; harmless with the file).
   */
  async open(): Promise<void> {
    if (this.o.exactlyOnce === true) return; // ids need no reservation (the file comment)
    this.reserving = this.next + ID_BLOCK;
    this.write();
    await this.flush();
  }

  /**
   * Starts a session: forgets an earlier failed write (the next write carries everything)
   * and tells `onError` of a failed asynchronous write from now on; the session must stop
   * then. Null when the session ended.
   */
  resume(onError: ((e: SyncError) => void) | null): void {
    this.onError = onError;
    if (onError === null || this.failure === null) return;
    this.failure = null;
    this.write();
  }

  nextId(): bigint {
    if (this.o.exactlyOnce === true) return this.next++;
    if (this.next + HALF_BLOCK >= this.reserving) {
      this.reserving = this.next + ID_BLOCK;
      this.write();
    }
    if (this.next >= this.reservedUntil) {
      // Only an asynchronous store whose write has not come back after half a block of ids.
      throw new SyncError('CHECKPOINT_WRITE_FAILED',
        `record id ${this.next} is not reserved yet in the ${this.o.store.where}: its write is slow or failed; the sync resumes from the checkpoint`,
        { retriable: true });
    }
    return this.next++;
  }

  /**
   * Exactly-once: from now on writes commit through `commit` (the session's transactional
   * sink), or through nothing (null: the session ended). A new session starts covered:
   * nothing of it is sent yet.
   */
  commitWith(commit: TransactionCommit | null): void {
    this.commit = commit;
    this.covered_ = true;
  }

  /**
   * Exactly-once: takes the checkpoint last committed (read back after the sink fenced
   * every older producer), forgetting what was acknowledged in a transaction that was
   * aborted since.
   */
  restore(committed: Checkpoint): void {
    this.binlog = committed.binlog;
    this.snapshot_ = committed.snapshot;
    this.next = BigInt(committed.idReservedUntil);
    this.reservedUntil = this.next;
    this.reserving = this.next;
    this.dirty = false;
    this.failure = null;
  }

  /**
   * Exactly-once: whether every record sent so far is covered (the last batch ended at a
   * transaction boundary). A write asked for while not covered waits for the next covered
   * point, and is made there.
   */
  covered(yes: boolean): void {
    if (this.o.exactlyOnce !== true) return;
    this.covered_ = yes;
    if (yes && this.dirty && this.writing === null && Date.now() - this.lastWrite >= this.o.intervalMs) this.write();
  }

  /** Exactly-once: a commit is due and waits for a covered point (the session then cuts its batch at the next boundary). */
  get commitDue(): boolean {
    return this.o.exactlyOnce === true && !this.covered_ && this.dirty && this.writing === null && this.failure === null &&
      Date.now() - this.lastWrite >= this.o.intervalMs;
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

  /** Writes what is not written yet; resolves once the store has it. Rejects with the failure of an asynchronous write. */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.dirty) this.write();
    while (this.writing !== null) await this.writing;
    if (this.dirty && this.failure === null) this.write(); // changed while the last write was under way
    while (this.writing !== null) await this.writing;
    if (this.failure !== null) throw this.failure;
  }

  private document(): CheckpointDocument {
    const idReservedUntil = this.o.exactlyOnce === true ? this.next : this.reserving;
    return { binlog: this.binlog, idReservedUntil: idReservedUntil.toString(), snapshot: this.snapshot_ };
  }

  private write(): void {
    this.dirty = true;
    if (this.writing !== null || this.failure !== null) return; // the write under way is followed by another
    // Exactly-once: only in a session, at a covered point (the file comment).
    if (this.o.exactlyOnce === true && (this.commit === null || !this.covered_)) return;
    let doc: CheckpointDocument | null = null;
    this.dirty = false;
    this.lastWrite = Date.now();
    const done = () => {
      if (doc === null) return;
      if (BigInt(doc.idReservedUntil) > this.reservedUntil) this.reservedUntil = BigInt(doc.idReservedUntil);
      if (doc.binlog) this.o.onWrite?.(formatBinlogPosition(doc.binlog));
    };
    // A commit takes the document later: what changed until then is in it, not left to the next write.
    const take = () => {
      this.dirty = false;
      return (doc = this.document());
    };
    const pending = this.commit !== null ? this.commit(take) : this.o.store.write(take());
    if (pending === undefined) {
      done();
      return;
    }
    this.writing = pending.then(
      () => {
        this.writing = null;
        done();
        // Exactly-once: the next commit in its time, not at once (each commit waits for the sends before it).
        if (this.dirty) { if (this.o.exactlyOnce === true) this.schedule(); else this.write(); }
      },
      (e: unknown) => {
        this.writing = null;
        this.failure = e instanceof SyncError ? e
          : new SyncError('CHECKPOINT_WRITE_FAILED', `writing the ${this.o.store.where} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e, retriable: true });
        this.onError?.(this.failure);
      },
    );
  }
}
