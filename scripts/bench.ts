/**
 * End-to-end benchmark against the local lab (docs/benchmarks.md).
 *
 *   npm run bench -- [--source mariadb|mysql|all] [--rows N] [--runs R]
 *                    [--parts parse,produce,incremental,incremental-eo,snapshot,latency,outage] [--broker 3.9|1.0] [--chunk-rows N] [--latency-seconds S] [--latency-rate ROWS/S]
 *                    [--latency-tx-rows N] [--outage-seconds S] [--eo-interval-ms MS] [--cpu-prof DIR] [--probe] [--sync-root DIR] [--json]
 *
 * The default run (1,000,000 rows, 3 runs of every part) takes about ten minutes, most of it
 * the 3 x 65 s of the latency part and the broker restarts of the outage part; for a quick
 * look: --rows 200000 --latency-seconds 15 --outage-seconds 10.
 *
 * --source: the lab's source server every part that touches one uses (the preparation,
 * parse, incremental, snapshot, latency, outage): its MariaDB 10.11 (default) or its
 * MySQL 9.7; `all` runs the whole benchmark once per server (MySQL, then MariaDB, each in
 * a process of its own) and prints their figures side by side (with --json: one object
 * with both results). The result names the server and its VERSION().
 *
 * One preparation: a new database with the 10-column `orders` table of the codec benchmark
 * (scripts/bench-orders.ts), filled with N rows (default 1,000,000) by 1,000-row multi-row
 * INSERTs (INSERT ... SELECT from a generated sequence, the same SQL on both servers: one
 * autocommitted transaction of 1,000 rows each, the same binlog as INSERT ... VALUES), the
 * binlog range they occupy recorded before and after with the synchronizer's own
 * binlogStatus (SHOW BINARY LOG STATUS on MySQL 8.2+, SHOW MASTER STATUS before and on
 * MariaDB). Then the parts (default: all), each R times (default 3); a figure is the median
 * of its runs, printed with min and max:
 *
 * - parse: the parser ceiling (scripts/bench-parse.ts, a process of its own): zongji alone
 *   reading the prepared range, rows decoded and dropped (ceiling_parse_rows_per_s), and the
 *   synchronizer's BinlogReader (zongji + our exact row reader) doing the same
 *   (parse_exact_rows_per_s).
 * - produce: the producer ceiling (scripts/bench-produce.ts): N pre-encoded records of the
 *   same sizes to the same broker with acks all, by plain kafkajs (ceiling_produce_rows_per_s)
 *   and by our KafkaSink (produce_sink_rows_per_s).
 * - incremental: the real `sync` command, mode incremental, `--start-position` at the start
 *   of the range, from its 'starting binlog stream' log line until its checkpoint file
 *   reaches the end of the range (every record acknowledged and the checkpoint written;
 *   checkpoint.intervalMs 100, the file polled every 5 ms); peak RSS sampled from /proc
 *   every 50 ms. The runs of parse, produce and incremental are interleaved, so that a
 *   load swing of the shared machine hits the figures and their ceilings alike.
 * - incremental-eo: the same with `delivery: exactly-once` (checkpoint.store kafka; Kafka
 *   3.9 only), until the checkpoint committed in Kafka reaches the end of the range (polled
 *   every 50 ms), side by side with incremental (incremental_exactly_once_rows_per_s,
 *   exactly_once_to_at_least_once). A transaction is committed every checkpoint.intervalMs:
 *   --eo-interval-ms, by default 1000 (the config's default; each commit holds the sends for
 *   a few round trips, and the last one ends the run up to that much late).
 * - snapshot: `sync` in mode full on the same table (checkpoint.intervalMs at its default):
 *   from 'full-data sync of a table' to
 *   'initial full-data sync done' (the last chunk acknowledged), from its own log.
 * - latency: `sync` following the binlog of a fresh table while this process inserts rows
 *   at a steady rate (default 5,000 rows/s, 50-row autocommitted INSERTs every 10 ms) for
 *   5 s of warm-up and S s measured (default 60), and a kafkajs consumer in this process
 *   reads the topic: latency = the time the consumer receives a row's record minus the
 *   time just before the INSERT carrying it was sent (so the INSERT and its commit are
 *   included); a record is readable once every replica acknowledged it, which with acks
 *   all on this one-broker lab is when the broker acknowledges it to the synchronizer.
 * - outage: `sync` on Kafka 1.0 following a fresh table; the broker (and its ZooKeeper) is
 *   stopped, one transaction of N rows is committed (one INSERT ... SELECT), the broker is
 *   started again S s (default 20) after it stopped, and the run ends when the checkpoint passes
 *   the transaction: peak RSS of the synchronizer over the whole run.
 *
 * The parts start what they need of the lab when it is not running, and only that. The
 * log lines of parse, incremental and snapshot also give the source server's CPU during the
 * run (its process, from /proc). Progress goes to stderr; the table (or, with --json, one JSON object) to stdout. Diagnostics:
 * --cpu-prof DIR runs every `sync` under node --cpu-prof, writing one profile per process to
 * DIR (summarise one with scripts/bench-profile.ts); --probe prints, per run, the sends to the
 * sink and the reader's pauses as seen inside the sync (scripts/bench-probe.ts); --sync-root
 * DIR runs the `sync` of another checkout of this repository, to measure a change against
 * this one (everything else stays this checkout's).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GtidSet } from '@vlasky/zongji';
import kafkajs from 'kafkajs';
import type mysql from 'mysql2/promise';
import { type BinlogPosition, compareBinlogPositions, formatBinlogPosition } from '../src/model/binlog-position.ts';
import { KafkaCheckpointStore } from '../src/ha/kafka-checkpoint-store.ts';
import { describeServer, type ServerInfo } from '../src/source/server-version.ts';
import { binlogStatus, sourceServer } from '../src/source/source-inspector.ts';
import { adminConnection, kafkaBrokers, labPorts, labSources, LAB_SYNC_USER, uniqueName } from '../test/integration/lab.ts';
import { createOrdersTable, insertOrdersSql } from './bench-orders.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ALL_PARTS = ['parse', 'produce', 'incremental', 'incremental-eo', 'snapshot', 'latency', 'outage'];

const { values: args } = parseArgs({
  options: {
    source: { type: 'string', default: 'mariadb' },
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    parts: { type: 'string', default: ALL_PARTS.join(',') },
    'eo-interval-ms': { type: 'string', default: '1000' },
    broker: { type: 'string', default: '3.9' },
    'chunk-rows': { type: 'string', default: '10000' },
    'latency-seconds': { type: 'string', default: '60' },
    'latency-rate': { type: 'string', default: '5000' },
    'latency-tx-rows': { type: 'string', default: '50' },
    'outage-seconds': { type: 'string', default: '20' },
    'cpu-prof': { type: 'string' },
    'sync-root': { type: 'string' },
    probe: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const runs = Number(args.runs);
const parts = new Set(args.parts!.split(','));
/** The lab's source server the parts use (undefined with --source all: one child process per server). */
const source = labSources().find((s) => s.kind === args.source);
const ALL_SOURCES = ['mysql', 'mariadb'] as const;
const broker = kafkaBrokers().find((b) => b.version === args.broker)?.broker;
const broker10 = kafkaBrokers().find((b) => b.version === '1.0')!.broker;
const latencySeconds = Number(args['latency-seconds']);
const latencyRate = Number(args['latency-rate']);
const latencyTxRows = Number(args['latency-tx-rows']);
const outageSeconds = Number(args['outage-seconds']);
const WARMUP_SECONDS = 5;
/** The checkout whose `sync` runs (--sync-root: another one, to measure a change against this one). */
const SYNC_ROOT = args['sync-root'] ? path.resolve(args['sync-root']) : ROOT;
const CHECKPOINT_INTERVAL_MS = 100;
if (![rows, runs, latencySeconds, latencyRate, latencyTxRows, outageSeconds, Number(args['chunk-rows'])].every((n) => Number.isInteger(n) && n >= 1)
  || !broker || [...parts].some((p) => !ALL_PARTS.includes(p)) || !(Number(args['eo-interval-ms']) >= 1) || (!source && args.source !== 'all')) {
  console.error(`usage: npm run bench -- [--source mariadb|mysql|all] [--rows N] [--runs R] [--parts ${ALL_PARTS.join(',')}] [--broker 3.9|1.0] ` +
    '[--chunk-rows N] [--latency-seconds S] [--latency-rate ROWS/S] [--latency-tx-rows N] [--outage-seconds S] ' +
    '[--eo-interval-ms MS] [--cpu-prof DIR] [--probe] [--sync-root DIR] [--json]');
  process.exit(2);
}

