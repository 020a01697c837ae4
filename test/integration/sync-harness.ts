/**
 * What the synchronizer's end-to-end tests share: a config file of their own, the real
 * `sync` command as a child process (so that it can be stopped, killed and restarted),
 * and reading a topic back into decoded records.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { decodeRecord } from '../../src/dts/decoder.ts';
import { isSyncError, type SyncError } from '../../src/errors.ts';
import { type DecodedRecord, renderRecord } from '../../src/dts/record-render.ts';
import { LAB_SYNC_USER, type LabSource } from './lab.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SyncTestConfig {
  /** the source to sync from: one of labSources(), or a throwaway one (throwaway-source.ts) */
  readonly source: LabSource;
  /** connect to this port instead of the source's own (a proxy in front of it) */
  readonly port?: number;
  /** the source account (default: the lab's dts_sync) */
  readonly user?: string;
  readonly password?: string;
  readonly broker: string;
  readonly createTopics?: boolean;
  /** entries of objects, as written in YAML (quote what needs it) */
  readonly objects: readonly string[];
  readonly defaultTopic: string;
  readonly mapping?: Readonly<Record<string, string>>;
  readonly partitionPolicy?: 'single' | 'table' | 'primary-key';
  readonly topicPartitions?: number;
  readonly ddlEmit?: boolean;
  readonly serverId?: number;
  readonly mode?: 'initial' | 'incremental' | 'full';
  readonly chunkRows?: number;
  readonly snapshotSchema?: boolean;
  /** extra lines under source: / kafka: (indented here), e.g. `heartbeatMs: 1000` */
  readonly sourceLines?: readonly string[];
  readonly kafkaLines?: readonly string[];
  /** a checkpoint file to use (default: checkpoint.json in the config's folder) */
  readonly checkpointFile?: string;
}

/** Writes a config file (and gives its checkpoint file) in a fresh temporary folder. */
export function writeSyncConfig(c: SyncTestConfig): { configFile: string; checkpointFile: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-it-'));
  const checkpointFile = c.checkpointFile ?? path.join(dir, 'checkpoint.json');
  const mapping = Object.entries(c.mapping ?? {}).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  const lines = (ls: readonly string[] | undefined) => (ls ?? []).map((l) => `  ${l}\n`).join('');
  const yaml = `source:
  host: 127.0.0.1
  port: ${c.port ?? c.source.port}
  user: ${c.user ?? LAB_SYNC_USER.user}
  password: ${JSON.stringify(c.password ?? LAB_SYNC_USER.password)}
  serverId: ${c.serverId ?? 50000 + Math.floor(Math.random() * 10000)}
${lines(c.sourceLines)}kafka:
  brokers: [${c.broker}]
  createTopics: ${c.createTopics ?? true}
  topicPartitions: ${c.topicPartitions ?? 1}
${lines(c.kafkaLines)}objects:
${c.objects.map((o) => `  - ${o}`).join('\n')}
topics:
  default: ${c.defaultTopic}
${mapping ? `  mapping:\n${mapping}\n` : ''}partitionPolicy: ${c.partitionPolicy ?? 'single'}
ddl:
  emit: ${c.ddlEmit ?? false}
mode: ${c.mode ?? 'incremental'}
snapshot:
  schema: ${c.snapshotSchema ?? true}
  chunkRows: ${c.chunkRows ?? 10000}
  progress: log
checkpoint:
  file: ${checkpointFile}
  intervalMs: 200
log:
  level: info
`;
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, yaml);
  return { configFile, checkpointFile, dir };
}

/** The default topic of a config written by writeSyncConfig. */
export function topicOf(configFile: string): string {
  return /\n {2}default: (\S+)/.exec(fs.readFileSync(configFile, 'utf8'))![1]!;
}

export interface RunningSync {
  readonly proc: ChildProcess;
  /** everything the process printed so far */
  output(): string;
  /** SIGTERM and wait for the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface SyncStart {
  /** extra command-line arguments, e.g. --start-position */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** extra `--import` preloads */
  readonly imports?: readonly string[];
  /** resolve once the output holds this (default: the binlog stream started); null: at once */
  readonly readyText?: string | null;
  readonly readyTimeoutMs?: number;
}

