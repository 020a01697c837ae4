/**
 * The synchronizer's metrics: one prom-client registry for the process, and the typed
 * recorder functions the pipeline calls. The hooks are small and cheap (a counter
 * increment, or a value stored for the next scrape), because some run for every binlog
 * event; gauges that need work (lag, queue fill, readiness) are computed when scraped.
 *
 * The same state answers the health endpoints (health.ts): whether both sides are
 * connected, and whether records sent to Kafka wait for an acknowledgement that does not
 * come. Names and meaning: docs/operations.md. No label or value ever holds a secret:
 * labels are topic names, `db.table` names and error codes.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { binlogFileNumber, type BinlogPosition } from '../model/binlog-position.ts';
import { readiness, type Readiness, type Role } from './health.ts';

export const registry = new Registry();

/** What the sync session's queue holds (sync-session.ts), read at scrape time. */
export interface QueueState {
  /** batches sent and not acknowledged yet */
  readonly batchesInFlight: number;
  /** the most batches in flight at once */
  readonly maxBatchesInFlight: number;
  /** bytes (keys + values) of those batches */
  readonly bytesInFlight: number;
  /** records encoded but not sent yet (the batch being filled) */
  readonly pendingRecords: number;
  /** reading the binlog is paused because every send slot is taken (backpressure) */
  readonly paused: boolean;
}

/** A record as far as metrics care (the sink's SinkMessage fits). */
interface SentRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
}

/** Mutable state behind the gauges and the health endpoints. */
const state = {
  startedAt: Date.now(),
  sourceConnected: false,
  kafkaConnected: false,
  stopping: false,
  role: 'single' as Role,
  /** sends handed to the sink and not settled */
  sendsPending: 0,
  /** the last acknowledgement, or when sends became pending after none were (ms) */
  progressAt: Date.now(),
  /** commit time (UNIX seconds) of the last binlog event read, null before the first */
  lastCommitSeconds: null as number | null,
  /** bytes between the last event read and the source's binlog end, at the last poll; null when unknown */
  binlogBehindBytes: null as number | null,
  queue: null as (() => QueueState) | null,
  stallMs: 60_000,
};

const recordsProduced = new Counter({
  name: 'dts_records_produced_total',
  help: 'Records the brokers acknowledged, per topic (DDL, INIT and row change records).',
  labelNames: ['topic'],
  registers: [registry],
});
const bytesProduced = new Counter({
  name: 'dts_bytes_produced_total',
  help: 'Bytes (record keys + values, before compression) the brokers acknowledged, per topic.',
  labelNames: ['topic'],
  registers: [registry],
});
const rowsRead = new Counter({
  name: 'dts_rows_read_total',
  help: 'Rows read from the source per table (db.table): phase binlog (row images of INSERT/UPDATE/DELETE events) or snapshot (rows of the initial full-data sync).',
  labelNames: ['table', 'phase'],
  registers: [registry],
});
const errors = new Counter({
  name: 'dts_errors_total',
  help: 'Errors that ended a sync session (retried or fatal), by error code (src/errors.ts).',
  labelNames: ['code'],
  registers: [registry],
});
const reconnects = new Counter({
  name: 'dts_reconnects_total',
  help: 'Sync sessions started again from the checkpoint after a retriable error (a source or broker gone).',
  registers: [registry],
});

new Gauge({
  name: 'dts_binlog_lag_seconds',
  help: "Now minus the commit time of the last binlog event read. Grows while the source writes nothing: read it with dts_binlog_lag_bytes (0 bytes: caught up). NaN before the first event.",
  registers: [registry],
  collect() {
    this.set(state.lastCommitSeconds === null ? NaN : Math.max(0, Date.now() / 1000 - state.lastCommitSeconds));
  },
});
new Gauge({
  name: 'dts_binlog_lag_bytes',
  help: "Bytes of binlog between the last event read and the source's binlog end (SHOW BINARY LOGS, polled every 5 s while streaming). NaN when unknown.",
  registers: [registry],
  collect() {
    this.set(state.binlogBehindBytes ?? NaN);
  },
});
new Gauge({
  name: 'dts_binlog_last_event_timestamp_seconds',
  help: 'Commit time (UNIX seconds) of the last binlog event read; NaN before the first.',
  registers: [registry],
  collect() {
    this.set(state.lastCommitSeconds ?? NaN);
  },
});

const checkpointFile = new Gauge({
  name: 'dts_checkpoint_binlog_file',
  help: 'Binlog file of the last checkpoint written, as its number (mysql-bin.000003: 3).',
  registers: [registry],
});
const checkpointPosition = new Gauge({
  name: 'dts_checkpoint_binlog_position',
  help: 'Byte offset in that file of the last checkpoint written: every transaction before it is acknowledged by Kafka.',
  registers: [registry],
});
const checkpointWritten = new Gauge({
  name: 'dts_checkpoint_written_timestamp_seconds',
  help: 'When the checkpoint file was last written (UNIX seconds).',
  registers: [registry],
});

