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
import type { SnapshotState, SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import type { SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import { RecordRouter } from '../route/record-router.ts';
import type { Sink } from '../sink/sink.ts';
import type { SourceConnectionOptions } from '../source/source-inspector.ts';
import { ChunkPool, type ChunkResult } from './chunk-pool.ts';
import type { ChunkKey, ChunkTable } from './chunk-query.ts';
import type { ChunkTableContext } from './chunk-worker.ts';
import { chunkMessages } from './encoded-chunk.ts';
import { SnapshotProgress } from './progress.ts';
import { schemaMessage } from './snapshot-records.ts';
import { recordRowsRead } from '../ops/metrics.ts';
import { consistentBinlogPosition, estimateRows, nextBoundary, prepareSnapshotConnection, readChunkTable, showCreateTable } from './snapshot-source.ts';

/** Chunks sent but not yet acknowledged: reading the next chunks overlaps sending this many. */
const MAX_CHUNKS_IN_FLIGHT = 3;
/** Chunks handed to the workers and not sent yet, per worker: one being read, one waiting its turn to be sent. */
const READ_AHEAD_PER_WORKER = 2;

export interface FullSyncOptions {
  readonly config: SyncConfig;
  readonly logger: Logger;
  /** a connection the full sync may reconfigure (prepareSnapshotConnection) */
  readonly connection: Connection;
  /** how the chunk workers connect to the source (each opens its own connection) */
  readonly sourceConnection: SourceConnectionOptions;
  readonly sourceVersion: string;
  readonly serverId: number;
  readonly sink: Sink;
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
  const pool = new ChunkPool(o.config.snapshot.workers, o.sourceConnection);
  const router = new RecordRouter({
    config: () => o.config, sink: o.sink, logger: o.logger, scope: 'in the initial snapshot',
    partitions: (topic) => o.partitions.get(topic) ?? 1, sourceVersion: o.sourceVersion, nextId: () => o.checkpoint.nextId(),
  });
  try {
    for (let i = 0; i < state.tables.length; i++) {
      if (o.signal.aborted) return;
      if (state.tables[i]!.done) continue;
      const update = (t: SnapshotTableState, now = false) => {
        state = { ...state, tables: state.tables.map((x, j) => (j === i ? t : x)) };
        o.checkpoint.setSnapshot(state, now);
      };
      await copyTable(o, pool, router, state.tables[i]!, update, progress);
    }
    if (o.signal.aborted) return;
    o.checkpoint.reset(state.start);
    o.checkpoint.setSnapshot({ ...state, done: true }, true);
    const rows = state.tables.reduce((n, t) => n + t.rows, 0);
    o.logger.info({ tables: state.tables.length, rows, streamFrom: formatBinlogPosition(state.start) }, 'initial full-data sync done');
  } finally {
    progress.stop();
    await pool.close();
  }
}

async function copyTable(
  o: FullSyncOptions,
  pool: ChunkPool,
  router: RecordRouter,
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
  const route = router.table(t.database, t.table);
  if (config.snapshot.schema && !t.schemaSent) {
    const schema = schemaMessage(router, table, await showCreateTable(connection, table.schema), low, o.serverId, WHERE);
    if (schema) await sink.send([schema]);
    t = { ...t, schemaSent: true };
    update(t, true);
  }
  progress.begin(name, await estimateRows(connection, t.database, t.table), t.rows);
  o.logger.info({ table: name, key: table.key.name, resumeAfterRows: t.rows, lowWatermark: formatBinlogPosition(low), workers: pool.size },
    t.rows > 0 ? 'resuming the full-data sync of a table after its last acknowledged chunk' : 'full-data sync of a table');

  const context = (ct: ChunkTable): ChunkTableContext => ({ table: ct, lowWatermark: low, sourceVersion: o.sourceVersion, serverId: o.serverId, route });
  let tableId = pool.addTable(context(table));
  const limit = config.snapshot.chunkRows;
  /** chunks handed to the workers, in key order: each is sent once every earlier one is */
  const reads: ReadChunk[] = [];
  const inFlight: Promise<void>[] = [];
  let read = t.rows;
  let acked = t;

  const readChunk = (after: ChunkKey | null, upTo: ChunkKey | null): void => {
    const result = pool.read(tableId, after, upTo, limit);
    result.catch(() => {}); // awaited in order by sendOldest; a chunk left unread at a stop rejects unseen
    reads.push({ after, upTo, tableId, result });
  };

  /** Sends the oldest chunk read (or being read) and returns what it held. */
  const sendOldest = async (): Promise<ChunkResult> => {
    const chunk = reads.shift()!;
    let result = await chunk.result;
    for (let readWith = chunk.tableId, attempts = 1; result.schemaChanged; attempts++) {
      // The table was altered since its schema was read: read the schema again (once per
      // change; a chunk read with an older one only needs reading again) and the chunk.
      if (attempts > 2) throw new SyncError('SOURCE_QUERY_FAILED', `${name} keeps changing its columns during its full-data sync`);
      if (readWith === tableId) {
        table = await readChunkTable(connection, t.database, t.table);
        tableId = pool.addTable(context(table));
      }
      readWith = tableId;
      result = await pool.read(tableId, chunk.after, chunk.upTo, limit);
    }
    read += result.count;
    recordRowsRead(t.database, t.table, 'snapshot', result.count);
    const timestamp = String(result.readAtMs);
    const messages = router.encoded(route, (nextId) => chunkMessages(result.records, { topic: route.topic, timestamp, nextId }), `INIT of ${name}`, WHERE);
    const reached: SnapshotTableState = { ...t, lastKey: chunk.upTo ?? result.lastKey ?? chunk.after, rows: read };
    // Sends are acknowledged in the order issued (KafkaSink keeps order), so `reached`
    // only ever moves forward.
    const sent = sink.send(messages).then(() => {
      acked = reached;
      update(reached);
      progress.update(name, reached.rows);
      pool.recycle(result);
    });
    sent.catch(() => {}); // awaited below; this only keeps an early rejection from counting as unhandled
    inFlight.push(sent);
    if (inFlight.length >= MAX_CHUNKS_IN_FLIGHT) await inFlight.shift();
    return result;
  };

  // The main thread finds where each chunk ends (nextBoundary: the server walks the index
  // without sending rows) and hands the ranges to the workers, which read and encode them
  // side by side; the chunks are sent in key order as they come back. The last chunk has no
  // end: it is read with a row limit, and when it comes back full, the copy goes on after it.
  let after = t.lastKey;
  for (;;) {
    if (o.signal.aborted) break;
    const upTo = await nextBoundary(connection, table, after, limit);
    readChunk(after, upTo);
    if (upTo !== null) {
      after = upTo;
      if (reads.length >= pool.size * READ_AHEAD_PER_WORKER) await sendOldest();
      continue;
    }
    let last = await sendOldest();
    while (reads.length > 0) last = await sendOldest();
    if (last.count < limit) break;
    after = last.lastKey;
  }
  await Promise.all(inFlight);
  if (o.signal.aborted) return;
  update({ ...acked, done: true }, true);
  progress.finish(name);
}

interface ReadChunk {
  readonly after: ChunkKey | null;
  readonly upTo: ChunkKey | null;
  /** the schema (ChunkPool.addTable) it is read with */
  readonly tableId: number;
  readonly result: Promise<ChunkResult>;
}

/** Where an oversize report places a copied row. */
const WHERE = 'the initial snapshot';
