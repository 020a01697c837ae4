/**
 * The session's side of the full-data syncs that run while the stream flows (tables added
 * by a config reload, or found new in the config at a start after the initial sync):
 * starts one copy per table (snapshot/stream-snapshot.ts), tells it which keys the stream
 * touched, emits each chunk's surviving rows at the first transaction boundary at or after
 * the chunk's high watermark, and checkpoints a chunk once its records are acknowledged.
 */
import type { Connection } from 'mysql2/promise';
import type { SnapshotState, SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import type { SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BinlogPosition, compareBinlogPositions } from '../model/binlog-position.ts';
import type { RowChangeEvent } from '../model/change-event.ts';
import { messageKey } from '../route/message-key.ts';
import type { RecordRouter } from '../route/record-router.ts';
import type { SinkMessage } from '../sink/sink.ts';
import { connectSource } from '../source/source-inspector.ts';
import { SnapshotProgress } from '../snapshot/progress.ts';
import { initRecords, schemaMessage } from '../snapshot/snapshot-records.ts';
import {
  consistentBinlogPosition, estimateRows, prepareSnapshotConnection, readChunkTable, showCreateTable, sourceServerId, type ChunkEnd,
} from '../snapshot/snapshot-source.ts';
import { ChunkReconciler, runStreamSnapshot } from '../snapshot/stream-snapshot.ts';
import { sourceConnection } from '../config/source-connection.ts';

export interface StreamSnapshotHost {
  config(): SyncConfig;
  readonly logger: Logger;
  readonly checkpoint: CheckpointWriter;
  /** the session's router: the copies' records take its topics, keys, partitions, ids and oversize policy */
  readonly router: RecordRouter;
  /** the last transaction boundary handed on, or null while inside a transaction */
  boundary(): BinlogPosition | null;
  /** pushes records into the stream now (at a boundary); `onAcked` runs once they are acknowledged */
  emit(messages: SinkMessage[], onAcked: () => void): void;
  fail(e: SyncError): void;
}

interface Copy {
  readonly name: string;
  readonly reconciler: ChunkReconciler;
  pending: { low: BinlogPosition; high: BinlogPosition; records: { key: string; record: SinkMessage }[]; end: ChunkEnd; handedOver: () => void } | null;
  connection: Connection | null;
}

export class StreamSnapshots {
  private readonly host: StreamSnapshotHost;
  private readonly copies = new Map<string, Copy>();
  private readonly abort = new AbortController();
  private progress: SnapshotProgress | null = null;

  constructor(host: StreamSnapshotHost) {
    this.host = host;
  }

  has(database: string, table: string): boolean {
    return this.copies.has(`${database}\0${table}`);
  }

  /** Keys the stream just handed on for a table being copied. */
  observe(database: string, table: string, change: RowChangeEvent): void {
    const copy = this.copies.get(`${database}\0${table}`);
    if (!copy) return;
    const keys: string[] = [];
    const after = messageKey(change);
    if (after) keys.push(after.toString('latin1'));
    if (change.operation === 'UPDATE') {
      const before = messageKey({ ...change, after: null });
      if (before) keys.push(before.toString('latin1'));
    }
    copy.reconciler.observe(keys, change.source.position);
  }

  /** Called at each transaction boundary: emits every chunk whose high watermark the stream passed. */
  atBoundary(): void {
    const at = this.host.boundary();
    if (!at) return;
    for (const copy of this.copies.values()) {
      const p = copy.pending;
      if (!p || compareBinlogPositions(at, p.high) < 0) continue;
      copy.pending = null;
      const survivors = copy.reconciler.survivors(p.low, p.records);
      const end = p.end;
      this.host.emit(survivors, () => this.chunkAcknowledged(copy.name, end));
      this.progress?.update(copy.name, (this.stateOf(copy.name)?.rows ?? 0) + end.count);
      p.handedOver();
    }
  }

  /**
   * Starts copying a table whose stream is already on (it was added at the current
   * boundary, or at a restart). `state` is its checkpointed progress, if any.
   */
  async start(database: string, table: string, existing: SnapshotTableState | null): Promise<void> {
    const name = `${database}.${table}`;
    const copyKey = `${database}\0${table}`;
    if (this.copies.has(copyKey)) return;
    const copy: Copy = { name, reconciler: new ChunkReconciler(), pending: null, connection: null };
    // Registered before anything is read, so that every event of the table from now on is matched.
    this.copies.set(copyKey, copy);
    const config = this.host.config();
    let state: SnapshotTableState = existing ?? { database, table, lowWatermark: null, schemaSent: false, lastKey: null, rows: 0, done: false, streamed: true };
    this.saveState(state, true);
    try {
      copy.connection = await connectSource(sourceConnection(config));
      await prepareSnapshotConnection(copy.connection);
      const chunkTable = await readChunkTable(copy.connection, database, table);
      const serverId = await sourceServerId(copy.connection);
      if (config.snapshot.schema && !state.schemaSent) {
        // Read at a watermark of its own, as the chunks are.
        const watermark = await consistentBinlogPosition(copy.connection);
        const schema = schemaMessage(this.host.router, chunkTable, await showCreateTable(copy.connection, chunkTable.schema), watermark, serverId, WHERE);
        await this.whenAtBoundary(() => this.host.emit(schema ? [schema] : [], () => {}));
        state = { ...state, schemaSent: true };
        this.saveState(state, true);
      }
      this.progress ??= new SnapshotProgress(config.snapshot.progress, this.host.logger);
      this.progress.begin(name, await estimateRows(copy.connection, database, table), state.rows);
      this.host.logger.info({ table: name, key: chunkTable.key.name, resumeAfterRows: state.rows },
        'full-data sync of a table added while streaming (the other tables keep streaming)');
      await runStreamSnapshot({
        connection: copy.connection,
        table: chunkTable,
        state,
        chunkRows: config.snapshot.chunkRows,
        logger: this.host.logger,
        signal: this.abort.signal,
        encode: initRecords(this.host.router, serverId, WHERE),
        handOver: (chunk) => new Promise<void>((resolve) => {
          copy.pending = { ...chunk, handedOver: resolve };
          this.atBoundary();
        }),
      }, copy.reconciler);
      if (!this.abort.signal.aborted) this.progress.finish(name);
    } catch (err) {
      if (!this.abort.signal.aborted) {
        this.host.fail(err instanceof SyncError ? err : new SyncError('SOURCE_QUERY_FAILED', `the full-data sync of ${name} failed: ${(err as Error).message}`, { cause: err }));
      }
    } finally {
      await copy.connection?.end().catch(() => {});
    }
  }

  /** Stops copying a table (it was removed from the config): its checkpointed progress is dropped. */
  forget(database: string, table: string): void {
    this.copies.delete(`${database}\0${table}`);
    const snapshot = this.host.checkpoint.snapshot;
    if (snapshot) this.host.checkpoint.setSnapshot({ ...snapshot, tables: snapshot.tables.filter((t) => t.database !== database || t.table !== table) }, true);
  }

  stop(): void {
    this.abort.abort();
    for (const copy of this.copies.values()) copy.pending?.handedOver();
    this.progress?.stop();
  }

  private whenAtBoundary(fn: () => void): Promise<void> {
    return new Promise((resolve) => {
      const attempt = () => {
        if (this.abort.signal.aborted) return resolve();
        if (this.host.boundary()) {
          fn();
          resolve();
        } else setTimeout(attempt, 5);
      };
      attempt();
    });
  }

  private chunkAcknowledged(name: string, end: ChunkEnd): void {
    const state = this.stateOf(name);
    if (!state || state.done) return;
    const chunkRows = this.host.config().snapshot.chunkRows;
    const next: SnapshotTableState = { ...state, lastKey: end.lastKey ?? state.lastKey, rows: state.rows + end.count, done: end.count < chunkRows };
    this.saveState(next, next.done);
    if (next.done) {
      this.copies.delete(`${state.database}\0${state.table}`);
      this.host.logger.info({ table: name, rows: next.rows }, 'full-data sync of an added table done; it streams like the others');
    }
  }

  private stateOf(name: string): SnapshotTableState | undefined {
    return this.host.checkpoint.snapshot?.tables.find((t) => `${t.database}.${t.table}` === name);
  }

  private saveState(state: SnapshotTableState, now: boolean): void {
    const current: SnapshotState = this.host.checkpoint.snapshot ?? {
      start: this.host.checkpoint.position ?? { file: 'unknown.000001', position: 4, gtid: null },
      tables: [],
      done: true,
    };
    const others = current.tables.filter((t) => t.database !== state.database || t.table !== state.table);
    this.host.checkpoint.setSnapshot({ ...current, tables: [...others, state] }, now);
  }
}

/** Where an oversize report places a copied row. */
const WHERE = 'the full-data sync of a table added while streaming';