const snapshotRows = new Gauge({
  name: 'dts_snapshot_rows',
  help: 'Rows of the initial full-data sync acknowledged by Kafka, per table.',
  labelNames: ['table'],
  registers: [registry],
});
const snapshotEstimate = new Gauge({
  name: 'dts_snapshot_rows_estimated',
  help: "Rows of the table as the engine estimates them (information_schema) when its full-data sync began; its row count once done.",
  labelNames: ['table'],
  registers: [registry],
});
const snapshotDone = new Gauge({
  name: 'dts_snapshot_table_done',
  help: '1 when the full-data sync of the table is done, else 0.',
  labelNames: ['table'],
  registers: [registry],
});

/** Gauges read from the session's queue at scrape time (0 while no session streams). */
function queueGauge(name: string, help: string, read: (q: QueueState) => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const q = state.queue?.();
      this.set(q ? read(q) : 0);
    },
  });
}
queueGauge('dts_queue_batches_in_flight', 'Batches of records sent to Kafka and not acknowledged yet.', (q) => q.batchesInFlight);
queueGauge('dts_queue_batches_max', 'The most batches in flight at once; reading pauses when they are all taken and the next batch is full.', (q) => q.maxBatchesInFlight);
queueGauge('dts_queue_fill_ratio', 'Batches in flight / the most batches in flight (1: full, reading is about to pause).', (q) => q.batchesInFlight / q.maxBatchesInFlight);
queueGauge('dts_queue_bytes_in_flight', 'Bytes (keys + values) of the batches in flight.', (q) => q.bytesInFlight);
queueGauge('dts_queue_pending_records', 'Records encoded and not sent yet (the batch being filled).', (q) => q.pendingRecords);
queueGauge('dts_binlog_paused', '1 while reading the binlog is paused for backpressure (every send slot taken), else 0.', (q) => (q.paused ? 1 : 0));

new Gauge({
  name: 'dts_kafka_sends_pending',
  help: 'Sends (batches or snapshot chunks) handed to the Kafka producer and not settled.',
  registers: [registry],
  collect() {
    this.set(state.sendsPending);
  },
});
new Gauge({
  name: 'dts_stalled_seconds',
  help: 'How long pending sends have waited with no acknowledgement at all (0 when nothing is pending); /readyz fails past metrics.stallSeconds.',
  registers: [registry],
  collect() {
    this.set(stalledMs(Date.now()) / 1000);
  },
});
new Gauge({
  name: 'dts_source_connected',
  help: '1 while the synchronizer holds a working connection to the source, else 0.',
  registers: [registry],
  collect() {
    this.set(state.sourceConnected ? 1 : 0);
  },
});
new Gauge({
  name: 'dts_kafka_connected',
  help: '1 while the Kafka producer is connected and its last send did not fail, else 0.',
  registers: [registry],
  collect() {
    this.set(state.kafkaConnected ? 1 : 0);
  },
});
new Gauge({
  name: 'dts_active',
  help: '1 while this instance syncs (the only one, or the active one of its task), 0 while it stands by or joins the election.',
  registers: [registry],
  collect() {
    this.set(state.role === 'single' || state.role === 'active' ? 1 : 0);
  },
});
new Gauge({
  name: 'dts_ready',
  help: 'What /readyz answers: 1 ready, 0 not.',
  registers: [registry],
  collect() {
    this.set(currentReadiness().ready ? 1 : 0);
  },
});

let defaultsOn = false;
/** Adds prom-client's process metrics (CPU, memory, event loop lag); once, when the endpoint starts. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
}

export function setStallSeconds(seconds: number): void {
  state.stallMs = seconds * 1000;
}

// ---- recorder hooks -------------------------------------------------------------------

type CounterChild = ReturnType<Counter<string>['labels']>;

const topicCounters = new Map<string, { records: CounterChild; bytes: CounterChild }>();
function topicCounter(topic: string) {
  let c = topicCounters.get(topic);
  if (!c) {
    c = { records: recordsProduced.labels(topic), bytes: bytesProduced.labels(topic) };
    topicCounters.set(topic, c);
  }
  return c;
}

/** Observes the Kafka sink (KafkaSink's `observer` option): records produced, pending sends, connection. */
export const sinkObserver = {
  sending(_messages: readonly SentRecord[]): void {
    if (state.sendsPending++ === 0) state.progressAt = Date.now();
  },
  settled(messages: readonly SentRecord[], error: unknown): void {
    state.sendsPending = Math.max(0, state.sendsPending - 1);
    if (error !== null) return;
    state.progressAt = Date.now();
    // Messages of one send mostly share a topic: count runs, not records.
    let topic = '';
    let records = 0;
    let bytes = 0;
    for (const m of messages) {
      if (m.topic !== topic) {
        if (records > 0) flushTopic(topic, records, bytes);
        topic = m.topic;
        records = 0;
        bytes = 0;
      }
      records++;
      bytes += m.value.length + (m.key?.length ?? 0);
    }
    if (records > 0) flushTopic(topic, records, bytes);
  },
  connection(up: boolean): void {
    state.kafkaConnected = up;
  },
};

