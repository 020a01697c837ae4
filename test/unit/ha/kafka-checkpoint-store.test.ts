/**
 * The pure parts of the Kafka checkpoint store: the record it writes, how a record's value
 * is read back (and refused, naming the task and topic), the scan that finds a task's last
 * record below the end of the read, and the topic checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCheckpoint } from '../../../src/checkpoint/checkpoint-store.ts';
import { isSyncError } from '../../../src/errors.ts';
import {
  CheckpointScan,
  checkpointMessage,
  checkpointReplicationFactor,
  compacts,
  notCompactedWarning,
  parseCheckpointRecord,
  tooManyPartitionsError,
} from '../../../src/ha/kafka-checkpoint-store.ts';

const doc = {
  binlog: { file: 'mysql-bin.000003', position: 1234, gtid: '0-1-9' },
  idReservedUntil: '2000001',
  snapshot: null,
};

test('the record: keyed by the task, partition 0, the checkpoint document as JSON, stamped with the time', () => {
  const now = new Date('2025-01-02T03:04:05.678Z');
  const m = checkpointMessage('dts.checkpoints', 'orders-task', doc, now);
  assert.equal(m.topic, 'dts.checkpoints');
  assert.equal(m.partition, 0);
  assert.deepEqual(m.key, Buffer.from('orders-task'));
  assert.equal(m.timestamp, String(now.getTime()));
  assert.deepEqual(JSON.parse(m.value.toString('utf8')), { version: 1, ...doc, updatedAt: '2025-01-02T03:04:05.678Z' });
  // The same rules as the file: what the store writes, it reads back.
  assert.deepEqual(parseCheckpointRecord('dts.checkpoints', 'orders-task', m.value, '7'), { version: 1, ...doc, updatedAt: now.toISOString() });
  assert.deepEqual(parseCheckpoint(m.value.toString('utf8'), 'x'), { version: 1, ...doc, updatedAt: now.toISOString() });
});

test('an empty task name is refused', () => {
  assert.throws(() => checkpointMessage('t', '', doc), TypeError);
  assert.throws(() => new CheckpointScan('', 1n), TypeError);
});

test('a tombstone is no checkpoint', () => {
  assert.equal(parseCheckpointRecord('dts.checkpoints', 'orders-task', null, '3'), null);
});

test('a corrupt value is CHECKPOINT_CORRUPT naming the task, topic and offset, with the Kafka fix', () => {
  const check = (value: string, reason: RegExp) =>
    assert.throws(
      () => parseCheckpointRecord('dts.checkpoints', 'orders-task', Buffer.from(value), '42'),
      (e: unknown) => {
        assert.ok(isSyncError(e));
        assert.equal(e.code, 'CHECKPOINT_CORRUPT');
        assert.equal(e.retriable, false);
        assert.match(e.message, /^checkpoint of task "orders-task" in topic dts\.checkpoints \(offset 42\) is corrupt/);
        assert.match(e.message, reason);
        assert.match(e.message, /write a tombstone \(key "orders-task", null value\) to topic dts\.checkpoints/);
        assert.doesNotMatch(e.message, /checkpoint file|move the file/);
        return true;
      },
    );
  check('{"version":1,', /not valid JSON/);
  check(JSON.stringify({ version: 2 }), /unknown version 2/);
  check(JSON.stringify({ ...doc, version: 1, binlog: { file: 'mysql-bin.000003', position: 'x', gtid: null } }), /binlog\.position is not a position/);
});

test('the file keeps its messages after the refactor', () => {
  assert.throws(() => parseCheckpoint('nope', 'checkpoint file /x/c.json'), (e: Error) =>
    /^checkpoint file \/x\/c\.json is corrupt \(4 bytes, not valid JSON/.test(e.message) && /move the file away/.test(e.message));
});

function rec(offset: number, key: string | null, value: string | null) {
  return { offset: String(offset), key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value) };
}

test('the scan keeps the last record of its task below the end, and is done once a batch reaches the end', () => {
  const scan = new CheckpointScan('a', 6n);
  assert.equal(scan.done, false);
  scan.add([rec(0, 'a', 'a0'), rec(1, 'b', 'b1'), rec(2, 'a', 'a2'), rec(3, null, 'x')]);
  assert.equal(scan.reached('3'), false);
  assert.equal(scan.next, '4');
  // Offsets 4 and 5: a transaction's data filtered out as aborted and its marker; 6 was written after the read began.
  scan.add([rec(6, 'a', 'later')]);
  assert.equal(scan.reached('6'), true);
  assert.deepEqual(scan.last, { offset: '2', value: Buffer.from('a2') });
});

test('the scan: a tombstone last means none; a task with no record is null; the end reached by control records alone', () => {
  const scan = new CheckpointScan('a', 4n);
  scan.add([rec(0, 'a', 'a0'), rec(1, 'a', null)]);
  assert.equal(scan.reached('1'), false);
  assert.equal(scan.reached('3'), true, 'a batch of only control records still moves the position');
  assert.deepEqual(scan.last, { offset: '1', value: null });
  const none = new CheckpointScan('zz', 2n);
  none.add([rec(0, 'a', 'a0'), rec(1, 'z', 'z1')]);
  assert.equal(none.reached('1'), true);
  assert.equal(none.last, null);
  // A key that is a prefix of another's is not that task.
  const prefix = new CheckpointScan('task', 2n);
  prefix.add([rec(0, 'task-2', 'x'), rec(1, 'tas', 'y')]);
  assert.equal(prefix.last, null);
});

test('topic checks: compaction, replication factor, partitions', () => {
  assert.equal(compacts('compact'), true);
  assert.equal(compacts('compact,delete'), true);
  assert.equal(compacts('delete, compact'), true);
  assert.equal(compacts('delete'), false);
  assert.equal(compacts(undefined), false);
  assert.deepEqual([1, 2, 3, 5].map(checkpointReplicationFactor), [1, 2, 3, 3]);
  const e = tooManyPartitionsError('dts.checkpoints', 2);
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.equal(e.retriable, false);
  assert.match(e.message, /checkpoint topic dts\.checkpoints has 2 partitions; checkpoint\.store kafka needs exactly 1/);
  assert.match(e.message, /checkpoint\.topic/);
  const w = notCompactedWarning('dts.checkpoints', 'delete', '127.0.0.1:9092');
  assert.match(w, /checkpoint topic dts\.checkpoints has cleanup\.policy=delete, not compact/);
  assert.match(w, /kafka-configs\.sh --bootstrap-server 127\.0\.0\.1:9092 --alter --entity-type topics --entity-name dts\.checkpoints --add-config cleanup\.policy=compact/);
});