interface Figure { median: number; min: number; max: number; runs: number[] }
const figures: Record<string, Figure> = {};
const notes: string[] = [];
const loads: Record<string, string> = {};

function figure(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : Math.round(((sorted[mid - 1]! + sorted[mid]!) / 2) * 10) / 10;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: values };
}

/** Progress, on stderr (stdout holds only the result). */
function log(msg: string): void {
  console.error(msg);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// The synchronizer as a child process

function writeConfig(dir: string, o: { db: string; table: string; topic: string; mode: string; broker: string; checkpointIntervalMs?: number; exactlyOnce?: boolean }): string {
  const file = path.join(dir, 'config.yaml');
  // Exactly-once: the checkpoint in Kafka (the topic's task), committed with the records.
  const store = o.exactlyOnce ? `  store: kafka\n  topic: ${o.topic}.checkpoints\n  task: ${o.topic}\n` : `  file: ${path.join(dir, 'checkpoint.json')}\n`;
  fs.writeFileSync(file, `source:
  host: 127.0.0.1
  port: ${source!.port}
  user: ${LAB_SYNC_USER.user}
  password: ${LAB_SYNC_USER.password}
  serverId: ${60000 + Math.floor(Math.random() * 5000)}
kafka:
  brokers: [${o.broker}]
  createTopics: true
objects: [${o.db}.${o.table}]
topics:
  default: ${o.topic}
mode: ${o.mode}
snapshot:
  chunkRows: ${args['chunk-rows']}
  progress: log
checkpoint:
${store}  intervalMs: ${o.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS}
${o.exactlyOnce ? 'delivery: exactly-once\n' : ''}log:
  level: info
`);
  return file;
}

/** `sync` running in a child process: its output, its peak resident memory, its exit. */
class SyncProcess {
  readonly proc: ChildProcess;
  output = '';
  peakRssMb = 0;
  readonly exited: Promise<number | null>;
  private readonly sampler: NodeJS.Timeout;
  private waiters: (() => void)[] = [];

  constructor(config: string, extra: string[] = []) {
    const nodeArgs = args.probe ? ['--import', 'tsx', '--import', path.join(SYNC_ROOT, 'scripts/bench-probe.ts')] : [];
    if (args['cpu-prof']) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`);
    this.proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli/main.ts', 'sync', '--config', config, ...extra],
      { cwd: SYNC_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      this.output += d;
      for (const w of this.waiters) w();
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.sampler = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
        if (m) this.peakRssMb = Math.max(this.peakRssMb, Number(m[1]) / 1024);
      } catch { /* exited */ }
    }, 50);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => {
      clearInterval(this.sampler);
      for (const w of this.waiters) w();
      resolve(code);
    }));
  }

  /** Resolves with the log time (ms) of the first line with this message. */
  async waitForLog(msg: string, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = logTime(this.output, msg);
      if (t !== null) return t;
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no "${msg}" in the sync output (exit ${this.proc.exitCode}):\n${this.output.slice(-3000)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 200);
        const self = this;
        function done() { clearTimeout(t); self.waiters = self.waiters.filter((w) => w !== done); resolve(); }
        this.waiters.push(done);
      });
    }
  }

  /** CPU time (user + system) the process has used so far, ms. */
  cpuMs(): number {
    return processCpuMs(this.proc.pid!);
  }

  /** SIGTERM (a clean stop: in-flight records acknowledged, checkpoint written), then its exit code. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 60_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** With --probe: the PROBE line the sync printed at exit (scripts/bench-probe.ts). */
function probeLine(sync: SyncProcess): void {
  if (!args.probe) return;
  const line = sync.output.split('\n').find((l) => l.startsWith('PROBE'));
  log(`    ${line ?? 'PROBE: no line (the sync did not exit cleanly)'}`);
}

function logTime(output: string, msg: string): number | null {
  const needle = `"msg":"${msg}"`;
  const at = output.indexOf(needle);
  if (at < 0) return null;
  const lineStart = output.lastIndexOf('\n', at) + 1;
  const lineEnd = output.indexOf('\n', at);
  if (lineEnd < 0) return null;
  return Date.parse((JSON.parse(output.slice(lineStart, lineEnd)) as { time: string }).time);
}

/**
 * Where the binlog ended after a workload, and the GTID of its last transaction: when the
 * server rotated to a new file right after it, the end is in the new file while a
 * checkpoint stays at the transaction's end in the old one until another transaction comes,
 * so reaching that GTID counts as well.
 */
type BinlogEnd = BinlogPosition & { readonly gtid: string | null };

/**
 * Whether a checkpoint's GTID has reached the workload's last transaction: on MariaDB the
 * checkpoint names that transaction (d-s-n); on MySQL it holds the executed set
 * (`uuid:1-N,...`), which must contain it.
 */
function gtidReached(checkpointGtid: string | null | undefined, last: string | null): boolean {
  if (!last || !checkpointGtid) return false;
  if (!/^[0-9a-f-]{36}:/i.test(last)) return checkpointGtid === last;
  try {
    return GtidSet.parse(checkpointGtid).contains(last);
  } catch {
    return false;
  }
}

/** Polls the checkpoint file until it reaches `to`; the time it was first seen there. */
async function waitForCheckpoint(file: string, to: BinlogEnd, sync: SyncProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { binlog: (BinlogPosition & { gtid?: string | null }) | null };
      if (c.binlog && (compareBinlogPositions(c.binlog, to) >= 0 || gtidReached(c.binlog.gtid, to.gtid))) return Date.now();
    } catch { /* not written yet, or between writes */ }
    if (sync.proc.exitCode !== null) throw new Error(`sync exited (${sync.proc.exitCode}) before its checkpoint reached ${formatBinlogPosition(to)}:\n${sync.output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`the checkpoint did not reach ${formatBinlogPosition(to)} in ${timeoutMs} ms:\n${sync.output.slice(-3000)}`);
    await sleep(5);
  }
}

/** Exactly-once: polls the task's committed checkpoint in Kafka until it reaches `to`; the time it was first seen there. */
async function waitForKafkaCheckpoint(b: string, topic: string, task: string, to: BinlogEnd, sync: SyncProcess, timeoutMs: number): Promise<number> {
  const noop = (): void => {};
  const store = new KafkaCheckpointStore({ connection: { brokers: [b], clientId: 'bench', logger: { debug: noop, info: noop, warn: noop, error: noop } }, topic });
  const deadline = Date.now() + timeoutMs;
  try {
    await store.connect(); // the sync made the topic before its stream started
    for (;;) {
      const c = await store.read(task);
      if (c?.binlog && (compareBinlogPositions(c.binlog, to) >= 0 || gtidReached(c.binlog.gtid, to.gtid))) return Date.now();
      if (sync.proc.exitCode !== null) throw new Error(`sync exited (${sync.proc.exitCode}) before its checkpoint reached ${formatBinlogPosition(to)}:\n${sync.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`the checkpoint did not reach ${formatBinlogPosition(to)} in ${timeoutMs} ms:\n${sync.output.slice(-3000)}`);
      await sleep(50); // each read is a few requests to the broker, which shares the machine
    }
  } finally {
    await store.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------
// Kafka and source helpers

function kafkaAdmin(b: string) {
  return new kafkajs.Kafka({ clientId: 'bench', brokers: [b], logLevel: kafkajs.logLevel.NOTHING }).admin();
}

async function topicRecords(b: string, topic: string): Promise<number> {
  const admin = kafkaAdmin(b);
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopic(b: string, topic: string): Promise<void> {
  const admin = kafkaAdmin(b);
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  } catch { /* best effort */ } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The source server (VERSION() of the admin connection), once connected. */
let server!: ServerInfo;

/**
 * The GTID of this session's last transaction on MySQL, from the OK packet of the statement
 * (session_track_gtids = OWN_GTID, set on the admin connection): MySQL has no @@last_gtid.
 */
let ownGtid: string | null = null;

/** A workload statement of the admin connection whose transaction the bench waits for. */
async function workload(admin: mysql.Connection, sql: string): Promise<void> {
  const [res] = await admin.query(sql);
  const gtids = (res as { stateChanges?: { gtids?: string[] } }).stateChanges?.gtids?.filter(Boolean);
  if (gtids?.length) ownGtid = gtids.at(-1)!;
}

/**
 * The binlog's end (binlogStatus: SHOW BINARY LOG STATUS on MySQL 8.2+, SHOW MASTER STATUS
 * on MariaDB), and the GTID of this session's last transaction (MariaDB's @@last_gtid; on
 * MySQL the one its OK packet reported).
 */
async function binlogEndAfter(admin: mysql.Connection): Promise<BinlogEnd> {
  const status = await binlogStatus(admin);
  let gtid = ownGtid;
  if (server.flavor === 'MariaDB') {
    const [g] = await admin.query('SELECT @@last_gtid AS gtid');
    gtid = (g as { gtid: string | null }[])[0]?.gtid || null;
  }
  return { file: status.file, position: status.position, gtid };
}

/** The source server's process (from `scripts/lab status`), for its CPU time. */
let serverPid = 0;

/** CPU time (user + system) of a process so far, ms (NaN when it cannot be read). */
function processCpuMs(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** ", server CPU N% of a core" over a run of `ms` from `cpu0` (nothing when unknown). */
function serverCpuNote(cpu0: number, ms: number): string {
  const used = processCpuMs(serverPid) - cpu0;
  return Number.isFinite(used) ? `, ${server.flavor} CPU ${Math.round((used / ms) * 100)}% of a core` : '';
}

/** Runs a command to its end without blocking the event loop (RSS sampling goes on). */
function run(cmd: string, cmdArgs: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${cmdArgs.join(' ')} failed (${code}):\n${out}`))));
  });
}

