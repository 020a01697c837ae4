import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWanted, encodeWanted, staticAssignment } from '../../../src/consumer/static-assigner.ts';

test('each member gets the partitions it asked for that exist', () => {
  const plan = staticAssignment(
    [{ memberId: 'b', topics: ['t'], wanted: [1, 2, 9] }, { memberId: 'a', topics: ['t'], wanted: [0] }],
    () => [0, 1, 2, 3],
  );
  assert.deepEqual(Object.fromEntries(plan), { a: { t: [0] }, b: { t: [1, 2] } });
});

test('a partition two members ask for goes to one of them only', () => {
  const plan = staticAssignment(
    [{ memberId: 'm2', topics: ['t'], wanted: [0, 1] }, { memberId: 'm1', topics: ['t'], wanted: [0] }],
    () => [0, 1],
  );
  assert.deepEqual(Object.fromEntries(plan), { m1: { t: [0] }, m2: { t: [1] } });
});

test('the wanted partitions travel as JoinGroup user data', () => {
  assert.deepEqual(decodeWanted(encodeWanted([3, 1])), [3, 1]);
  assert.deepEqual(decodeWanted(Buffer.from('not json')), []);
  assert.deepEqual(decodeWanted(null), []);
  assert.deepEqual(decodeWanted(Buffer.from('{"partitions":[1,-1,"x",2.5]}')), [1]);
});
