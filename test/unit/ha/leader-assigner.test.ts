import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import type { Cluster, Logger } from 'kafkajs';
import {
  ACTIVE_PARTITION,
  activeMemberOf,
  chooseActive,
  decodeClaim,
  encodeClaim,
  leaderAssigner,
  leaderAssignment,
  LEADER_ASSIGNER_NAME,
  ownsActivePartition,
  type GroupMemberClaim,
  type MemberClaim,
} from '../../../src/ha/leader-assigner.ts';

const { AssignerProtocol } = kafkajs;

function member(memberId: string, startedAt: string, active = false, host = `host-${memberId}`): GroupMemberClaim {
  return { memberId, claim: { active, identity: { host, pid: 100, startedAt } } };
}

const EARLY = '2024-01-01T00:00:00.000Z';
const LATER = '2024-01-01T00:05:00.000Z';
const LATEST = '2024-01-02T00:00:00.000Z';

test('a new group: the longest-running member becomes active', () => {
  assert.equal(chooseActive([member('m-b', LATER), member('m-a', LATEST), member('m-c', EARLY)]), 'm-c');
});

test('sticky: the member that says it is active keeps partition 0 when an older standby is in the group', () => {
  // m-old started first, but m-new is the active one: a rebalance (a standby joining) must not depose it.
  const members = [member('m-old', EARLY), member('m-new', LATEST, true), member('m-joiner', LATER)];
  assert.equal(chooseActive(members), 'm-new');
  assert.deepEqual(Object.fromEntries(leaderAssignment(members, 't', true)), {
    'm-old': {},
    'm-new': { t: [ACTIVE_PARTITION] },
    'm-joiner': {},
  });
});

test('ties: the same start time goes to the smallest member id, whatever the order members come in', () => {
  const a = member('consumer-2', EARLY);
  const b = member('consumer-1', EARLY);
  const c = member('consumer-3', EARLY);
  for (const order of [[a, b, c], [c, b, a], [b, c, a]]) assert.equal(chooseActive(order), 'consumer-1');
});

test('the active member left: the longest-running of those that remain takes over', () => {
  const before = [member('m-active', LATEST, true), member('m-1', LATER), member('m-2', EARLY)];
  assert.equal(chooseActive(before), 'm-active');
  const after = before.filter((m) => m.memberId !== 'm-active');
  assert.equal(chooseActive(after), 'm-2');
});

test('two claimants (never expected): resolved by the same order, deterministically', () => {
  assert.equal(chooseActive([member('m-b', LATER, true), member('m-a', LATEST, true), member('m-c', EARLY)]), 'm-b');
});

test('members whose metadata is not ours, or has no readable start, come last', () => {
  assert.equal(chooseActive([{ memberId: 'a-foreign', claim: null }, member('z-ours', LATEST)]), 'z-ours');
  assert.equal(chooseActive([member('a-bad-time', 'not a time'), member('z-ours', LATEST)]), 'z-ours');
  assert.equal(chooseActive([{ memberId: 'x', claim: null }]), 'x');
  assert.equal(chooseActive([]), null);
});

test('no partition 0: nobody gets anything', () => {
  assert.deepEqual(Object.fromEntries(leaderAssignment([member('a', EARLY, true), member('b', LATER)], 't', false)), { a: {}, b: {} });
});

test('the claim travels as JoinGroup user data; anything else decodes to null', () => {
  const claim: MemberClaim = { active: true, identity: { host: 'db-sync-1', pid: 4242, startedAt: EARLY } };
  assert.deepEqual(decodeClaim(encodeClaim(claim)), claim);
  assert.deepEqual(decodeClaim(encodeClaim({ ...claim, active: false }))?.active, false);
  const withConfig: MemberClaim = { active: false, identity: { ...claim.identity, config: 'ab12' } };
  assert.deepEqual(decodeClaim(encodeClaim(withConfig)), withConfig, 'the config digest travels too');
  assert.equal(decodeClaim(null), null);
  assert.equal(decodeClaim(Buffer.alloc(0)), null);
  assert.equal(decodeClaim(Buffer.from('not json')), null);
  assert.equal(decodeClaim(Buffer.from('{"partitions":[0]}')), null, 'the static assigner\'s user data is not a claim');
  assert.equal(decodeClaim(Buffer.from('{"v":2,"active":true,"host":"h","pid":1,"startedAt":"x"}')), null, 'a future version is not read as this one');
});