function runJson<T>(script: string, scriptArgs: string[]): Promise<T> {
  return run(process.execPath, ['--import', 'tsx', script, ...scriptArgs]).then((out) => {
    const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    if (!line) throw new Error(`${script}: no result in:\n${out}`);
    return JSON.parse(line) as T;
  });
}

// ---------------------------------------------------------------------------------------
// Preparation

interface Prepared { db: string; from: BinlogEnd; to: BinlogEnd }

async function prepare(admin: mysql.Connection): Promise<Prepared> {
  for (let attempt = 1; ; attempt++) {
    const p = await prepareOnce(admin);
    // The lab is shared: another session's transaction in the range that the synchronizer
    // stops at (a MySQL partial JSON update, binlog_row_value_options=PARTIAL_JSON, of a test
    // of that behaviour) would fail the parse and incremental parts. Checked by reading the
    // range once with our reader; such a range is written again.
    const undecodable = await runJson<{ rows: number }>('scripts/bench-parse.ts',
      ['--from', formatBinlogPosition(p.from), '--to', formatBinlogPosition(p.to), '--db', p.db, '--reader', 'exact', '--source', source!.kind])
      .then(() => null, (e: Error) => /PARTIAL_UPDATE_ROWS_EVENT|TRANSACTION_PAYLOAD_EVENT/.exec(e.message)?.[0] ?? Promise.reject(e));
    if (undecodable === null) return p;
    const note = `the range of ${p.db} holds another session's ${undecodable}, which the synchronizer stops at`;
    await admin.query(`DROP DATABASE IF EXISTS \`${p.db}\``);
    if (attempt === 5) throw new Error(`${note}; 5 attempts, giving up`);
    log(`  ${note}: writing the rows again`);
    notes.push(`${note}: written again`);
  }
}

