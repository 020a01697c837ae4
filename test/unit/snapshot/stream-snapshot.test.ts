import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkReconciler } from '../../../src/snapshot/stream-snapshot.ts';

const at = (position: number, file = 'mysql-bin.000002') => ({ file, position });

test('rows whose key a streamed event touched after the low watermark are left out; earlier events do not count', () => {
  const r = new ChunkReconciler();
  r.observe(['["1"]'], at(100));          // before L: the chunk already holds it
  r.observe(['["2"]'], at(300));          // after L: the stream carried a newer state
  r.observe(['["3"]', '["4"]'], at(400)); // an UPDATE that changed the key from 3 to 4
  const records = ['["1"]', '["2"]', '["3"]', '["4"]', '["5"]'].map((key) => ({ key, record: key }));
  assert.deepEqual(r.survivors(at(200), records), ['["1"]', '["5"]']);
  // A later file is later, whatever the offset.
  r.observe(['["5"]'], at(10, 'mysql-bin.000003'));
  assert.deepEqual(r.survivors(at(200), records), ['["1"]']);
});

test('pruning forgets what no later chunk can miss', () => {
  const r = new ChunkReconciler();
  r.observe(['a'], at(100));
  r.observe(['b'], at(300));
  r.prune(at(200));
  assert.equal(r.size, 1);
  assert.deepEqual(r.survivors(at(50), [{ key: 'a', record: 'a' }, { key: 'b', record: 'b' }]), ['a']);
});