function flushTopic(topic: string, records: number, bytes: number): void {
  const c = topicCounter(topic);
  c.records.inc(records);
  c.bytes.inc(bytes);
}

const rowCounters = new Map<string, CounterChild>();
/** Rows read from the source: `rows` row images of one binlog event, or one snapshot chunk. */
export function recordRowsRead(database: string, table: string, phase: 'binlog' | 'snapshot', rows: number): void {
  const k = `${phase}\0${database}\0${table}`;
  let c = rowCounters.get(k);
  if (!c) {
    c = rowsRead.labels(`${database}.${table}`, phase);
    rowCounters.set(k, c);
  }
  c.inc(rows);
}

/** A binlog event was read; `commitSeconds` is its transaction's commit time. */
export function recordBinlogEvent(commitSeconds: number): void {
  state.lastCommitSeconds = commitSeconds;
}

/** Bytes between the last event read and the binlog's end (null: unknown, e.g. the file was purged). */
export function recordBinlogBehind(bytes: number | null): void {
  state.binlogBehindBytes = bytes;
}

/** The checkpoint file was written at `position`. */
export function recordCheckpoint(position: BinlogPosition): void {
  try {
    checkpointFile.set(binlogFileNumber(position.file));
  } catch {
    checkpointFile.set(NaN);
  }
  checkpointPosition.set(position.position);
  checkpointWritten.set(Date.now() / 1000);
}

/** The full-data sync of `table` (db.table) began or resumed. */
export function recordSnapshotTable(table: string, estimate: number, rows: number): void {
  snapshotEstimate.labels(table).set(estimate);
  snapshotRows.labels(table).set(rows);
  snapshotDone.labels(table).set(0);
}

export function recordSnapshotRows(table: string, rows: number): void {
  snapshotRows.labels(table).set(rows);
}

export function recordSnapshotDone(table: string, rows: number): void {
  snapshotRows.labels(table).set(rows);
  snapshotEstimate.labels(table).set(rows);
  snapshotDone.labels(table).set(1);
}

/** Lets the scrape read the session's queue; returns the function that stops it. */
export function observeQueue(read: () => QueueState): () => void {
  state.queue = read;
  return () => {
    if (state.queue === read) state.queue = null;
  };
}

/** An error ended a sync session. */
export function recordError(code: string): void {
  errors.labels(code).inc();
}

/** A sync session is started again after a retriable error. */
export function recordReconnect(): void {
  reconnects.inc();
}

/** Whether the synchronizer holds a working connection to the source. */
export function setSourceConnected(up: boolean): void {
  state.sourceConnected = up;
}

/** checkpoint.store kafka: this instance's role in its task's election (src/ha). */
export function setRole(role: Role): void {
  state.role = role;
}

/** A stop was asked for (SIGTERM/SIGINT): not ready any more. */
export function setStopping(): void {
  state.stopping = true;
}

// ---- health ---------------------------------------------------------------------------

function stalledMs(now: number): number {
  return state.sendsPending > 0 ? Math.max(0, now - state.progressAt) : 0;
}

export function currentReadiness(now = Date.now()): Readiness {
  return readiness({
    role: state.role,
    sourceConnected: state.sourceConnected,
    kafkaConnected: state.kafkaConnected,
    stopping: state.stopping,
    stalledMs: stalledMs(now),
    stallMs: state.stallMs,
  });
}

export function uptimeSeconds(now = Date.now()): number {
  return (now - state.startedAt) / 1000;
}

/** Back to a fresh process's state (tests). */
export function resetMetrics(): void {
  registry.resetMetrics();
  topicCounters.clear();
  rowCounters.clear();
  Object.assign(state, {
    startedAt: Date.now(), sourceConnected: false, kafkaConnected: false, stopping: false, role: 'single', sendsPending: 0,
    progressAt: Date.now(), lastCommitSeconds: null, binlogBehindBytes: null, queue: null, stallMs: 60_000,
  });
}
