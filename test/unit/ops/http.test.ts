import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import { type OpsServer, startOpsServer } from '../../../src/ops/http.ts';
import { setSourceConnected, sinkObserver } from '../../../src/ops/metrics.ts';

let server: OpsServer;
const get = async (path: string, method = 'GET') => {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};

before(async () => {
  server = await startOpsServer({ host: '127.0.0.1', port: 0, stallSeconds: 60 });
});

after(async () => {
  await server?.close();
});

test('/metrics is Prometheus text with our metrics and the process ones', async () => {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  assert.match(r.body, /^# HELP dts_records_produced_total /m);
  assert.match(r.body, /^# TYPE dts_binlog_lag_seconds gauge$/m);
  assert.match(r.body, /^process_resident_memory_bytes \d+/m);
  assert.match(r.body, /^nodejs_eventloop_lag_seconds /m);
});

test('/healthz answers 200 while the process runs; /readyz 503 with reasons, then 200', async () => {
  const live = await get('/healthz');
  assert.equal(live.status, 200);
  assert.equal(JSON.parse(live.body).status, 'ok');
  let ready = await get('/readyz');
  assert.equal(ready.status, 503);
  assert.match(ready.type, /^application\/json/);
  assert.deepEqual(JSON.parse(ready.body).reasons, ['not connected to the source', 'not connected to Kafka']);
  setSourceConnected(true);
  sinkObserver.connection(true);
  ready = await get('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(JSON.parse(ready.body).ready, true);
  assert.equal((await get('/readyz', 'HEAD')).status, 200);
});

test('anything else is 404, and methods other than GET and HEAD 405', async () => {
  assert.equal((await get('/')).status, 404);
  assert.equal((await get('/metrics', 'POST')).status, 405);
});

test('a port in use is METRICS_PORT_UNAVAILABLE, naming the option', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    await assert.rejects(startOpsServer({ host: '127.0.0.1', port, stallSeconds: 60 }), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.code, 'METRICS_PORT_UNAVAILABLE');
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use by another process; set metrics\\.port to a free port, or 0`));
      return true;
    });
  } finally {
    busy.close();
  }
});