async function prepareOnce(admin: mysql.Connection): Promise<Prepared> {
  const db = uniqueName('bench');
  await createOrdersTable(admin, db, 'orders');
  log(`prepare: ${fmt(rows)} rows into ${db}.orders in 1,000-row INSERTs…`);
  const t0 = Date.now();
  const from = await binlogEndAfter(admin);
  const cpu0 = processCpuMs(serverPid);
  for (let a = 1; a <= rows; a += 1000) await workload(admin, insertOrdersSql(db, a, Math.min(rows, a + 999)));
  const to = await binlogEndAfter(admin);
  const ms = Date.now() - t0;
  log(`  ${(ms / 1000).toFixed(1)} s${serverCpuNote(cpu0, ms)}; binlog range ${formatBinlogPosition(from)} .. ${formatBinlogPosition(to)}`);
  notes.push(`prepared ${db}.orders on ${describeServer(server)}: ${rows} rows in ${Math.ceil(rows / 1000)} transactions in ${(ms / 1000).toFixed(1)} s, ` +
    `binlog ${formatBinlogPosition(from)}..${formatBinlogPosition(to)}`);
  return { db, from, to };
}

// ---------------------------------------------------------------------------------------
// Parts

const perSecond = (n: number, ms: number) => Math.round(n / (ms / 1000));

async function parseRun(p: Prepared, reader: 'zongji' | 'exact'): Promise<number> {
  const cpu0 = processCpuMs(serverPid);
  const t0 = Date.now();
  const r = await runJson<{ rows: number; ms: number; cpuMs: number }>('scripts/bench-parse.ts',
    ['--from', formatBinlogPosition(p.from), '--to', formatBinlogPosition(p.to), '--db', p.db, '--reader', reader, '--source', source!.kind]);
  const serverCpu = serverCpuNote(cpu0, Date.now() - t0);
  if (r.rows !== rows) throw new Error(`bench-parse (${reader}) read ${r.rows} rows, expected ${rows}`);
  const rate = perSecond(r.rows, r.ms);
  log(`  parse (${reader}): ${fmt(r.rows)} rows in ${r.ms} ms = ${fmt(rate)} rows/s, CPU ${Math.round((r.cpuMs / r.ms) * 100)}% of a core` +
    `${serverCpu} (over the whole process)`);
  return rate;
}

async function produceRun(client: 'kafkajs' | 'sink'): Promise<number> {
  const r = await runJson<{ records: number; ms: number; cpuMs: number; valueBytes: number; sendRecords: number }>('scripts/bench-produce.ts',
    ['--broker', broker!, '--records', String(rows), '--client', client, '--source-version', server.text]);
  const rate = perSecond(r.records, r.ms);
  log(`  produce (${client}): ${fmt(r.records)} records of ${r.valueBytes} B (mean) in sends of ${fmt(r.sendRecords)}, ${r.ms} ms = ${fmt(rate)} records/s, ` +
    `CPU ${Math.round((r.cpuMs / r.ms) * 100)}% of a core`);
  valueBytes = r.valueBytes;
  return rate;
}
let valueBytes = 0;

