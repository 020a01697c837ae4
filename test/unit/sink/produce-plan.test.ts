import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSyncError } from '../../../src/errors.ts';
import type { SinkMessage } from '../../../src/sink/sink.ts';
import {
  BATCH_OVERHEAD_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  planProduce,
  RECORD_OVERHEAD_BYTES,
  type PlanOptions,
  type TopicLimits,
} from '../../../src/sink/produce-plan.ts';

const TS = '1700000000000';

function msg(topic: string, partition: number, n: number, valueBytes = 10, key: Buffer | null = Buffer.from(`k${n}`)): SinkMessage {
  const value = Buffer.alloc(valueBytes, 0x61);
  value.write(String(n).padStart(Math.min(valueBytes, 6), '0'));
  return { topic, partition, key, value, timestamp: TS };
}

function options(limits: Record<string, TopicLimits>, extra: Partial<PlanOptions> = {}): PlanOptions {
  return {
    maxRecordBytes: 1_000_000,
    maxBatchRecords: 1_000_000,
    maxRequestBytes: 1 << 30,
    limits: (t) => limits[t],
    ...extra,
  };
}

/** Every partition's records, in the order the rounds send them. */
function sentOrder(plan: ReturnType<typeof planProduce>): Map<string, SinkMessage[]> {
  const out = new Map<string, SinkMessage[]>();
  for (const round of plan.rounds) {
    for (const t of round.topicMessages) {
      for (const p of t.partitions) {
        const k = `${t.topic}/${p.partition}`;
        out.set(k, [...(out.get(k) ?? []), ...p.messages]);
      }
    }
  }
  return out;
}

function byPartition(messages: SinkMessage[]): Map<string, SinkMessage[]> {
  const out = new Map<string, SinkMessage[]>();
  for (const m of messages) {
    const k = `${m.topic}/${m.partition}`;
    out.set(k, [...(out.get(k) ?? []), m]);
  }
  return out;
}

test('a small send is one round, the message objects passed on as they are', () => {
  const messages = [msg('a', 0, 1), msg('a', 0, 2), msg('a', 0, 3)];
  const plan = planProduce(messages, options({ a: { partitions: 1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES } }));
  assert.equal(plan.rounds.length, 1);
  assert.equal(plan.records, 3);
  assert.deepEqual(plan.unknownTopics, []);
  const [round] = plan.rounds;
  assert.equal(round!.topicMessages.length, 1);
  assert.equal(round!.topicMessages[0]!.messages.length, 3);
  for (let i = 0; i < 3; i++) assert.equal(round!.topicMessages[0]!.messages[i], messages[i]);
  assert.notEqual(round!.topicMessages[0]!.messages, messages, 'the caller array is never handed on');
});

test('records are grouped by topic and partition, keeping their order, with every record sent once', () => {
  const messages: SinkMessage[] = [];
  for (let i = 0; i < 300; i++) messages.push(msg(i % 3 === 0 ? 'b' : 'a', i % 4, i));
  const limits = { a: { partitions: 4, maxMessageBytes: 2_000 }, b: { partitions: 4, maxMessageBytes: 2_000 } };
  const plan = planProduce(messages, options(limits, { maxBatchRecords: 7 }));
  assert.ok(plan.rounds.length > 1);
  assert.deepEqual(sentOrder(plan), byPartition(messages));
  // Each round's topic entry holds exactly its partitions' records.
  for (const round of plan.rounds) {
    for (const t of round.topicMessages) {
      assert.equal(t.messages.length, t.partitions.reduce((n, p) => n + p.messages.length, 0));
      assert.equal(new Set(t.partitions.map((p) => p.partition)).size, t.partitions.length, 'a partition once per request');
    }
    const topics = round.topicMessages.map((t) => t.topic);
    assert.equal(new Set(topics).size, topics.length, 'a topic once per request');
  }
});

