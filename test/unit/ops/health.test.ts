import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readiness } from '../../../src/ops/health.ts';

const ok = { role: 'single' as const, sourceConnected: true, kafkaConnected: true, stopping: false, stalledMs: 0, stallMs: 60_000 };

test('ready when both sides are connected, nothing stalls and no stop was asked for', () => {
  assert.deepEqual(readiness(ok), { ready: true, role: 'single', reasons: [], source: true, kafka: true, stalledSeconds: 0 });
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
  assert.equal(readiness({ role: 'single', sourceConnected: false, kafkaConnected: false, stopping: true, stalledMs: 0, stallMs: 1000 }).reasons.length, 3);
});

test('checkpoint.store kafka: the active instance is judged as a single one; a standby is ready without source or Kafka sends; joining is not ready', () => {
  assert.deepEqual(readiness({ ...ok, role: 'active', sourceConnected: false }).reasons, ['not connected to the source']);
  const standby = readiness({ ...ok, role: 'standby', sourceConnected: false, kafkaConnected: false, stalledMs: 120_000 });
  assert.deepEqual([standby.ready, standby.role, standby.reasons], [true, 'standby', []]);
  assert.deepEqual(readiness({ ...ok, role: 'standby', stopping: true }).reasons, ['stopping']);
  assert.deepEqual(readiness({ ...ok, role: 'starting' }).reasons, ['joining the election of the active instance']);
});
