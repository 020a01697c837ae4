/**
 * One run of the incremental sync, from a checkpoint to a stop or an error: the one place
 * that wires the source side (binlog reader, schema) to the encoding side (DTS codec) and
 * the sink (Kafka), and advances the checkpoint as the broker acknowledges.
 *
 * Flow and memory: records are sent in batches, at most MAX_IN_FLIGHT batches at once; a
 * batch closes at a transaction's commit when a send slot is free, or when it is full.
 * When every slot is taken and the pending batch is full, the binlog connection is paused
 * (not buffered), and resumed as acknowledgements come back.
 */
import type { Connection } from 'mysql2/promise';
import { type CheckpointRunState, CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import { matchesObject, topicFor, type SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BinlogPosition, compareBinlogPositions, formatBinlogPosition } from '../model/binlog-position.ts';
import type { DdlEvent, RowChangeEvent, SourceInfo } from '../model/change-event.ts';
import { RecordRouter } from '../route/record-router.ts';
import type { TableSchema } from '../model/table-schema.ts';
import type { Sink, SinkMessage } from '../sink/sink.ts';
import { BinlogReader, type BinlogDdlEvent, type BinlogEvent, type BinlogRowsEvent } from '../source/binlog-reader.ts';
import { normalizeRow } from '../source/row-normalizer.ts';
import { readTableSchema } from '../source/schema-reader.ts';
import { resolveTableSchema, type TableMapInfo } from '../source/table-schema-resolver.ts';
import type { RawValue } from '../source/zongji-exact-rows.ts';
import type { SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import { ddlDatabases, ddlTarget } from './ddl-target.ts';
import { StreamSnapshots } from './stream-snapshots.ts';
import { selectedTables } from './selected-tables.ts';
import { InFlight } from './in-flight.ts';
import { sourceConnection } from '../config/source-connection.ts';
import { observeQueue, recordBinlogEvent, recordRowsRead } from '../ops/metrics.ts';

const MAX_IN_FLIGHT = 4;
const MAX_BATCH_RECORDS = 5_000;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface SyncSessionOptions {
  readonly config: SyncConfig;
  readonly logger: Logger;
  readonly source: Connection;
  readonly sourceVersion: string;
  readonly sink: Sink;
  readonly checkpoint: CheckpointWriter;
  readonly start: CheckpointRunState;
  /**
   * Per table (`db\0table`), the initial snapshot's low watermark: row events at or before
   * it are already in the snapshot's rows and are dropped (snapshot/full-sync.ts).
   */
  readonly snapshotWatermarks?: ReadonlyMap<string, BinlogPosition>;
  /** tables whose full-data sync runs while streaming (added after the initial sync), with their progress */
  readonly streamedSnapshots?: readonly { database: string; table: string; state: SnapshotTableState | null }[];
}

interface PendingBatch {
  messages: SinkMessage[];
  bytes: number;
  boundary: { position: BinlogPosition; gtid: string | null } | null;
  /** run once the batch is acknowledged (a streamed snapshot's chunk progress) */
  onAcked: (() => void)[];
}

export class SyncSession {
  private o: SyncSessionOptions;
  private readonly log: Logger;
  private reader: BinlogReader | null = null;
  private readonly current = new Map<string, TableSchema | null>();
  private readonly resolved = new WeakMap<TableMapInfo, TableSchema>();
  private partitions = new Map<string, number>();
  private inFlight: InFlight;
  private batch: PendingBatch = { messages: [], bytes: 0, boundary: null, onAcked: [] };
  /** the last transaction boundary handed on; null inside a transaction */
  private boundaryAt: BinlogPosition | null = null;
  /** config changes waiting for the next transaction boundary */
  private readonly atNextBoundary: (() => void)[] = [];
  private readonly streamSnapshots: StreamSnapshots;
  private paused = false;
  /** records of the pending batch up to its boundary (the last commit read) */
  private atBoundary = 0;
  private failed: SyncError | null = null;
  /** records after the last transaction boundary were sent (a full batch cut inside a transaction) */
  private sentBeyondBoundary = false;
  private settle: ((e: SyncError | null) => void) | null = null;
  private readonly started = Date.now();
  records = 0;
  /** topic, key, partition and oversize policy of every record this session sends */
  private readonly router: RecordRouter;
  lastEventPosition: BinlogPosition | null = null;

  constructor(o: SyncSessionOptions) {
    this.o = o;
    this.log = o.logger;
    this.router = new RecordRouter({
      config: () => this.o.config, sink: o.sink, logger: o.logger, scope: 'in this session',
      partitions: (topic) => this.partitions.get(topic) ?? 1, sourceVersion: o.sourceVersion, nextId: () => o.checkpoint.nextId(),
    });
    this.inFlight = new InFlight(o.start.binlog ? { position: o.start.binlog, gtid: o.start.binlog.gtid } : null);
    this.boundaryAt = o.start.binlog;
    this.streamSnapshots = new StreamSnapshots({
      config: () => this.o.config,
      logger: o.logger,
      checkpoint: o.checkpoint,
      router: this.router,
      boundary: () => this.boundaryAt,
      emit: (messages, onAcked) => {
        for (const m of messages) this.push(m);
        this.batch.onAcked.push(onAcked);
        // Emitted at a boundary: they belong before it, and go out now even when the source is idle.
        this.atBoundary = this.batch.messages.length;
        if (this.inFlight.batches < MAX_IN_FLIGHT) this.flush(false);
      },
      fail: (e) => this.fail(e),
    });
  }

  /** Runs until `signal` aborts (resolves after a clean drain) or an error (rejects). */
  async run(signal: AbortSignal): Promise<void> {
    const { config } = this.o;
    const tables = await selectedTables(this.o.source, config);
    for (const [db, table] of tables) this.current.set(key(db, table), await readTableSchema(this.o.source, db, table));
    // The default topic takes what has no table of its own: DDL records, when they are on.
    const topics = [...new Set([...(config.ddl.emit ? [config.topics.default] : []), ...tables.map(([d, t]) => topicFor(config, d, t))])];
    this.partitions = await this.o.sink.ensureTopics(topics, {
      create: config.kafka.createTopics,
      partitions: config.kafka.topicPartitions,
      replicationFactor: config.kafka.topicReplicationFactor,
    });
    const start = this.o.start.binlog;
    if (!start) throw new SyncError('CHECKPOINT_CORRUPT', 'no start position: the caller must resolve one');
    this.log.info({ position: formatBinlogPosition(start), gtid: start.gtid, tables: tables.length, topics }, 'starting binlog stream');

    const done = new Promise<SyncError | null>((resolve) => { this.settle = resolve; });
    this.reader = new BinlogReader({
      connection: sourceConnection(config),
      serverId: config.source.serverId,
      heartbeatMs: config.source.heartbeatMs,
      startAt: start,
      include: this.includeMap(tables),
      onEvent: (e) => this.onEvent(e),
      onError: (e) => this.fail(e),
    });
    await this.reader.start();
    for (const t of this.o.streamedSnapshots ?? []) void this.streamSnapshots.start(t.database, t.table, t.state);
    const unobserve = observeQueue(() => ({
      batchesInFlight: this.inFlight.batches, maxBatchesInFlight: MAX_IN_FLIGHT, bytesInFlight: this.inFlight.bytes,
      pendingRecords: this.batch.messages.length, paused: this.paused,
    }));
    const onAbort = () => this.settle?.(null);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const error = await done;
    signal.removeEventListener('abort', onAbort);
    await this.drain();
    unobserve();
    // A failure while draining (the last sends, the last checkpoint write) counts too.
    if (error ?? this.failed) throw error ?? this.failed;
  }

  /**
   * Applies an edited config at the next transaction boundary: tables added start
   * streaming there (and, in mode initial, are copied while the stream flows), tables
   * removed stop there, topic and DDL changes apply from there. Resolves once applied.
   */
  async reconfigure(next: SyncConfig): Promise<void> {
    const k = ([d, t]: readonly [string, string]) => key(d, t);
    const before = await selectedTables(this.o.source, this.o.config);
    const after = await selectedTables(this.o.source, next);
    const had = new Set(before.map(k));
    const has = new Set(after.map(k));
    const added = after.filter((t) => !had.has(k(t)));
    const removed = before.filter((t) => !has.has(k(t)));
    const schemas = new Map<string, TableSchema>();
    for (const t of added) schemas.set(k(t), await readTableSchema(this.o.source, t[0], t[1]));
    const topics = [...new Set([...(next.ddl.emit ? [next.topics.default] : []), ...after.map(([d, t]) => topicFor(next, d, t))])];
    const partitions = await this.o.sink.ensureTopics(topics, {
      create: next.kafka.createTopics, partitions: next.kafka.topicPartitions, replicationFactor: next.kafka.topicReplicationFactor,
    });
    await new Promise<void>((resolve) => {
      const apply = () => {
        this.o = { ...this.o, config: next };
        for (const [topic, n] of partitions) this.partitions.set(topic, n);
        for (const [name, schema] of schemas) this.current.set(name, schema);
        for (const t of removed) {
          this.current.delete(k(t));
          if (this.streamSnapshots.has(t[0], t[1])) this.streamSnapshots.forget(t[0], t[1]);
        }
        this.reader?.setInclude(this.includeMap(after));
        this.log.info({
          position: this.boundaryAt && formatBinlogPosition(this.boundaryAt),
          added: added.map(([d, t]) => `${d}.${t}`), removed: removed.map(([d, t]) => `${d}.${t}`), topics, ddl: next.ddl.emit,
        }, 'config change applied at this transaction boundary');
        if (next.mode === 'initial') for (const [d, t] of added) void this.streamSnapshots.start(d, t, null);
        resolve();
      };
      if (this.boundaryAt) apply();
      else this.atNextBoundary.push(apply);
    });
  }

  /** Stops reading, flushes and waits (bounded) for what is in flight, then checkpoints. */
  private async drain(): Promise<void> {
    this.reader?.stop();
    this.reader = null;
    this.streamSnapshots.stop();
    if (!this.failed) {
      // Records after the last commit read belong to a transaction not read whole; the
      // checkpoint stays before it and a restart reads it again, so sending them now would
      // only repeat them.
      // A streamed snapshot's chunk emitted after the last commit is among them: its
      // progress is not recorded, and a restart reads it again.
      if (this.batch.messages.length > this.atBoundary) this.batch.onAcked = [];
      this.batch.messages.length = this.atBoundary;
      this.flush(true);
      const deadline = Date.now() + 30_000;
      while (this.inFlight.batches > 0 && Date.now() < deadline && !this.failed) await sleep(20);
    }
    await this.o.checkpoint.flush().catch((e: unknown) => this.fail(asSyncError(e)));
  }

  private includeMap(tables: [string, string][]): Record<string, string[] | true> {
    const include: Record<string, string[] | true> = {};
    for (const o of this.o.config.objects) if (o.table === '*') include[o.database] = true;
    for (const [db, t] of tables) {
      const cur = include[db];
      if (cur === true) continue;
      include[db] = [...(cur ?? []), t];
    }
    return include;
  }

  private fail(e: SyncError): void {
    if (this.failed) return;
    this.failed = e;
    this.settle?.(e);
  }

  private onEvent(e: BinlogEvent): void {
    if (this.failed) return;
    try {
      this.lastEventPosition = e.position;
      recordBinlogEvent(e.transaction.commitTimestamp);
      if (e.kind === 'rows') { this.boundaryAt = null; this.onRows(e); }
      else if (e.kind === 'ddl') { this.boundaryAt = null; this.onDdl(e); }
      else {
        this.batch.boundary = { position: e.position, gtid: e.resumeGtid };
        this.boundaryAt = e.position;
        for (const apply of this.atNextBoundary.splice(0)) apply();
        this.streamSnapshots.atBoundary();
        this.atBoundary = this.batch.messages.length;
        // Exactly-once: a commit waits for a batch that ends at a boundary; this is one, sent even with every slot taken.
        if (this.inFlight.batches < MAX_IN_FLIGHT || this.o.checkpoint.commitDue) this.flush(this.o.checkpoint.commitDue);
      }
    } catch (err) {
      this.fail(err instanceof SyncError ? err : new SyncError('ENCODE_FAILED', `cannot turn a binlog event at ${formatBinlogPosition(e.position)} into records: ${(err as Error).message}`, { cause: err }));
    }
  }

  private schemaFor(e: BinlogRowsEvent): TableSchema {
    let schema = this.resolved.get(e.tableMap);
    if (!schema) {
      schema = resolveTableSchema(e.tableMap, this.current.get(key(e.database, e.table)) ?? null);
      this.resolved.set(e.tableMap, schema);
    }
    return schema;
  }

  private onRows(e: BinlogRowsEvent): void {
    const { config } = this.o;
    if (!matchesObject(config.objects, e.database, e.table)) return;
    const watermark = this.o.snapshotWatermarks?.get(key(e.database, e.table));
    if (watermark && compareBinlogPositions(e.position, watermark) <= 0) return;
    recordRowsRead(e.database, e.table, 'binlog', e.rows.length);
    const schema = this.schemaFor(e);
    const route = this.router.table(e.database, e.table);
    const source: SourceInfo = {
      position: e.position,
      transactionStart: e.transaction.start,
      commitTimestamp: e.transaction.commitTimestamp,
      serverId: e.transaction.serverId,
      threadId: e.transaction.threadId,
      gtid: e.transaction.gtid,
    };
    const timestamp = String(e.transaction.commitTimestamp * 1000);
    const readerTimestampMs = Date.now();
    const underCopy = this.streamSnapshots.has(e.database, e.table);
    for (const r of e.rows) {
      const pair = e.operation === 'UPDATE' ? (r as { before: RawValue[]; after: RawValue[] }) : null;
      const image = r as RawValue[];
      const change: RowChangeEvent = {
        kind: 'row',
        operation: e.operation,
        table: schema,
        before: e.operation === 'INSERT' ? null : normalizeRow(schema, pair ? pair.before : image),
        after: e.operation === 'DELETE' ? null : normalizeRow(schema, pair ? pair.after : image),
        source,
      };
      const message = this.router.message(change, route, readerTimestampMs, timestamp);
      if (underCopy) this.streamSnapshots.observe(e.database, e.table, change);
      if (message) this.push(message);
    }
  }

  private onDdl(e: BinlogDdlEvent): void {
    const { config } = this.o;
    const target = ddlTarget(e.sql, e.database);
    if (!target) return;
    const selectedDbs = new Set(config.objects.map((o) => o.database));
    const databases = ddlDatabases(target).filter((d) => selectedDbs.has(d));
    if (databases.length === 0) return;
    for (const { from } of target.renames) {
      if (!matchesObject(config.objects, from.database, from.table)) continue;
      this.log.warn({ sql: e.sql, position: formatBinlogPosition(e.position) },
        `synced table ${from.database}.${from.table} was renamed; its new name is followed only if it is selected in objects`);
    }
    // Refresh what information_schema says of the databases' selected tables, for the
    // rows that follow; the columns themselves come from the binlog's TableMaps.
    this.refreshSchemas(databases);
    if (!config.ddl.emit) return;
    const event: DdlEvent = {
      kind: 'ddl',
      database: target.database,
      sql: e.sql,
      source: {
        position: e.position,
        transactionStart: e.position,
        commitTimestamp: e.transaction.commitTimestamp,
        serverId: e.transaction.serverId,
        threadId: e.threadId,
        gtid: e.transaction.gtid,
      },
    };
    // Routed by the table it is about: a rename's new names first, then its old ones.
    const route = this.router.ddl([target, ...target.renames.map((r) => r.to), ...target.renames.map((r) => r.from)]);
    const message = this.router.message(event, route, Date.now(), String(e.transaction.commitTimestamp * 1000));
    if (message) this.push(message);
  }

  private refreshSchemas(databases: readonly string[]): void {
    const keys = [...this.current.keys()].filter((k) => databases.some((d) => k.startsWith(`${d}\0`)));
    this.reader?.pause();
    Promise.all(keys.map(async (k) => {
      const [db, table] = k.split('\0') as [string, string];
      try {
        this.current.set(k, await readTableSchema(this.o.source, db, table));
      } catch (err) {
        if ((err as SyncError).code !== 'SCHEMA_UNKNOWN_TABLE') throw err;
        this.current.set(k, null);
      }
    })).then(() => { if (!this.paused) this.reader?.resume(); }, (err) => this.fail(asSyncError(err)));
  }

  private push(m: SinkMessage): void {
    this.batch.messages.push(m);
    this.batch.bytes += m.value.length + (m.key?.length ?? 0);
    this.records++;
    if (this.batch.messages.length >= MAX_BATCH_RECORDS || this.batch.bytes >= MAX_BATCH_BYTES) {
      if (this.inFlight.batches < MAX_IN_FLIGHT) this.flush(false);
      else this.pause();
    }
  }

  private flush(force: boolean): void {
    const b = this.batch;
    if (b.messages.length === 0 && !b.boundary) return;
    if (!force && this.inFlight.batches >= MAX_IN_FLIGHT) return;
    // Whether everything sent, this batch included, ends at a transaction boundary (exactly-once commits only there).
    const covered = b.messages.length === this.atBoundary && (b.boundary !== null || !this.sentBeyondBoundary);
    this.sentBeyondBoundary = !covered;
    this.batch = { messages: [], bytes: 0, boundary: null, onAcked: [] };
    this.atBoundary = 0;
    const seq = this.inFlight.add(b.boundary, b.bytes);
    if (b.messages.length === 0) {
      this.o.checkpoint.covered(covered);
      this.acked(seq);
      for (const f of b.onAcked) f();
      return;
    }
    this.o.sink.send(b.messages).then(() => { this.acked(seq); for (const f of b.onAcked) f(); }, (err) => this.fail(asSyncError(err)));
    this.o.checkpoint.covered(covered);
    if (this.inFlight.batches >= MAX_IN_FLIGHT) this.pause();
  }

  private acked(seq: number): void {
    const moved = this.inFlight.ack(seq);
    if (moved) this.o.checkpoint.advance(moved.position, moved.gtid);
    if (this.failed) return;
    if (this.inFlight.batches < MAX_IN_FLIGHT && (this.batch.messages.length > 0 || this.batch.boundary)) this.flush(false);
    if (this.paused && this.inFlight.batches < MAX_IN_FLIGHT && this.batch.messages.length < MAX_BATCH_RECORDS) {
      this.paused = false;
      this.reader?.resume();
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.reader?.pause();
  }

  /** rows left out as too large for Kafka (kafka.oversizedRecord: skip) */
  get oversizedSkipped(): number {
    return this.router.skipped;
  }

  get uptimeMs(): number {
    return Date.now() - this.started;
  }
}

function key(db: string, table: string): string {
  return `${db}\0${table}`;
}

function asSyncError(err: unknown): SyncError {
  return err instanceof SyncError ? err : new SyncError('KAFKA_UNREACHABLE', (err as Error)?.message ?? String(err), { cause: err });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
