/**
 * The one kafkajs client config (kafka-connection.ts) the sink, the precheck and the consumer
 * share, and the socket factory that lets the sink close a silent broker's connections.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { BrokerSockets, kafkaClientConfig } from '../../../src/sink/kafka-connection.ts';
import { KafkaSink, transactionalRetry } from '../../../src/sink/kafka-sink.ts';
import type { Sink } from '../../../src/sink/sink.ts';

const noop = () => {};
const logger = { debug: noop, info: noop, warn: noop, error: noop };

test('defaults: 3 s to connect, 30 s for an answer, kafkajs warnings and errors only, no TLS or SASL, kafkajs retries', () => {
  const sockets = new BrokerSockets();
  const c = kafkaClientConfig({ brokers: ['a:9092', 'b:9092'], clientId: 'x', logger }, sockets);
  assert.deepEqual(c.brokers, ['a:9092', 'b:9092']);
  assert.equal(c.clientId, 'x');
  assert.equal(c.connectionTimeout, 3_000);
  assert.equal(c.requestTimeout, 30_000);
  assert.equal(c.logLevel, kafkajs.logLevel.WARN);
  assert.equal(c.socketFactory, sockets.factory);
  assert.equal(c.ssl, undefined);
  assert.equal(c.sasl, undefined);
  assert.equal(c.retry, undefined);
});

test('TLS checks the certificate unless told not to; SASL, retry and timeouts as given', () => {
  const sasl = { mechanism: 'scram-sha-512', username: 'u', password: 'p' } as const;
  const c = kafkaClientConfig(
    { brokers: ['a:9093'], clientId: 'x', logger, tls: { ca: 'CA' }, sasl, retry: { retries: 1, maxRetryTime: 1_000 }, connectionTimeoutMs: 5, requestTimeoutMs: 6 },
    new BrokerSockets(),
  );
  assert.deepEqual(c.ssl, { ca: 'CA', rejectUnauthorized: true });
  assert.deepEqual(c.sasl, sasl);
  assert.deepEqual(c.retry, { retries: 1, maxRetryTime: 1_000 });
  assert.equal(c.connectionTimeout, 5);
  assert.equal(c.requestTimeout, 6);
  const off = kafkaClientConfig({ brokers: ['a:9093'], clientId: 'x', logger, tls: { rejectUnauthorized: false } }, new BrokerSockets());
  assert.deepEqual(off.ssl, { rejectUnauthorized: false });
});

test("the socket factory keeps each socket by broker, so that a silent broker's sockets can be closed", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const sockets = new BrokerSockets();
  try {
    const connected = new Promise<void>((resolve) => server.once('connection', () => resolve()));
    const socket = sockets.factory({ host: '127.0.0.1', port, ssl: false as never, onConnect: noop });
    await connected;
    const closed = new Promise<Error | undefined>((resolve) => socket.once('error', resolve));
    assert.equal(sockets.destroy('127.0.0.1:1', 'no'), 0, 'another broker: nothing closed');
    assert.equal(sockets.destroy(`127.0.0.1:${port}`, 'no answer'), 1);
    assert.equal((await closed)?.message, 'no answer');
    await new Promise((resolve) => socket.once('close', resolve));
    assert.equal(sockets.destroy(`127.0.0.1:${port}`, 'again'), 0, 'a closed socket is forgotten');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a KafkaSink is a Sink, and refuses sends until connected', async () => {
  const sink: Sink = new KafkaSink({ brokers: ['127.0.0.1:1'], clientId: 't', acks: -1, compression: 'none', maxRecordBytes: 100 });
  await assert.rejects(sink.send([{ topic: 't', partition: 0, key: null, value: Buffer.from('x'), timestamp: '0' }]), (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'KAFKA_UNREACHABLE');
    assert.match((e as Error).message, /not connected to 127\.0\.0\.1:1; call connect\(\) first/);
    return true;
  });
});

test("a transactional producer's retries start at 20 ms and keep about the same window", () => {
  const window = (r: { retries?: number; initialRetryTime?: number }) => (r.initialRetryTime ?? 300) * (2 ** ((r.retries ?? 5) + 1) - 1);
  const fast = transactionalRetry(undefined);
  assert.deepEqual([fast.initialRetryTime, fast.retries], [20, 9]);
  assert.ok(Math.abs(window(fast) / window({}) - 1) < 0.2, `${window(fast)} ms against ${window({})} ms`);
  assert.deepEqual(transactionalRetry({ retries: 2, initialRetryTime: 100, maxRetryTime: 500 }), { retries: 4, initialRetryTime: 20, maxRetryTime: 500 });
  assert.deepEqual(transactionalRetry({ initialRetryTime: 10 }), { initialRetryTime: 10 });
});
