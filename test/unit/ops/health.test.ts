import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readiness } from '../../../src/ops/health.ts';

const ok = { sourceConnected: true, kafkaConnected: true, stopping: false, stalledMs: 0, stallMs: 60_000 };

test('ready when both sides are connected, nothing stalls and no stop was asked for', () => {
  assert.deepEqual(readiness(ok), { ready: true, reasons: [], source: true, kafka: true, stalledSeconds: 0 });
  assert.equal(readiness({ ...ok, stalledMs: 59_999 }).ready, true, 'waiting below the threshold is normal');
});

test('each cause of not being ready is named', () => {
  assert.deepEqual(readiness({ ...ok, sourceConnected: false }).reasons, ['not connected to the source']);
  assert.deepEqual(readiness({ ...ok, kafkaConnected: false }).reasons, ['not connected to Kafka']);
  assert.deepEqual(readiness({ ...ok, stopping: true }).reasons, ['stopping']);
  const stalled = readiness({ ...ok, stalledMs: 61_200 });
  assert.equal(stalled.ready, false);
  assert.match(stalled.reasons[0]!, /waited 61 s with no acknowledgement \(metrics\.stallSeconds 60\)/);
  assert.equal(stalled.stalledSeconds, 61.2);
  assert.equal(readiness({ sourceConnected: false, kafkaConnected: false, stopping: true, stalledMs: 0, stallMs: 1000 }).reasons.length, 3);
});
