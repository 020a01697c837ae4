/**
 * The initial schema sync and the initial full-data sync: for each selected table, a DDL
 * record with its CREATE TABLE, then every row as an INIT record, read in key order in
 * chunks; progress is checkpointed per acknowledged chunk, so a restart continues after
 * the last acknowledged chunk.
 *
 * ## The hand-off to the binlog (docs/architecture.md, "Initial sync")
 *
 * Before its first chunk, each table gets a low watermark: a binlog position at which
 * every earlier commit is visible to the chunk reads (consistentBinlogPosition). No lock is
 * taken and no read waits for writers. Each chunk is read as the table is at that moment,
 * so a chunk holds every change committed before its read. The stream then starts at the
 * first table's watermark (the lowest) and, per table, drops row events at or before that
 * table's watermark (already in every chunk) and emits the rest. For each key, the records
 * in Kafka are then: its INIT (state at the chunk's read), followed by every change after
 * the table's watermark, in binlog order; the last one is the source's current state, and a
 * row deleted at any point ends with its DELETE (or has no record at all).
 * Duplicates: a change committed after the table's watermark and before the chunk holding
 * its row was read is both in the INIT row and streamed again afterwards, so a consumer may
 * see such a key move back to an older state briefly before it reaches the current one.
 */
import type { Connection } from 'mysql2/promise';
import type { CheckpointPosition, SnapshotState, SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import { topicFor, type SyncConfig } from '../config/index.ts';
import { encodeEvent } from '../dts/encoder.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import type { DdlEvent, RowChangeEvent, SourceInfo } from '../model/change-event.ts';
import { messageKey } from '../pipeline/message-key.ts';
import { OversizedRecords } from '../pipeline/oversized-record.ts';
import type { KafkaSink, SinkMessage } from '../sink/kafka-sink.ts';
import { partitionFor } from '../sink/partitioner.ts';
import { normalizeRow } from '../source/row-normalizer.ts';
import { type ChunkTable, rawRow } from './chunk-query.ts';
import { SnapshotProgress } from './progress.ts';
import { recordRowsRead } from '../ops/metrics.ts';
import { consistentBinlogPosition, estimateRows, prepareSnapshotConnection, readChunkTable, showCreateTable, streamChunk } from './snapshot-source.ts';

/** Chunks sent but not yet acknowledged: reading the next chunk overlaps sending this many. */
const MAX_CHUNKS_IN_FLIGHT = 3;

export interface FullSyncOptions {
  readonly config: SyncConfig;
  readonly logger: Logger;
  /** a connection the full sync may reconfigure (prepareSnapshotConnection) */
  readonly connection: Connection;
  readonly sourceVersion: string;
  readonly serverId: number;
  readonly sink: KafkaSink;
  readonly partitions: ReadonlyMap<string, number>;
  readonly checkpoint: CheckpointWriter;
  /** the selected tables, in the order to copy them */
  readonly tables: readonly (readonly [string, string])[];
  readonly signal: AbortSignal;
}

/** A fresh snapshot plan: its start is the binlog position the stream will begin at. */
export async function planSnapshot(connection: Connection, tables: readonly (readonly [string, string])[]): Promise<SnapshotState> {
  const start = await consistentBinlogPosition(connection);
  return { start, tables: tables.map(([database, table]) => pendingTable(database, table)), done: false };
}

function pendingTable(database: string, table: string): SnapshotTableState {
  return { database, table, lowWatermark: null, schemaSent: false, lastKey: null, rows: 0, done: false };
}

/** The plan's tables made to match the configured ones: new tables added, unselected ones dropped. */
export function reconcileTables(state: SnapshotState, tables: readonly (readonly [string, string])[]): SnapshotState {
  const known = new Map(state.tables.map((t) => [`${t.database}\0${t.table}`, t]));
  return { ...state, tables: tables.map(([d, t]) => known.get(`${d}\0${t}`) ?? pendingTable(d, t)) };
}

/**
 * Copies every table not done yet. Resolves when all are done (the checkpoint's snapshot is
 * then marked done and its binlog position set to the plan's start), or early, with the
 * progress checkpointed, when `signal` aborts.
 */
export async function runFullSync(o: FullSyncOptions): Promise<void> {
  const initial = o.checkpoint.snapshot;
  if (!initial) throw new SyncError('CHECKPOINT_CORRUPT', 'the full-data sync started without a snapshot plan in the checkpoint');
  let state = reconcileTables(initial, o.tables);
  o.checkpoint.setSnapshot(state, true);
  await prepareSnapshotConnection(o.connection);
  const progress = new SnapshotProgress(o.config.snapshot.progress, o.logger);
  try {
    for (let i = 0; i < state.tables.length; i++) {
      if (o.signal.aborted) return;
      if (state.tables[i]!.done) continue;
      const update = (t: SnapshotTableState, now = false) => {
        state = { ...state, tables: state.tables.map((x, j) => (j === i ? t : x)) };
        o.checkpoint.setSnapshot(state, now);
      };
      await copyTable(o, state.tables[i]!, update, progress);
    }
    if (o.signal.aborted) return;
    o.checkpoint.reset(state.start);
    o.checkpoint.setSnapshot({ ...state, done: true }, true);
    const rows = state.tables.reduce((n, t) => n + t.rows, 0);
    o.logger.info({ tables: state.tables.length, rows, streamFrom: formatBinlogPosition(state.start) }, 'initial full-data sync done');
  } finally {
    progress.stop();
  }
}

async function copyTable(
  o: FullSyncOptions,
  initial: SnapshotTableState,
  update: (t: SnapshotTableState, now?: boolean) => void,
  progress: SnapshotProgress,
): Promise<void> {
  const { config, connection, sink } = o;
  const name = `${initial.database}.${initial.table}`;
  let t = initial;
  let table = await readChunkTable(connection, t.database, t.table);
  if (!t.lowWatermark) {
    t = { ...t, lowWatermark: await consistentBinlogPosition(connection) };
    update(t, true);
  }
  const low = t.lowWatermark!;
  const topic = topicFor(config, t.database, t.table);
  const partitionCount = o.partitions.get(topic) ?? 1;
  if (config.snapshot.schema && !t.schemaSent) {
    await sink.send([schemaMessage(o, table, low, topic, partitionCount, await showCreateTable(connection, table.schema))]);
    t = { ...t, schemaSent: true };
    update(t, true);
  }
  progress.begin(name, await estimateRows(connection, t.database, t.table), t.rows);
  o.logger.info({ table: name, key: table.key.name, resumeAfterRows: t.rows, lowWatermark: formatBinlogPosition(low) },
    t.rows > 0 ? 'resuming the full-data sync of a table after its last acknowledged chunk' : 'full-data sync of a table');

  const limit = config.snapshot.chunkRows;
  const inFlight: Promise<void>[] = [];
  let after = t.lastKey;
  let read = t.rows;
  let acked = t;
  for (;;) {
    if (o.signal.aborted) break;
    let encoder = new ChunkEncoder(o, table, low, topic, partitionCount);
    let end = await streamChunk(connection, table, after, limit, (fields) => encoder.add(fields));
    if (encoder.schemaChanged) {
      // The table was altered since its schema was read: read both again.
      table = await readChunkTable(connection, t.database, t.table);
      encoder = new ChunkEncoder(o, table, low, topic, partitionCount);
      end = await streamChunk(connection, table, after, limit, (fields) => encoder.add(fields));
      if (encoder.schemaChanged) throw new SyncError('SOURCE_QUERY_FAILED', `${name} keeps changing its columns during its full-data sync`);
    }
    if (end.count === 0) break;
    after = end.lastKey;
    read += end.count;
    recordRowsRead(t.database, t.table, 'snapshot', end.count);
    const reached: SnapshotTableState = { ...t, lastKey: after, rows: read };
    // Sends are acknowledged in the order issued (KafkaSink keeps order), so `reached`
    // only ever moves forward.
    const sent = sink.send(encoder.messages).then(() => {
      acked = reached;
      update(reached);
      progress.update(name, reached.rows);
    });
    sent.catch(() => {}); // awaited below; this only keeps an early rejection from counting as unhandled
    inFlight.push(sent);
    if (inFlight.length >= MAX_CHUNKS_IN_FLIGHT) await inFlight.shift();
    if (end.count < limit) break;
  }
  await Promise.all(inFlight);
  if (o.signal.aborted) return;
  update({ ...acked, done: true }, true);
  progress.finish(name);
}

function sourceInfo(o: FullSyncOptions, low: CheckpointPosition, seconds: number): SourceInfo {
  return { position: low, transactionStart: low, commitTimestamp: seconds, serverId: o.serverId, threadId: 0, gtid: low.gtid };
}

/** Turns a chunk's rows into INIT records as they arrive. */
class ChunkEncoder {
  readonly messages: SinkMessage[] = [];
  schemaChanged = false;
  private readonly o: FullSyncOptions;
  private readonly table: ChunkTable;
  private readonly topic: string;
  private readonly partitionCount: number;
  private readonly source: SourceInfo;
  private readonly now = Date.now();
  private readonly timestamp = String(this.now);

  constructor(o: FullSyncOptions, table: ChunkTable, low: CheckpointPosition, topic: string, partitionCount: number) {
    this.o = o;
    this.table = table;
    this.topic = topic;
    this.partitionCount = partitionCount;
    this.source = sourceInfo(o, low, Math.floor(this.now / 1000));
  }

  add(fields: (Buffer | null)[]): void {
    const { schema } = this.table;
    if (this.schemaChanged || fields.length !== schema.columns.length) {
      this.schemaChanged = true;
      return;
    }
    const change: RowChangeEvent = { kind: 'row', operation: 'INIT', table: schema, before: null, after: normalizeRow(schema, rawRow(schema, fields)), source: this.source };
    const key = messageKey(change);
    const value = encodeEvent(change, { id: this.o.checkpoint.nextId(), sourceVersion: this.o.sourceVersion, readerTimestampMs: this.now });
    if (!oversizedFor(this.o).admit(this.topic, key, value, `INIT of ${schema.database}.${schema.table}`, 'the initial snapshot')) return;
    const partition = partitionFor(this.o.config.partitionPolicy, this.partitionCount, { database: schema.database, table: schema.table, key });
    this.messages.push({ topic: this.topic, partition, key, value, timestamp: this.timestamp });
  }
}

/** kafka.oversizedRecord for the snapshot's rows (src/pipeline/oversized-record.ts), one count per full-data sync. */
const oversizedChecks = new WeakMap<FullSyncOptions, OversizedRecords>();
function oversizedFor(o: FullSyncOptions): OversizedRecords {
  let c = oversizedChecks.get(o);
  if (c === undefined) oversizedChecks.set(o, (c = new OversizedRecords(() => o.config, o.sink, o.logger, 'in the initial snapshot')));
  return c;
}

function schemaMessage(o: FullSyncOptions, table: ChunkTable, low: CheckpointPosition, topic: string, partitionCount: number, sql: string): SinkMessage {
  const now = Date.now();
  const event: DdlEvent = { kind: 'ddl', database: table.schema.database, sql, source: sourceInfo(o, low, Math.floor(now / 1000)) };
  const value = encodeEvent(event, { id: o.checkpoint.nextId(), sourceVersion: o.sourceVersion, readerTimestampMs: now });
  const partition = partitionFor(o.config.partitionPolicy, partitionCount, { database: table.schema.database, table: table.schema.table, key: null });
  return { topic, partition, key: null, value, timestamp: String(now) };
}
