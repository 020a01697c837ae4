/**
 * The sink answers kafkajs' per-partition grouping itself (kafkajs-grouping.ts). This checks,
 * with kafkajs' own grouping function, that the answer is what kafkajs would compute, so that
 * a kafkajs upgrade that changes the function fails here rather than in production.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { SinkMessage } from '../../../src/sink/sink.ts';
import { kafkajsGroupingShortcut, withPartitionGrouping } from '../../../src/sink/kafkajs-grouping.ts';
import { planProduce } from '../../../src/sink/produce-plan.ts';

const require = createRequire(import.meta.url);
type Group = (args: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: (a: { message: { partition: number } }) => number }) => Record<string, unknown[]>;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as Group;
const kafkajsVersion = (require('kafkajs/package.json') as { version: string }).version;

test('the shortcut is on for the pinned kafkajs version', () => {
  assert.equal(kafkajsVersion, '2.2.4');
  assert.equal(kafkajsGroupingShortcut, true);
});

test("kafkajs' grouping gives the same result on the sink's arrays as on plain ones", () => {
  const messages: SinkMessage[] = [];
  for (let i = 0; i < 2_000; i++) {
    messages.push({ topic: 't', partition: (i * 7) % 5, key: Buffer.from(String(i)), value: Buffer.from(`v${i}`), timestamp: String(1_700_000_000_000 + i) });
  }
  const plan = planProduce(messages, {
    maxRecordBytes: 1 << 20,
    maxBatchRecords: 150,
    maxRequestBytes: 1 << 30,
    limits: () => ({ partitions: 5, maxMessageBytes: 1 << 20 }),
  });
  const partitionMetadata = Array.from({ length: 5 }, (_, i) => ({ partitionId: i, leader: 0 }));
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;
  for (const round of plan.rounds) {
    for (const t of round.topicMessages) {
      const plain = groupMessagesPerPartition({ topic: t.topic, partitionMetadata, messages: [...t.messages], partitioner });
      const shortcut = groupMessagesPerPartition({ topic: t.topic, partitionMetadata, messages: withPartitionGrouping(t.messages, t.partitions), partitioner });
      assert.deepEqual(Object.keys(shortcut).sort(), Object.keys(plain).sort());
      for (const p of Object.keys(plain)) {
        assert.equal(shortcut[p]!.length, plain[p]!.length);
        shortcut[p]!.forEach((m, i) => assert.equal(m, plain[p]![i]));
      }
    }
  }
});

test('the array keeps behaving as an array (reduce is not enumerable; other methods untouched)', () => {
  const a = [1, 2, 3];
  withPartitionGrouping(a, [{ partition: 0, messages: a }]);
  assert.deepEqual(Object.keys(a), ['0', '1', '2']);
  assert.deepEqual([...a], [1, 2, 3]);
  assert.equal(a.find((x) => x === 2), 2);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), [1, 2, 3]);
});
