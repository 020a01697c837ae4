/**
 * The chunk workers of a full-data sync (chunk-worker.ts), seen from the main thread: a
 * fixed number of threads, each with its own source connection, each reading and encoding
 * one chunk at a time. `read` hands a chunk to the next idle worker and resolves with its
 * encoded records; chunks wait in order of call when every worker is busy.
 */
import { Worker } from 'node:worker_threads';
import { SyncError } from '../errors.ts';
import type { SourceConnectionOptions } from '../source/source-inspector.ts';
import type { ChunkKey } from './chunk-query.ts';
import type { ChunkTableContext, ChunkWorkerData, FromChunkWorker, ToChunkWorker } from './chunk-worker.ts';
import type { EncodedChunk } from './encoded-chunk.ts';

export interface ChunkResult {
  /** the worker that read it, to give its buffers back to (recycle) */
  readonly worker: number;
  readonly count: number;
  readonly lastKey: ChunkKey | null;
  /** the row width differed from the table's schema (an ALTER since it was read): no records */
  readonly schemaChanged: boolean;
  readonly records: EncodedChunk;
  /** when the worker started reading it (ms), the records' readerThroughoutTime */
  readonly readAtMs: number;
}

type ChunkRequest = Extract<ToChunkWorker, { type: 'chunk' }>;

interface Job {
  readonly request: ChunkRequest;
  readonly resolve: (r: ChunkResult) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  job: Job | null;
  exited: boolean;
}

const ENTRY = new URL('./chunk-worker-entry.mjs', import.meta.url);
const CLOSE_WAIT_MS = 2_000;

export class ChunkPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextSeq = 0;
  private nextTableId = 0;
  private failure: SyncError | null = null;

  constructor(size: number, connection: SourceConnectionOptions) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a chunk pool needs at least one worker, got ${size}`);
    const workerData: ChunkWorkerData = { connection };
    for (let i = 0; i < size; i++) {
      const slot: Slot = { index: i, worker: new Worker(ENTRY, { workerData }), job: null, exited: false };
      slot.worker.on('message', (m: FromChunkWorker) => this.answered(slot, m));
      slot.worker.on('error', (err) => this.crashed(slot, err));
      slot.worker.on('exit', (code) => {
        slot.exited = true;
        if (slot.job) this.crashed(slot, new Error(`the thread exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Gives every worker a table's schema and record context; chunks of it name the id returned. */
  addTable(context: ChunkTableContext): number {
    const tableId = this.nextTableId++;
    const m: ToChunkWorker = { type: 'table', tableId, context };
    for (const s of this.slots) if (!s.exited) s.worker.postMessage(m);
    return tableId;
  }

  /** The rows after `after` up to and including `upTo` (with no upTo: at most `limit` rows), encoded. */
  read(tableId: number, after: ChunkKey | null, upTo: ChunkKey | null, limit: number): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { type: 'chunk', seq: this.nextSeq++, tableId, after, upTo, limit }, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Gives a chunk's memory back to the worker that filled it, once its records are sent and
   * acknowledged (nothing may read them afterwards: their views go empty), so that workers
   * write into the same few buffers instead of new ones that the main thread must collect.
   */
  recycle(result: ChunkResult): void {
    const slot = this.slots[result.worker];
    if (!slot || slot.exited || this.failure) return;
    const { bytes, offsets } = result.records;
    const m: ToChunkWorker = { type: 'recycle', buffers: { bytes, offsets } };
    slot.worker.postMessage(m, [bytes, offsets.buffer as ArrayBuffer]);
  }

  /** Ends every worker (their connections closed); chunks not answered yet are rejected. */
  async close(): Promise<void> {
    this.fail(new SyncError('SOURCE_QUERY_FAILED', 'the full-data sync stopped before this chunk was read'));
    await Promise.all(this.slots.map(async (s) => {
      if (s.exited) return;
      const gone = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
      s.worker.postMessage({ type: 'close' } satisfies ToChunkWorker);
      const timer = setTimeout(() => void s.worker.terminate(), CLOSE_WAIT_MS);
      await gone;
      clearTimeout(timer);
    }));
  }

  private dispatch(): void {
    for (const s of this.slots) {
      if (this.queue.length === 0) return;
      if (s.job || s.exited) continue;
      const job = this.queue.shift()!;
      s.job = job;
      s.worker.postMessage(job.request);
    }
  }

  private answered(slot: Slot, m: FromChunkWorker): void {
    if (m.type === 'closed') return;
    const job = slot.job;
    if (!job || job.request.seq !== m.seq) return;
    slot.job = null;
    if (m.type === 'chunk') {
      job.resolve({ worker: slot.index, count: m.count, lastKey: m.lastKey, schemaChanged: m.schemaChanged, records: m.records, readAtMs: m.readAtMs });
    } else if (m.code !== null) {
      job.reject(new SyncError(m.code as never, m.message, { retriable: m.retriable }));
    } else {
      job.reject(new Error(m.message));
    }
    this.dispatch();
  }

  private crashed(slot: Slot, err: unknown): void {
    const message = `a chunk worker of the full-data sync failed: ${(err as Error).message ?? String(err)}`;
    const e = new SyncError('SNAPSHOT_WORKER_FAILED', message, { cause: err });
    const job = slot.job;
    slot.job = null;
    job?.reject(e);
    this.fail(e);
  }

  /** Rejects every waiting chunk, and every later read, with `e`. */
  private fail(e: SyncError): void {
    this.failure ??= e;
    for (const job of this.queue.splice(0)) job.reject(this.failure);
  }
}
