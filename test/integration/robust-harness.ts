/**
 * What the fault tests (robust-*.test.ts, docs/reliability.md) share beyond sync-harness.ts:
 * a config for any source (a throwaway MariaDB, a TCP proxy), the `sync` command started
 * with its own environment, a TCP proxy that can cut its connections without closing them,
 * the RSS of a process, and `verify` run as a library, expecting zero differences.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { differences, renderReport, type VerifyReport } from '../../src/verify/report.ts';
import { runVerify } from '../../src/verify/run-verify.ts';
import { LAB_SYNC_USER } from './lab.ts';
import type { RunningSync } from './sync-harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Preload for a sync child process: redirects connections (DTS_TEST_NET_REDIRECT) to a test's proxy. */
export const NET_REDIRECT = fileURLToPath(new URL('./net-redirect.mjs', import.meta.url));

export interface RobustConfig {
  readonly sourcePort: number;
  readonly sourceHost?: string;
  readonly broker: string;
  /** config entries of objects, as written in YAML (quote what needs it) */
  readonly objects: readonly string[];
  readonly topic: string;
  /** object (as written in YAML) to topic */
  readonly mapping?: Readonly<Record<string, string>>;
  readonly serverId?: number;
  readonly mode?: 'initial' | 'incremental' | 'full';
  /** extra lines under source: / kafka: (indented by this helper) */
  readonly source?: readonly string[];
  readonly kafka?: readonly string[];
  /** extra top-level lines (e.g. `ddl: { emit: true }`) */
  readonly extra?: readonly string[];
  /** a checkpoint file to use (default: checkpoint.json in the config's folder) */
  readonly checkpointFile?: string;
}

export function writeRobustConfig(c: RobustConfig): { configFile: string; checkpointFile: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'robust-it-'));
  const checkpointFile = c.checkpointFile ?? path.join(dir, 'checkpoint.json');
  const yaml = `source:
  host: ${c.sourceHost ?? '127.0.0.1'}
  port: ${c.sourcePort}
  user: ${LAB_SYNC_USER.user}
  password: ${LAB_SYNC_USER.password}
  serverId: ${c.serverId ?? 60000 + Math.floor(Math.random() * 10000)}
${(c.source ?? []).map((l) => `  ${l}\n`).join('')}kafka:
  brokers: [${c.broker}]
  createTopics: true
${(c.kafka ?? []).map((l) => `  ${l}\n`).join('')}objects:
${c.objects.map((o) => `  - ${o}`).join('\n')}
topics:
  default: ${c.topic}
${c.mapping ? `  mapping:\n${Object.entries(c.mapping).map(([k, v]) => `    ${k}: ${v}\n`).join('')}` : ''}mode: ${c.mode ?? 'incremental'}
snapshot:
  progress: log
checkpoint:
  file: ${checkpointFile}
  intervalMs: 200
log:
  level: info
${(c.extra ?? []).map((l) => `${l}\n`).join('')}`;
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, yaml);
  return { configFile, checkpointFile, dir };
}

export interface SyncStart {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** extra `--import` preloads */
  readonly imports?: readonly string[];
  /** resolve once the output holds this (default: the binlog stream started); null: at once */
  readonly readyText?: string | null;
  readonly readyTimeoutMs?: number;
}

/** Starts `sync` as a child process (like sync-harness's startSync, with an environment of its own). */
export async function startSyncWith(configFile: string, o: SyncStart = {}): Promise<RunningSync> {
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

/** Waits until `text` occurs `times` times in the sync's output; returns when. */
export async function waitForOutput(s: RunningSync, text: string | RegExp, timeoutMs: number, times = 1): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const count = () => (typeof text === 'string' ? s.output().split(text).length - 1 : (s.output().match(new RegExp(text.source, 'g')) ?? []).length);
  while (count() < times) {
    if (s.proc.exitCode !== null) throw new Error(`sync exited (${s.proc.exitCode}) before printing ${String(text)}:\n${tailText(s.output())}`);
    if (Date.now() > deadline) throw new Error(`sync did not print ${String(text)} ${times}x within ${timeoutMs} ms:\n${tailText(s.output())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now();
}

export function tailText(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Runs verify (src/verify) on a sync config and asserts that every table matches. */
export async function verifyNoDifferences(configFile: string, only?: readonly string[]): Promise<VerifyReport> {
  const report = await runVerify({ config: loadConfig(configFile), waitMs: 60_000, ...(only ? { only } : {}) });
  assert.equal(differences(report), 0, `verify found differences:\n${renderReport(report)}`);
  assert.ok(report.tables.every((t) => t.sourceRows === t.matching), renderReport(report));
  return report;
}

/** VmRSS of a process in kB, or null once it is gone. */
export function vmRssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; `peakMb()` is the highest seen. */
export function rssSampler(pid: number, everyMs = 100): { peakMb(): number; samples(): number; stop(): void } {
  let peak = 0;
  let n = 0;
  const t = setInterval(() => {
    const kb = vmRssKb(pid);
    if (kb === null) return;
    n++;
    peak = Math.max(peak, kb);
  }, everyMs);
  t.unref();
  return { peakMb: () => peak / 1024, samples: () => n, stop: () => clearInterval(t) };
}

/**
 * A TCP proxy on a loopback port in front of `target`. `cut()` makes every connection open now
 * go silent, the way a dropped NAT entry or a pulled cable does: nothing is forwarded any more
 * in either direction, and neither side is closed (no FIN, no RST). Connections made after
 * the cut are forwarded as usual, so a client that notices and reconnects gets through.
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; silent: boolean }>();
  accepted = 0;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = net.createServer((client) => proxy.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    this.accepted++;
    const upstream = net.connect(target);
    const pair = { client, upstream, silent: false };
    this.pairs.add(pair);
    client.on('data', (d) => { if (!pair.silent) upstream.write(d); });
    upstream.on('data', (d) => { if (!pair.silent) client.write(d); });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A silent connection stays open whatever its other side does: that is the point.
    client.on('close', () => { if (!pair.silent) close(); });
    upstream.on('close', () => { if (!pair.silent) close(); });
    client.on('error', () => {});
    upstream.on('error', () => {});
  }

  /** Open connections that still forward. */
  get live(): number {
    return [...this.pairs].filter((p) => !p.silent).length;
  }

  /** Silences every connection open now; returns how many. */
  cut(): number {
    let n = 0;
    for (const p of this.pairs) {
      if (p.silent) continue;
      p.silent = true;
      p.client.pause();
      p.upstream.pause();
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