async function incrementalRun(p: Prepared, r: number, exactlyOnce = false): Promise<{ rate: number; rssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const topic = uniqueName(exactlyOnce ? 'bench_eo' : 'bench_incr');
  try {
    const config = writeConfig(dir, { db: p.db, table: 'orders', topic, mode: 'incremental', broker: broker!, exactlyOnce,
      ...(exactlyOnce ? { checkpointIntervalMs: Number(args['eo-interval-ms']) } : {}) });
    const sync = new SyncProcess(config, ['--start-position', formatBinlogPosition(p.from)]);
    const started = await sync.waitForLog('starting binlog stream');
    const cpu0 = sync.cpuMs();
    const serverCpu0 = processCpuMs(serverPid);
    const ended = exactlyOnce
      ? await waitForKafkaCheckpoint(broker!, `${topic}.checkpoints`, topic, p.to, sync, 600_000)
      : await waitForCheckpoint(path.join(dir, 'checkpoint.json'), p.to, sync, 600_000);
    const cpuMs = sync.cpuMs() - cpu0;
    const serverCpu = serverCpuNote(serverCpu0, Date.now() - started);
    const code = await sync.stop();
    probeLine(sync);
    if (code !== 0) throw new Error(`sync exited with ${code}:\n${sync.output.slice(-3000)}`);
    const landed = await topicRecords(broker!, topic);
    if (landed < rows) throw new Error(`${landed} records in ${topic}, expected ${rows}`);
    const ms = ended - started;
    const rate = perSecond(rows, ms);
    log(`  incremental${exactlyOnce ? ' exactly-once' : ''} run ${r}: ${fmt(rows)} rows in ${ms} ms = ${fmt(rate)} rows/s, sync CPU ${Math.round((cpuMs / ms) * 100)}% of a core ` +
      `(${((cpuMs * 1000) / rows).toFixed(1)} µs per row)${serverCpu}, peak RSS ${Math.round(sync.peakRssMb)} MB` +
      (landed > rows && !exactlyOnce ? ` (${landed - rows} records repeated)` : ''));
    return { rate, rssMb: Math.round(sync.peakRssMb) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopic(broker!, topic);
    if (exactlyOnce) await deleteTopic(broker!, `${topic}.checkpoints`);
  }
}

async function benchCeilingsAndIncremental(p: Prepared): Promise<void> {
  const series: Record<string, number[]> = {};
  const push = (k: string, v: number) => (series[k] ??= []).push(v);
  loads.incremental_start = loadavg();
  for (let r = 1; r <= runs; r++) {
    log(`round ${r} of ${runs} (load average ${loadavg()})`);
    if (parts.has('parse')) {
      push('ceiling_parse_rows_per_s', await parseRun(p, 'zongji'));
      push('parse_exact_rows_per_s', await parseRun(p, 'exact'));
    }
    if (parts.has('produce')) {
      push('ceiling_produce_rows_per_s', await produceRun('kafkajs'));
      push('produce_sink_rows_per_s', await produceRun('sink'));
    }
    if (parts.has('incremental')) {
      const { rate, rssMb } = await incrementalRun(p, r);
      push('incremental_rows_per_s', rate);
      push('peak_rss_mb_incremental', rssMb);
    }
    if (parts.has('incremental-eo')) {
      // The same range and settings with delivery exactly-once, side by side.
      const { rate, rssMb } = await incrementalRun(p, r, true);
      push('incremental_exactly_once_rows_per_s', rate);
      push('peak_rss_mb_incremental_exactly_once', rssMb);
    }
  }
  loads.incremental_end = loadavg();
  for (const [k, v] of Object.entries(series)) figures[k] = figure(v);
}

async function benchSnapshot(p: Prepared): Promise<void> {
  const perSecondRuns: number[] = [];
  const rss: number[] = [];
  loads.snapshot_start = loadavg();
  for (let r = 1; r <= runs; r++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
    const topic = uniqueName('bench_snap');
    try {
      // The default checkpoint interval: this part times the sync's log lines, not its checkpoint file.
      const serverCpu0 = processCpuMs(serverPid);
      const t0 = Date.now();
      const sync = new SyncProcess(writeConfig(dir, { db: p.db, table: 'orders', topic, mode: 'full', broker: broker!, checkpointIntervalMs: 1000 }));
      const code = await sync.exited;
      const serverCpu = serverCpuNote(serverCpu0, Date.now() - t0);
      if (code !== 0) throw new Error(`sync failed (exit ${code}):\n${sync.output.slice(-3000)}`);
      const ms = logTime(sync.output, 'initial full-data sync done')! - logTime(sync.output, 'full-data sync of a table')!;
      const landed = await topicRecords(broker!, topic);
      if (landed < rows) throw new Error(`${landed} records in ${topic}, expected at least ${rows}`);
      perSecondRuns.push(perSecond(rows, ms));
      rss.push(Math.round(sync.peakRssMb));
      log(`  snapshot run ${r}: ${fmt(rows)} rows in ${ms} ms = ${fmt(perSecondRuns.at(-1)!)} rows/s, peak RSS ${rss.at(-1)} MB${serverCpu} (over the whole process)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await deleteTopic(broker!, topic);
    }
  }
  loads.snapshot_end = loadavg();
  figures.snapshot_rows_per_s = figure(perSecondRuns);
  figures.peak_rss_mb_snapshot = figure(rss);
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function latencyRun(admin: mysql.Connection, db: string, r: number): Promise<{ p50: number; p99: number; p999: number; max: number }> {
  const table = `latency_${r}`;
  await createOrdersTable(admin, db, table);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const topic = uniqueName('bench_lat');
  const total = (WARMUP_SECONDS + latencySeconds) * latencyRate;
  const sentAt = new Float64Array(total + 1);
  const latency = new Float64Array(total + 1).fill(Number.NaN);
  let received = 0;
  const kafka = new kafkajs.Kafka({ clientId: 'bench-latency', brokers: [broker!], logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('bench_lat'), maxWaitTimeInMs: 100 });
  const sync = new SyncProcess(writeConfig(dir, { db, table, topic, mode: 'incremental', broker: broker!, checkpointIntervalMs: 1000 }));
  try {
    await sync.waitForLog('starting binlog stream');
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        for (const m of batch.messages) {
          const id = Number(m.key!.toString('latin1').slice(2, -2));
          if (Number.isNaN(latency[id]!)) {
            latency[id] = now - sentAt[id]!;
            received++;
          }
        }
      },
    });
    await joined;
    await sleep(500);

    // The workload: rows due at the steady rate, in autocommitted INSERTs of latencyTxRows.
    const tickMs = (latencyTxRows / latencyRate) * 1000;
    const t0 = performance.now();
    const cpu0 = sync.cpuMs();
    const ownCpu0 = process.cpuUsage();
    let sent = 0;
    // One transaction per tick; a tick missed (the INSERT took longer) is made up by the next one.
    while (sent < total) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / tickMs) * latencyTxRows);
      if (due > sent) {
        const a = sent + 1;
        const b = Math.min(due, sent + 10 * latencyTxRows);
        const now = performance.now();
        for (let id = a; id <= b; id++) sentAt[id] = now;
        await admin.query(insertOrdersSql(db, a, b, table));
        sent = b;
      } else {
        await sleep(Math.max(1, t0 + (sent / latencyTxRows + 1) * tickMs - performance.now()));
      }
    }
    const workloadSeconds = (performance.now() - t0) / 1000;
    const syncCpu = (sync.cpuMs() - cpu0) / 10 / workloadSeconds;
    const ownCpu = process.cpuUsage(ownCpu0);
    const benchCpu = (ownCpu.user + ownCpu.system) / 1e4 / workloadSeconds;
    const deadline = Date.now() + 60_000;
    while (received < total && Date.now() < deadline) await sleep(50);
    if (received < total) throw new Error(`latency: ${received} of ${total} rows arrived; the sync (exit ${sync.proc.exitCode}):\n${sync.output.slice(-3000)}`);
    const measured = Float64Array.from(latency.subarray(WARMUP_SECONDS * latencyRate + 1)).sort();
    const res = { p50: percentile(measured, 0.5), p99: percentile(measured, 0.99), p999: percentile(measured, 0.999), max: measured[measured.length - 1]! };
    log(`  latency run ${r}: ${fmt(total)} rows in ${workloadSeconds.toFixed(1)} s (${WARMUP_SECONDS} s warm-up, tick ${tickMs} ms), measured ${fmt(measured.length)}: ` +
      `p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, p99.9 ${res.p999.toFixed(1)} ms, max ${res.max.toFixed(1)} ms; sync CPU ${syncCpu.toFixed(0)}% of a core, this process (workload + consumer) ${benchCpu.toFixed(0)}%, sync peak RSS ${Math.round(sync.peakRssMb)} MB`);
    return res;
  } finally {
    await consumer.disconnect().catch(() => {});
    await sync.stop();
    probeLine(sync);
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopic(broker!, topic);
  }
}

async function benchLatency(admin: mysql.Connection, db: string): Promise<void> {
  const p50: number[] = [];
  const p99: number[] = [];
  const p999: number[] = [];
  const max: number[] = [];
  loads.latency_start = loadavg();
  for (let r = 1; r <= runs; r++) {
    const res = await latencyRun(admin, db, r);
    p50.push(Number(res.p50.toFixed(1)));
    p99.push(Number(res.p99.toFixed(1)));
    p999.push(Number(res.p999.toFixed(1)));
    max.push(Number(res.max.toFixed(1)));
  }
  loads.latency_end = loadavg();
  figures.latency_p50_ms = figure(p50);
  figures.latency_p99_ms = figure(p99);
  figures.latency_p999_ms = figure(p999);
  figures.latency_max_ms = figure(max);
}

async function outageRun(admin: mysql.Connection, db: string, r: number): Promise<number> {
  const table = `outage_${r}`;
  await createOrdersTable(admin, db, table);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const topic = uniqueName('bench_outage');
  const sync = new SyncProcess(writeConfig(dir, { db, table, topic, mode: 'incremental', broker: broker10 }));
  let brokerDown = false;
  try {
    await sync.waitForLog('starting binlog stream');
    await sleep(1000);
    const rssBefore = Math.round(sync.peakRssMb);
    await run('bash', ['scripts/lab', 'down', '--kafka', '1.0']);
    brokerDown = true;
    const down = Date.now();
    const t0 = Date.now();
    await workload(admin, insertOrdersSql(db, 1, rows, table));
    const to = await binlogEndAfter(admin);
    const insertMs = Date.now() - t0;
    await sleep(Math.max(0, down + outageSeconds * 1000 - Date.now()));
    const restart = Date.now();
    await run('bash', ['scripts/lab', 'up', '--kafka', '1.0']);
    brokerDown = false;
    const up = Date.now();
    const ended = await waitForCheckpoint(path.join(dir, 'checkpoint.json'), to, sync, 900_000);
    const code = await sync.stop();
    if (code !== 0) throw new Error(`sync exited with ${code}:\n${sync.output.slice(-3000)}`);
    const landed = await topicRecords(broker10, topic);
    if (landed < rows) throw new Error(`${landed} records in ${topic}, expected ${rows}`);
    const retries = sync.output.split('sync interrupted; resuming from the checkpoint').length - 1;
    log(`  outage run ${r}: broker stopped for ${((restart - down) / 1000).toFixed(1)} s and ready again ${((up - down) / 1000).toFixed(1)} s after it stopped ` +
      `(the ${fmt(rows)}-row transaction committed in ${insertMs} ms meanwhile), ` +
      `checkpoint past it ${((ended - up) / 1000).toFixed(1)} s after the broker was back, ${retries} session restarts, ` +
      `${landed} records; peak RSS ${Math.round(sync.peakRssMb)} MB (${rssBefore} MB before the outage)`);
    return Math.round(sync.peakRssMb);
  } finally {
    if (brokerDown) await run('bash', ['scripts/lab', 'up', '--kafka', '1.0']).catch((e) => log(String(e)));
    if (sync.proc.exitCode === null) await sync.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopic(broker10, topic);
    await admin.query(`DROP TABLE \`${db}\`.\`${table}\``);
  }
}

async function benchOutage(admin: mysql.Connection, db: string): Promise<void> {
  const rss: number[] = [];
  loads.outage_start = loadavg();
  for (let r = 1; r <= runs; r++) rss.push(await outageRun(admin, db, r));
  loads.outage_end = loadavg();
  figures.peak_rss_mb_outage = figure(rss);
}

// ---------------------------------------------------------------------------------------

/**
 * Starts what this run needs of the lab and is not running (the source server, the broker,
 * Kafka 1.0 for the outage part), and only that: other work on the machine may have stopped
 * a broker on purpose.
 */
async function ensureServers(): Promise<void> {
  const p = labPorts();
  const open = (port: number) => new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
  const versions = new Set([args.broker!, ...(parts.has('outage') ? ['1.0'] : [])]);
  for (const v of versions) {
    if (!(await open(v === '1.0' ? p.KAFKA10_PORT : p.KAFKA39_PORT))) await run('bash', ['scripts/lab', 'up', '--kafka', v]);
  }
  if (!(await open(source!.port))) await run('bash', ['scripts/lab', 'up', '--source', source!.kind, '--kafka', 'none']);
}

function brokerVersions(status: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of status.matchAll(/^(kafka-[\d.]+)\s+running.*?Kafka (\d+(?:\.\d+)*)/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** The pid of a lab server from `scripts/lab status` (0 when not found). */
function labPid(status: string, name: string): number {
  return Number(new RegExp(`^${name}\\s+running\\s+pid (\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

/**
 * --source all: the whole benchmark once per server, MySQL then MariaDB, each a process of
 * its own with the same options (--json); their figures side by side.
 */
async function benchAllSources(): Promise<void> {
  const passed: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--source') i++;
    else if (!argv[i]!.startsWith('--source=') && argv[i] !== '--json') passed.push(argv[i]!);
  }
  type Result = Record<string, unknown> & { source: { server: string }; seconds: number; machine: ReturnType<typeof machineInfo> };
  const results: Result[] = [];
  for (const kind of ALL_SOURCES) {
    log(`=== --source ${kind} ===`);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...passed, '--source', kind, '--json'],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d) => { text += d; });
      p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the bench with --source ${kind} failed (exit ${code})`))));
    });
    results.push(JSON.parse(out.trim().split('\n').reverse().find((l) => l.startsWith('{'))!) as Result);
  }
  if (args.json) {
    console.log(JSON.stringify({ sources: results }));
    return;
  }
  const [a, b] = results as [Result, Result];
  const cell = (r: Result, k: string) => (r[k] === undefined ? '-' : `${r[k]} (${r[`${k}_min`]}-${r[`${k}_max`]})`);
  const m = a.machine;
  console.log(`machine: ${m.cores} cores, ${m.memoryGb} GiB, ${m.cpu}, node ${m.node}; ` +
    results.map((r) => `${r.source.server}: ${r.seconds} s, load average ${r.machine.loadAverage.start} at its start, ${r.machine.loadAverage.end} at its end`).join('; '));
  console.log(`${'median (min-max)'.padEnd(28)} ${a.source.server.padStart(30)} ${b.source.server.padStart(30)} ${'ratio'.padStart(6)}`);
  const keys = Object.keys(a).filter((k) => typeof a[k] === 'number' && !/_(min|max)$/.test(k) && k !== 'seconds');
  for (const k of keys) {
    const ratio = typeof b[k] === 'number' && b[k] !== 0 ? ((a[k] as number) / (b[k] as number)).toFixed(2) : '-';
    console.log(`${k.padEnd(28)} ${cell(a, k).padStart(30)} ${cell(b, k).padStart(30)} ${ratio.padStart(6)}`);
  }
  console.log(`(ratio: ${a.source.server} / ${b.source.server})`);
}