test("batches stay under the topic's max.message.bytes and maxBatchRecords", () => {
  const maxMessageBytes = 1_000;
  const messages = Array.from({ length: 50 }, (_, i) => msg('t', 0, i, 100));
  const plan = planProduce(messages, options({ t: { partitions: 1, maxMessageBytes } }, { maxBatchRecords: 5 }));
  for (const round of plan.rounds) {
    for (const p of round.topicMessages[0]!.partitions) {
      const estimate = BATCH_OVERHEAD_BYTES + p.messages.reduce((n, m) => n + m.value.length + (m.key?.length ?? 0) + RECORD_OVERHEAD_BYTES, 0);
      assert.ok(estimate <= maxMessageBytes, `batch of ${estimate} bytes`);
      assert.ok(p.messages.length <= 5);
    }
  }
  assert.deepEqual(sentOrder(plan), byPartition(messages));
  // 5,000 records of 200 bytes for one partition do not go in one 1 MiB batch (kafkajs would try).
  const big = Array.from({ length: 5_000 }, (_, i) => msg('t', 0, i, 200));
  const bigPlan = planProduce(big, options({ t: { partitions: 1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES } }));
  assert.equal(bigPlan.rounds.length, 2);
});

test('a record larger than the batch limit (but within maxRecordBytes) goes alone, for the broker to judge', () => {
  const messages = [msg('t', 0, 1, 10), msg('t', 0, 2, 5_000), msg('t', 0, 3, 10)];
  const plan = planProduce(messages, options({ t: { partitions: 1, maxMessageBytes: 1_000 } }));
  const batches = plan.rounds.map((r) => r.topicMessages[0]!.messages.length);
  assert.deepEqual(batches, [1, 1, 1]);
  assert.deepEqual(plan.largest, { topic: 't', partition: 0, bytes: 5_000 + 2 });
});

test('a level above maxRequestBytes is split by partition, and order still holds', () => {
  const messages: SinkMessage[] = [];
  for (let i = 0; i < 40; i++) messages.push(msg('t', i % 4, i, 100));
  const plan = planProduce(messages, options({ t: { partitions: 4, maxMessageBytes: 1 << 20 } }, { maxRequestBytes: 500 }));
  assert.equal(plan.rounds.length, 4);
  assert.deepEqual(sentOrder(plan), byPartition(messages));
  for (const r of plan.rounds) assert.ok(r.records > 0);
});

test('RECORD_TOO_LARGE when key + value is above maxRecordBytes, naming topic, partition, size and limit', () => {
  const messages = [msg('orders', 0, 1, 10), msg('orders', 2, 2, 100, Buffer.alloc(30)), msg('orders', 0, 3, 10)];
  assert.throws(
    () => planProduce(messages, options({ orders: { partitions: 3, maxMessageBytes: 1 << 20 } }, { maxRecordBytes: 129 })),
    (e: unknown) => {
      assert.ok(isSyncError(e));
      assert.equal(e.code, 'RECORD_TOO_LARGE');
      assert.equal(e.retriable, false);
      assert.match(e.message, /topic orders partition 2 has 130 bytes \(key 30 \+ value 100\)/);
      assert.match(e.message, /kafka\.maxRecordBytes \(129\)/);
      assert.match(e.message, /nothing of this batch was sent/);
      return true;
    },
  );
  // Exactly at the limit passes; a null key counts 0.
  planProduce(messages, options({ orders: { partitions: 3, maxMessageBytes: 1 << 20 } }, { maxRecordBytes: 130 }));
  planProduce([msg('orders', 0, 1, 130, null)], options({ orders: { partitions: 3, maxMessageBytes: 1 << 20 } }, { maxRecordBytes: 130 }));
});

test('a partition the topic does not have is KAFKA_TOPIC_MISSING (kafkajs would drop it silently)', () => {
  const limits = { t: { partitions: 3, maxMessageBytes: 1 << 20 } };
  for (const bad of [3, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => planProduce([msg('t', 0, 1), msg('t', bad, 2)], options(limits)),
      (e: unknown) => isSyncError(e) && e.code === 'KAFKA_TOPIC_MISSING' && e.message.includes('topic t has no partition'),
    );
  }
});

test('topics the sink does not know are reported, checked loosely and cut with the default limit', () => {
  const plan = planProduce([msg('known', 0, 1), msg('unknown', 7, 2)], options({ known: { partitions: 1, maxMessageBytes: 1 << 20 } }));
  assert.deepEqual(plan.unknownTopics, ['unknown']);
  assert.equal(plan.rounds.length, 1);
});