/** Starts `sync` as a child process and resolves once it is ready (or rejects with its output). */
export async function startSync(configFile: string, o: SyncStart = {}): Promise<RunningSync> {
  const proc = spawn(process.execPath, [
    '--import', 'tsx', ...(o.imports ?? []).flatMap((i) => ['--import', i]), 'src/cli/main.ts', 'sync', '--config', configFile, ...(o.args ?? []),
  ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', ...o.env } });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const running: RunningSync = {
    proc,
    output: () => out,
    exited,
    stop: async () => { proc.kill('SIGTERM'); return exited; },
    kill: async () => { proc.kill('SIGKILL'); await exited; },
  };
  const readyText = o.readyText === undefined ? 'starting binlog stream' : o.readyText;
  if (readyText === null) return running;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  while (!out.includes(readyText)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sync did not start (exit ${proc.exitCode}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return running;
}

/** Kills a sync that still runs (for after()). */
export async function killIfRunning(s: RunningSync | null | undefined): Promise<void> {
  if (s && s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
}

/** Waits until `text` occurs `times` times in the sync's output; returns when. Fails at once if the sync exits. */
export async function waitForOutput(s: RunningSync, text: string | RegExp, timeoutMs = 60_000, times = 1): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const count = () => (typeof text === 'string' ? s.output().split(text).length - 1 : (s.output().match(new RegExp(text.source, 'g')) ?? []).length);
  while (count() < times) {
    if (s.proc.exitCode !== null) throw new Error(`sync exited (${s.proc.exitCode}) before printing ${String(text)}:\n${tail(s.output())}`);
    if (Date.now() > deadline) throw new Error(`sync did not print ${String(text)} ${times}x within ${timeoutMs} ms:\n${tail(s.output())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now();
}

/** The last lines of a text (a process's output), for failure messages. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Runs the `verify` command to its end (killed after 180 s) and gives its exit code and output. */
export function runVerifyCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/verify-main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

/** Runs `sync` to its end and gives its exit code and output (for bad-config cases). */
export async function runSyncToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { code, output };
}

export interface TopicMessage {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  readonly timestamp: string;
  readonly record: DecodedRecord;
}

/**
 * Reads a topic from the beginning until `until` holds for what was read (or the
 * timeout passes), then returns everything read, in partition-offset order.
 */
export async function readTopic(broker: string, topic: string, until: (messages: TopicMessage[]) => boolean, timeoutMs = 30_000): Promise<TopicMessage[]> {
  const kafka = new Kafka({ clientId: 'it-reader', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const messages: TopicMessage[] = [];
  const consumer = kafka.consumer({ groupId: `it-reader-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          messages.push({
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key ? m.key.toString() : null,
            timestamp: m.timestamp,
            record: renderRecord(decodeRecord(m.value!)),
          });
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!until(messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
}

/**
 * Reads a whole topic as a read_committed consumer (kafkajs' default) sees it: every
 * partition up to its end, which is known when the consumer's lag there reaches 0 (a batch
 * of only transaction markers or aborted records counts: kafkajs reports it too). For topics
 * an exactly-once sync wrote; the producers must have stopped (no transaction left open).
 * Also gives how many offsets the topic holds, markers and aborted records included.
 */
export async function readCommittedTopic(broker: string, topic: string, timeoutMs = 90_000): Promise<{ messages: TopicMessage[]; offsets: number }> {
  const kafka = new Kafka({ clientId: 'it-committed-reader', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const messages: TopicMessage[] = [];
  const pending = new Set<number>();
  let offsets = 0;
  const consumer = kafka.consumer({ groupId: `it-committed-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 200 });
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      offsets += Number(p.high) - Number(p.low);
      if (Number(p.high) > Number(p.low)) pending.add(p.partition);
    }
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic === topic && e.payload.offsetLag === '0') pending.delete(e.payload.partition);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          messages.push({ partition: batch.partition, offset: BigInt(m.offset), key: m.key ? m.key.toString() : null, timestamp: m.timestamp, record: renderRecord(decodeRecord(m.value!)) });
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(pending.size, 0, `partitions ${[...pending].join(', ')} of ${topic} were not read to their end within ${timeoutMs} ms`);
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
  return { messages: messages.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1)), offsets };
}

/** `promise`, or a rejection naming `what` once `ms` passed without it settling. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads `count` records of `topic` from the beginning with a plain kafkajs consumer, as
 * kafkajs gives them (not decoded; for the sink's tests). `M` names what a test reads of a
 * message beyond KafkaMessage (kafkajs' batchContext, say).
 */
export async function readRawRecords<M extends KafkaMessage = KafkaMessage>(broker: string, topic: string, count: number, timeoutMs = 60_000): Promise<{ partition: number; message: M }[]> {
  const kafka = new Kafka({ clientId: 'it-raw-reader', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const consumer = kafka.consumer({ groupId: `it-raw-reader-${Math.random().toString(36).slice(2)}`, sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 10_000 });
  const received: { partition: number; message: M }[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              received.push({ partition, message: message as M });
              if (received.length >= count) resolve();
            },
          })
          .catch(reject);
      }),
      timeoutMs,
      `reading ${count} records of ${topic} (${received.length} read)`,
    );
    return received;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** The after image (or before, for DELETE) of a record as {column: text}. */
export function image(r: DecodedRecord): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of r.columns) out[c.name] = r.operation === 'DELETE' ? c.before : c.after;
  return out;
}

/** Awaits a promise that must reject with a SyncError; returns the error. */
export async function syncErrorOf(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(isSyncError(e), `expected a SyncError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}