/** The machine, with the load average at the start and end of each part. */
function machineInfo() {
  return {
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    cpu: os.cpus()[0]?.model ?? '?',
    node: process.version,
    loadAverage: loads,
  };
}

if (args.source === 'all') {
  await benchAllSources();
  process.exit(0);
}

const began = Date.now();
loads.start = loadavg();
await ensureServers();
const admin = await adminConnection(undefined, source!);
server = await sourceServer(admin);
serverPid = labPid(await run('bash', ['scripts/lab', 'status']).catch(() => ''), source!.kind);
// MySQL names a session's transaction only in the OK packet (see `workload`).
if (server.flavor === 'MySQL') await admin.query('SET SESSION session_track_gtids = OWN_GTID');
log(`source: ${describeServer(server)} (${server.text}) on 127.0.0.1:${source!.port}`);
let db = '';
try {
  const needsRange = ['parse', 'incremental', 'incremental-eo', 'snapshot'].some((p) => parts.has(p));
  const prepared = needsRange ? await prepare(admin) : null;
  db = prepared?.db ?? uniqueName('bench');
  if (!prepared) await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  if (parts.has('parse') || parts.has('produce') || parts.has('incremental') || parts.has('incremental-eo')) await benchCeilingsAndIncremental(prepared!);
  if (parts.has('snapshot')) await benchSnapshot(prepared!);
  if (parts.has('latency')) await benchLatency(admin, db);
  if (parts.has('outage')) await benchOutage(admin, db);
} finally {
  if (db) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
  await admin.end();
}
loads.end = loadavg();

