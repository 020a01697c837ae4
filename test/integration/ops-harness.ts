/**
 * What the operations tests (metrics, health, authentication, shutdown) add to
 * sync-harness.ts: a config with extra options (SASL, TLS, the metrics endpoint), a free
 * port (throwaway-source.ts), and reading the endpoint back.
 */
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { type SyncTestConfig, writeSyncConfig } from './sync-harness.ts';

export { freePort } from './throwaway-source.ts';

/** writeSyncConfig, then `patch` edits the YAML document (a plain object) before it is written back. */
export function writeOpsConfig(c: SyncTestConfig, patch: (doc: Record<string, any>) => void): ReturnType<typeof writeSyncConfig> {
  const out = writeSyncConfig(c);
  const doc = parse(fs.readFileSync(out.configFile, 'utf8')) as Record<string, any>;
  patch(doc);
  fs.writeFileSync(out.configFile, stringify(doc));
  return out;
}

/** GET on the endpoint: status and body text. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string; contentType: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

/**
 * Prometheus text as `name{labels}` → value (labels as written, in their order), e.g.
 * `dts_records_produced_total{topic="t"}`; comment lines are left out.
 */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export async function scrape(port: number): Promise<Map<string, number>> {
  const r = await httpGet(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parseMetrics(r.body);
}

/** Polls `check` every 200 ms until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