test('ownsActivePartition reads an assignment as kafkajs decodes it', () => {
  assert.equal(ownsActivePartition({ t: [0] }, 't'), true);
  assert.equal(ownsActivePartition({ t: [1] }, 't'), false);
  assert.equal(ownsActivePartition({ other: [0] }, 't'), false);
  assert.equal(ownsActivePartition({}, 't'), false);
  assert.equal(ownsActivePartition(null, 't'), false);
});

function fakeCluster(partitions: number[]): Cluster {
  return { findTopicPartitionMetadata: () => partitions.map((partitionId) => ({ partitionId })) } as unknown as Cluster;
}

const quietLogger = { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

test('the kafkajs assigner: protocol() reads the claim at each join, assign() gives partition 0 to the claimant', async () => {
  let active = false;
  const identity = { host: 'h1', pid: 1, startedAt: LATEST };
  const assigner = leaderAssigner('t', () => ({ active, identity }))({ cluster: fakeCluster([0]), groupId: 'g', logger: quietLogger });
  assert.equal(assigner.name, LEADER_ASSIGNER_NAME);

  const standbyMeta = assigner.protocol({ topics: ['t'] }).metadata;
  active = true;
  const activeMeta = assigner.protocol({ topics: ['t'] }).metadata;
  assert.equal(decodeClaim(AssignerProtocol.MemberMetadata.decode(standbyMeta)?.userData)?.active, false);
  assert.equal(decodeClaim(AssignerProtocol.MemberMetadata.decode(activeMeta)?.userData)?.active, true);

  const olderStandby = AssignerProtocol.MemberMetadata.encode({
    version: 0,
    topics: ['t'],
    userData: encodeClaim({ active: false, identity: { host: 'h0', pid: 2, startedAt: EARLY } }),
  });
  const plan = await assigner.assign({
    members: [
      { memberId: 'older', memberMetadata: olderStandby },
      { memberId: 'me', memberMetadata: activeMeta },
    ],
    topics: ['t'],
  });
  const decoded = Object.fromEntries(plan.map((p) => [p.memberId, AssignerProtocol.MemberAssignment.decode(p.memberAssignment)?.assignment]));
  assert.deepEqual(decoded, { older: {}, me: { t: [0] } });

  // What a standby learns from DescribeGroups: who owns partition 0, and who that is.
  const described = plan.map((p) => ({
    memberId: p.memberId,
    memberAssignment: p.memberAssignment,
    memberMetadata: p.memberId === 'me' ? activeMeta : olderStandby,
  }));
  assert.deepEqual(activeMemberOf(described, 't'), { memberId: 'me', identity });
  assert.equal(activeMemberOf(described, 'other-topic'), null);
  assert.equal(activeMemberOf([{ memberId: 'x', memberAssignment: Buffer.from('junk'), memberMetadata: Buffer.alloc(0) }], 't'), null);
});

test('the kafkajs assigner warns and assigns nothing when the topic has no partition 0', async () => {
  const warnings: string[] = [];
  const logger = { ...quietLogger, warn: (m: string) => warnings.push(m) } as unknown as Logger;
  const identity = { host: 'h1', pid: 1, startedAt: EARLY };
  const assigner = leaderAssigner('t', () => ({ active: true, identity }))({ cluster: fakeCluster([]), groupId: 'g', logger });
  const plan = await assigner.assign({ members: [{ memberId: 'me', memberMetadata: assigner.protocol({ topics: ['t'] }).metadata }], topics: ['t'] });
  assert.deepEqual(AssignerProtocol.MemberAssignment.decode(plan[0]!.memberAssignment)?.assignment, {});
  assert.equal(warnings.length, 1);
});