// Derived figures: the peak over both memory runs, and the ratios to the ceilings.
const median = (k: string) => figures[k]?.median;
if (figures.peak_rss_mb_incremental || figures.peak_rss_mb_outage) {
  const both = [figures.peak_rss_mb_incremental, figures.peak_rss_mb_outage].filter((f): f is Figure => f !== undefined);
  const worst = both.reduce((a, b) => (b.median > a.median ? b : a));
  figures.peak_rss_mb = { median: worst.median, min: Math.min(...both.map((f) => f.min)), max: Math.max(...both.map((f) => f.max)), runs: both.flatMap((f) => f.runs) };
}
const ratios: Record<string, number> = {};
const ratio = (name: string, a: string, b: string) => {
  const x = median(a);
  const y = median(b);
  if (x !== undefined && y !== undefined && y > 0) ratios[name] = Number((x / y).toFixed(3));
};
ratio('incremental_to_ceiling_parse', 'incremental_rows_per_s', 'ceiling_parse_rows_per_s');
ratio('incremental_to_parse_exact', 'incremental_rows_per_s', 'parse_exact_rows_per_s');
ratio('incremental_to_ceiling_produce', 'incremental_rows_per_s', 'ceiling_produce_rows_per_s');
ratio('incremental_to_produce_sink', 'incremental_rows_per_s', 'produce_sink_rows_per_s');
ratio('exactly_once_to_at_least_once', 'incremental_exactly_once_rows_per_s', 'incremental_rows_per_s');
ratio('parse_exact_to_ceiling_parse', 'parse_exact_rows_per_s', 'ceiling_parse_rows_per_s');
ratio('snapshot_to_ceiling_produce', 'snapshot_rows_per_s', 'ceiling_produce_rows_per_s');
ratio('snapshot_to_produce_sink', 'snapshot_rows_per_s', 'produce_sink_rows_per_s');