test('an empty send plans nothing', () => {
  const plan = planProduce([], options({}));
  assert.deepEqual(plan.rounds, []);
  assert.equal(plan.records, 0);
  assert.equal(plan.largest, null);
});

/** Each round as `topic/partition:records` per batch. */
function shape(plan: ReturnType<typeof planProduce>): string[][] {
  return plan.rounds.map((r) => r.topicMessages.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p.partition}:${p.messages.length}`)));
}

test('maxBatchRecords cuts a batch at exactly that many records', () => {
  const messages = Array.from({ length: 10 }, (_, i) => msg('t', 0, i));
  const plan = planProduce(messages, options({ t: { partitions: 1, maxMessageBytes: 1 << 20 } }, { maxBatchRecords: 4 }));
  assert.deepEqual(shape(plan), [['t/0:4'], ['t/0:4'], ['t/0:2']]);
});

test("a batch takes records while its estimate (header + each record's bytes and overhead) fits max.message.bytes, not one more", () => {
  // Each record: 68 bytes of value, no key, so 100 bytes with its overhead.
  const messages = Array.from({ length: 7 }, (_, i) => msg('t', 0, i, 68, null));
  const exact = planProduce(messages, options({ t: { partitions: 1, maxMessageBytes: BATCH_OVERHEAD_BYTES + 3 * (68 + RECORD_OVERHEAD_BYTES) } }));
  assert.deepEqual(shape(exact), [['t/0:3'], ['t/0:3'], ['t/0:1']]);
  const oneLess = planProduce(messages, options({ t: { partitions: 1, maxMessageBytes: BATCH_OVERHEAD_BYTES + 3 * (68 + RECORD_OVERHEAD_BYTES) - 1 } }));
  assert.deepEqual(shape(oneLess), [['t/0:2'], ['t/0:2'], ['t/0:2'], ['t/0:1']]);
});

test("batch k of every partition goes in a request before batch k+1 of any, so one request never holds two batches of a partition", () => {
  const messages = [
    ...Array.from({ length: 7 }, (_, i) => msg('t', 0, i)),
    ...Array.from({ length: 2 }, (_, i) => msg('t', 1, 10 + i)),
    ...Array.from({ length: 4 }, (_, i) => msg('b', 0, 20 + i)),
  ];
  const limits = { t: { partitions: 2, maxMessageBytes: 1 << 20 }, b: { partitions: 1, maxMessageBytes: 1 << 20 } };
  const plan = planProduce(messages, options(limits, { maxBatchRecords: 3 }));
  assert.deepEqual(shape(plan), [['t/0:3', 't/1:2', 'b/0:3'], ['t/0:3', 'b/0:1'], ['t/0:1']]);
  assert.deepEqual(sentOrder(plan), byPartition(messages));
});

test('maxRequestBytes: a request takes batches while their bytes fit, exactly at the limit too; totals add up', () => {
  // 4 partitions, one batch of 3 records of 100 bytes (key 2 + value 98) each: 300 bytes a batch.
  const messages = Array.from({ length: 12 }, (_, i) => msg('t', i % 4, i, 98, Buffer.from('kk')));
  const limits = { t: { partitions: 4, maxMessageBytes: 1 << 20 } };
  const at = planProduce(messages, options(limits, { maxRequestBytes: 600 }));
  assert.deepEqual(shape(at), [['t/0:3', 't/1:3'], ['t/2:3', 't/3:3']]);
  assert.deepEqual(at.rounds.map((r) => [r.records, r.bytes]), [[6, 600], [6, 600]]);
  assert.equal(at.bytes, 1_200);
  assert.equal(at.records, 12);
  const below = planProduce(messages, options(limits, { maxRequestBytes: 599 }));
  assert.deepEqual(shape(below), [['t/0:3'], ['t/1:3'], ['t/2:3'], ['t/3:3']]);
  // A batch above maxRequestBytes still goes, alone.
  const tiny = planProduce(messages, options(limits, { maxRequestBytes: 10 }));
  assert.equal(tiny.rounds.length, 4);
});
