/**
 * The operations endpoint: one small HTTP server (node:http, nothing else) with
 *
 *   GET /metrics   Prometheus text format (registry of metrics.ts, plus process metrics)
 *   GET /healthz   liveness: 200 while the process runs
 *   GET /readyz    readiness: 200 when ready, 503 with the reasons when not (health.ts)
 *
 * Health answers are small JSON objects, for people and probes alike. Nothing here changes
 * state, so every request is safe to repeat; anything else is 404 (405 for a method other
 * than GET or HEAD).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncError } from '../errors.ts';
import { currentReadiness, enableProcessMetrics, registry, setStallSeconds, uptimeSeconds } from './metrics.ts';

export interface OpsServerOptions {
  readonly host: string;
  /** 0 asks the system for a free port (tests); the config's 0 means "off" and never gets here */
  readonly port: number;
  readonly stallSeconds: number;
}

export interface OpsServer {
  /** the port it listens on */
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  enableProcessMetrics();
  setStallSeconds(o.stallSeconds);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${(err as Error)?.message ?? String(err)}\n`);
    });
  });
  // A probe's keep-alive connection must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new SyncError(
          'METRICS_PORT_UNAVAILABLE',
          `cannot serve metrics on ${o.host}:${o.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use by another process' : err.message}; ` +
            'set metrics.port to a free port, or 0 to turn the endpoint off',
          { cause: err },
        ),
      );
    });
    server.listen(o.port, o.host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
      return;
    }
    case '/healthz':
    case '/livez':
      json(res, 200, { status: 'ok', uptimeSeconds: Math.round(uptimeSeconds()) });
      return;
    case '/readyz': {
      const r = currentReadiness();
      json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: try /metrics, /healthz or /readyz\n');
  }
}

function json(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}