const targets: Record<string, boolean> = {};
const target = (name: string, ok: boolean | undefined) => { if (ok !== undefined) targets[name] = ok; };
const m = median;
target('incremental_rows_per_s >= 100000', m('incremental_rows_per_s') === undefined ? undefined : m('incremental_rows_per_s')! >= 100_000);
target('incremental_exactly_once_rows_per_s >= 100000', m('incremental_exactly_once_rows_per_s') === undefined ? undefined : m('incremental_exactly_once_rows_per_s')! >= 100_000);
target('incremental >= 0.75 x ceiling_parse', ratios.incremental_to_ceiling_parse === undefined ? undefined : ratios.incremental_to_ceiling_parse >= 0.75);
target('snapshot_rows_per_s >= 150000', m('snapshot_rows_per_s') === undefined ? undefined : m('snapshot_rows_per_s')! >= 150_000);
target('latency_p99_ms <= 100', m('latency_p99_ms') === undefined ? undefined : m('latency_p99_ms')! <= 100);
target('peak_rss_mb <= 300 (incremental)', m('peak_rss_mb_incremental') === undefined ? undefined : m('peak_rss_mb_incremental')! <= 300);
target('peak_rss_mb <= 300 (outage)', m('peak_rss_mb_outage') === undefined ? undefined : m('peak_rss_mb_outage')! <= 300);

const versions = brokerVersions(await run('bash', ['scripts/lab', 'status']).catch(() => ''));
const machine = machineInfo();
const sourceInfo = { kind: source!.kind, server: describeServer(server), version: server.text, port: source!.port };
const settings = {
  broker: `Kafka ${versions[`kafka-${args.broker}`] ?? args.broker}`,
  outageBroker: `Kafka ${versions['kafka-1.0'] ?? '1.0'}`,
  acks: 'all',
  compression: 'none',
  partitions: 1,
  batch: 'up to 5,000 records or 8 MiB per send, 4 sends in flight (sync-session.ts); record batches up to max.message.bytes',
  recordBytes: valueBytes || undefined,
  rows,
  runs,
  snapshotChunkRows: Number(args['chunk-rows']),
  checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
  latency: `${latencyRate} rows/s in ${latencyTxRows}-row transactions, ${WARMUP_SECONDS} s warm-up + ${latencySeconds} s`,
  outage: `${rows}-row transaction, broker stopped ${outageSeconds} s`,
};
const seconds = Math.round((Date.now() - began) / 1000);

if (args.json) {
  const flat: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(figures)) Object.assign(flat, { [k]: f.median, [`${k}_min`]: f.min, [`${k}_max`]: f.max, [`${k}_runs`]: f.runs });
  console.log(JSON.stringify({ source: sourceInfo, ...flat, ratios, targets, machine, settings, seconds, notes }));
} else {
  console.log(`source: ${sourceInfo.server} (VERSION() ${sourceInfo.version}) on 127.0.0.1:${sourceInfo.port}`);
  console.log(`machine: ${machine.cores} cores, ${machine.memoryGb} GiB, ${machine.cpu}, node ${machine.node}; load average ${loads.start} at the start, ${loads.end} at the end`);
  console.log(`settings: ${settings.broker}, acks ${settings.acks}, compression ${settings.compression}, ${settings.partitions} partition, ` +
    `${settings.batch}; ${fmt(rows)} rows, ${runs} runs; ${seconds} s`);
  console.log(`${'figure'.padEnd(28)} ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)}`);
  for (const [k, f] of Object.entries(figures)) {
    console.log(`${k.padEnd(28)} ${String(f.median).padStart(10)} ${String(f.min).padStart(10)} ${String(f.max).padStart(10)}`);
  }
  for (const [k, v] of Object.entries(ratios)) console.log(`ratio ${k.padEnd(30)} ${v.toFixed(2)}`);
  for (const [k, v] of Object.entries(targets)) console.log(`target ${k.padEnd(36)} ${v ? 'met' : 'NOT met'}`);
}
