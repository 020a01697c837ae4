/**
 * What the synchronizer's end-to-end tests share: a config file of their own, the real
 * `sync` command as a child process (so that it can be stopped, killed and restarted),
 * and reading a topic back into decoded records.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord, type DecodedRecord, renderRecord } from '../../src/dts/decoder.ts';
import { LAB_SYNC_USER, type LabSource, labPorts } from './lab.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SyncTestConfig {
  readonly broker: string;
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
  /** the lab source to sync from (default: the MariaDB) */
  readonly source?: LabSource;
}

/** Writes a config file (and gives its checkpoint file) in a fresh temporary folder. */
export function writeSyncConfig(c: SyncTestConfig): { configFile: string; checkpointFile: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-it-'));
  const checkpointFile = path.join(dir, 'checkpoint.json');
  const mapping = Object.entries(c.mapping ?? {}).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  const yaml = `source:
  host: 127.0.0.1
  port: ${c.source?.port ?? labPorts().MARIADB_PORT}
  user: ${LAB_SYNC_USER.user}
  password: ${LAB_SYNC_USER.password}
  serverId: ${c.serverId ?? 50000 + Math.floor(Math.random() * 10000)}
kafka:
  brokers: [${c.broker}]
  createTopics: true
  topicPartitions: ${c.topicPartitions ?? 1}
objects:
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

/** Starts `sync` and resolves once it streams the binlog (or rejects with its output). */
export async function startSync(configFile: string, extraArgs: string[] = [], readyText = 'starting binlog stream'): Promise<RunningSync> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', '--config', configFile, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
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
  const deadline = Date.now() + 30_000;
  while (!out.includes(readyText)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sync did not start (exit ${proc.exitCode}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return running;
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

/** The after image (or before, for DELETE) of a record as {column: text}. */
export function image(r: DecodedRecord): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of r.columns) out[c.name] = r.operation === 'DELETE' ? c.before : c.after;
  return out;
}
