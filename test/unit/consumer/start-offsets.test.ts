import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideStart, offsetForTime, type StartInputs, timestampFromMetadata } from '../../../src/consumer/start-offsets.ts';

const base: StartInputs = { low: 10n, high: 100n, committed: null, local: null, configured: null, applyConfigured: true };

test('the configured checkpoint wins at a start with use-config-checkpoint', () => {
  const d = decideStart({ ...base, configured: 1714557600, committed: { offset: 50n, timestamp: null }, local: { offset: 40n, timestamp: 1 } });
  assert.deepEqual(d, { kind: 'timestamp', seconds: 1714557600, reason: 'configured checkpoint 1714557600' });
  assert.deepEqual(decideStart({ ...base, configured: 'earliest', committed: { offset: 50n, timestamp: null } }),
    { kind: 'offset', offset: 10n, reason: 'configured checkpoint: the start of the partition' });
});

test('otherwise the group commit, then the local file, then the configured checkpoint, then the start', () => {
  const stored = { ...base, applyConfigured: false, configured: 1714557600 };
  assert.deepEqual(decideStart({ ...stored, committed: { offset: 50n, timestamp: null }, local: { offset: 60n, timestamp: 5 } }),
    { kind: 'offset', offset: 50n, reason: "the group's committed offset" });
  assert.deepEqual(decideStart({ ...stored, local: { offset: 60n, timestamp: 5 } }), { kind: 'offset', offset: 60n, reason: 'the local checkpoint file' });
  assert.deepEqual(decideStart(stored), { kind: 'timestamp', seconds: 1714557600, reason: 'no stored checkpoint; configured checkpoint 1714557600' });
  assert.deepEqual(decideStart({ ...base, applyConfigured: false }), { kind: 'offset', offset: 10n, reason: 'no checkpoint configured or stored: the start of the partition' });
  // applyConfigured without a configured checkpoint falls through to what is stored.
  assert.equal(decideStart({ ...base, committed: { offset: 20n, timestamp: null } }).kind, 'offset');
});

test('a stored offset outside the partition is found again by its timestamp, else clamped', () => {
  const d = decideStart({ ...base, applyConfigured: false, committed: { offset: 500n, timestamp: 1714557600 } });
  assert.equal(d.kind, 'timestamp');
  assert.equal(d.kind === 'timestamp' && d.seconds, 1714557600);
  assert.match(d.reason, /the group's committed offset 500 is outside the partition's offsets 10\.\.100; its timestamp/);
  const high = decideStart({ ...base, applyConfigured: false, local: { offset: 500n, timestamp: null } });
  assert.deepEqual(high.kind === 'offset' && high.offset, 100n);
  const low = decideStart({ ...base, applyConfigured: false, local: { offset: 2n, timestamp: null } });
  assert.equal(low.kind === 'offset' && low.offset, 10n);
  assert.match(low.reason, /records removed by retention are lost to this consumer/);
  // The ends are inside: high is where a caught-up consumer waits.
  assert.equal(decideStart({ ...base, applyConfigured: false, committed: { offset: 100n, timestamp: null } }).kind, 'offset');
});

test('offsetsForTimes answers and commit metadata', () => {
  assert.equal(offsetForTime(42n, 100n), 42n);
  assert.equal(offsetForTime(-1n, 100n), 100n);
  assert.equal(timestampFromMetadata('{"timestamp":1714557600}'), 1714557600);
  for (const bad of [null, undefined, '', 'x', '{"timestamp":"1"}', '{"timestamp":-1}', '{}']) assert.equal(timestampFromMetadata(bad), null);
});
