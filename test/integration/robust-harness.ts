/**
 * What the fault tests (robust-*.test.ts, docs/reliability.md) share beyond sync-harness.ts
 * (configs for any source, the `sync` command with its own environment): a TCP proxy that can
 * cut its connections without closing them, the RSS of a process, and `verify` run as a
 * library, expecting zero differences.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { differences, renderReport, type VerifyReport } from '../../src/verify/report.ts';
import { runVerify } from '../../src/verify/run-verify.ts';
/** Preload for a sync child process: redirects connections (DTS_TEST_NET_REDIRECT) to a test's proxy. */
export const NET_REDIRECT = fileURLToPath(new URL('./net-redirect.mjs', import.meta.url));

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

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** forwards nothing (cut, or held) */
  silent: boolean;
}

/**
 * A TCP proxy on a loopback port in front of `target`. `cut()` makes every connection open now
 * go silent, the way a dropped NAT entry or a pulled cable does: nothing is forwarded any more
 * in either direction, and neither side is closed (no FIN, no RST). Connections made after
 * the cut are forwarded as usual, so a client that notices and reconnects gets through.
 * `hold()` is stricter and observable: every connection, open now or made later, forwards
 * nothing either way, and what clients send is kept, so that a test can wait until a given
 * request (e.g. a produce request with a marker row) has been sent and is left unanswered.
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private holding = false;
  /** What clients sent while held, per connection. */
  private readonly held = new Map<Pair, Buffer>();
  private readonly heldWaiters = new Set<() => void>();
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
    const pair: Pair = { client, upstream, silent: this.holding };
    this.pairs.add(pair);
    if (this.holding) upstream.pause();
    client.on('data', (d) => {
      if (!pair.silent) upstream.write(d);
      else if (this.holding) this.keep(pair, d);
    });
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

  /**
   * From now on no connection forwards anything, in either direction, and none is closed:
   * those open now and those made later (a client that reconnects is held too). What the
   * clients send is kept (`waitForHeld`); nothing is answered.
   */
  hold(): void {
    this.holding = true;
    for (const p of this.pairs) {
      p.silent = true;
      p.upstream.pause();
      p.client.resume(); // a cut pair's client may be paused: read what it sends from now on
    }
  }

  /** Resolves once one connection has sent `bytes` while held; rejects after `timeoutMs`. */
  async waitForHeld(bytes: Buffer, timeoutMs: number): Promise<void> {
    const seen = () => [...this.held.values()].some((b) => b.includes(bytes));
    if (seen()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!seen()) return;
        clearTimeout(timer);
        this.heldWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.heldWaiters.delete(check);
        reject(new Error(`no connection sent ${JSON.stringify(bytes.toString("latin1"))} through the held proxy within ${timeoutMs} ms (held: ${[...this.held.values()].map((b) => JSON.stringify(b.toString("latin1"))).join(", ") || "nothing"})`));
      }, timeoutMs);
      this.heldWaiters.add(check);
    });
  }

  private keep(pair: Pair, d: Buffer): void {
    this.held.set(pair, Buffer.concat([this.held.get(pair) ?? Buffer.alloc(0), d]));
    for (const check of [...this.heldWaiters]) check();
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
