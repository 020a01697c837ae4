/**
 * KafkaCheckpointStore against each real broker of the lab (Kafka 3.9 in KRaft mode, Kafka
 * 1.0.2 with ZooKeeper): the compacted topic it creates, checkpoints written and read back
 * by another instance, tombstones, committed-only reads next to open and aborted
 * transactions, and the topics it refuses or warns about. A broker that is not there fails
 * the test; it never skips.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { syncErrorOf } from './sync-harness.ts';
import { type CheckpointDocument, KafkaCheckpointStore } from '../../src/ha/kafka-checkpoint-store.ts';
import type { SinkLogger } from '../../src/sink/kafkajs-log.ts';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';

const { Kafka, logLevel, ConfigResourceTypes, Partitioners } = kafkajs;

/** Short retries, so that a failure shows within seconds. */
const FAST_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 500 };

before(async () => {
  await ensureLab({ kafka: true });
});

function capturingLogger(): { logger: SinkLogger; lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function checkpointAt(position: number, idReservedUntil = '1000001'): CheckpointDocument {
  return { binlog: { file: 'mysql-bin.000007', position, gtid: `0-1-${position}` }, idReservedUntil, snapshot: null };
}

test('an unreachable broker is a retriable KAFKA_UNREACHABLE', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const { logger } = capturingLogger();
  const store = new KafkaCheckpointStore({
    connection: { brokers: [`127.0.0.1:${port}`], clientId: 'it-ckpt', logger, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 }, connectionTimeoutMs: 500 },
    topic: 'it-ckpt.checkpoints',
  });
  try {
    const e = await syncErrorOf(store.connect());
    assert.equal(e.code, 'KAFKA_UNREACHABLE');
    assert.equal(e.retriable, true);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  } finally {
    await store.close();
  }
});

for (const { version, broker } of kafkaBrokers()) {
  describe(`KafkaCheckpointStore on kafka ${version} (${broker})`, { timeout: 240_000 }, () => {
    const kafka = new Kafka({ clientId: 'it-ckpt-admin', brokers: [broker], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    let producer: Producer;
    const topics: string[] = [];
    const stores: KafkaCheckpointStore[] = [];

    function topicName(what: string): string {
      const t = uniqueName(`it_ckpt_${what}`);
      topics.push(t);
      return t;
    }
    function newStore(topic: string, logger: SinkLogger = capturingLogger().logger): KafkaCheckpointStore {
      const store = new KafkaCheckpointStore({
        connection: { brokers: [broker], clientId: uniqueName('it-ckpt'), logger, retry: FAST_RETRY },
        topic,
        logger,
        readTimeoutMs: 30_000,
      });
      stores.push(store);
      return store;
    }
    async function cleanupPolicy(topic: string): Promise<string | undefined> {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
      });
      return resources[0]?.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue;
    }

    before(async () => {
      await admin.connect();
      producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await producer.disconnect();
      const existing = new Set(await admin.listTopics());
      const ours = topics.filter((t) => existing.has(t));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 15_000 }).catch(() => {});
      await admin.disconnect();
    });

    test('connect creates the topic: 1 partition, compacted; an empty topic reads as no checkpoint', async () => {
      const topic = topicName('created');
      const { logger, lines } = capturingLogger();
      const store = newStore(topic, logger);
      await store.connect();
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(meta[0]!.partitions.length, 1);
      assert.ok(meta[0]!.partitions[0]!.leader >= 0);
      // describeConfigs answers on 1.0.2 too (DescribeConfigs v0, Kafka 0.11+).
      assert.equal(await cleanupPolicy(topic), 'compact');
      assert.ok(lines.some((l) => l.level === 'info' && l.msg?.includes(`created checkpoint topic ${topic} (1 partition, compacted, replication factor 1)`)), JSON.stringify(lines));
      assert.equal(lines.filter((l) => l.level === 'warn').length, 0, JSON.stringify(lines));
      assert.equal(await store.read('task-a'), null);
      // A second connect, and a second store on the existing topic, leave it as it is and do not warn.
      await store.connect();
      const other = capturingLogger();
      await newStore(topic, other.logger).connect();
      assert.equal(other.lines.filter((l) => l.level === 'warn').length, 0, JSON.stringify(other.lines));
    });

    test('writes of two tasks: each reads back as its last, also by another instance; a tombstone is no checkpoint', async () => {
      const topic = topicName('tasks');
      const store = newStore(topic);
      await store.connect();
      for (let i = 0; i < 5; i++) {
        await store.write('task-a', checkpointAt(1000 + i));
        await store.write('task-b', checkpointAt(2000 + i, '2000001'));
      }
      // Not awaited in between: they land in call order.
      await Promise.all([3000, 3001, 3002, 3003].map((p) => store.write('task-a', checkpointAt(p))));
      const a = await store.read('task-a');
      assert.deepEqual(a?.binlog, { file: 'mysql-bin.000007', position: 3003, gtid: '0-1-3003' });
      assert.equal(a?.version, 1);
      assert.equal(a?.idReservedUntil, '1000001');
      assert.match(a?.updatedAt ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.equal((await store.read('task-b'))?.binlog?.position, 2004);
      assert.equal(await store.read('task-c'), null, 'a task without records');

      // Another host: a store of its own, same topic.
      const other = newStore(topic);
      assert.equal((await other.read('task-a'))?.binlog?.position, 3003);
      assert.equal((await other.read('task-b'))?.binlog?.position, 2004);

      await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: 'task-a', value: null }] });
      assert.equal(await other.read('task-a'), null);
      assert.equal((await other.read('task-b'))?.binlog?.position, 2004);
      // Written again after the tombstone: back.
      await other.write('task-a', checkpointAt(4000));
      assert.equal((await store.read('task-a'))?.binlog?.position, 4000);
    });

    test('reads committed data only: an open transaction is not waited for, an aborted one is not seen, a committed one is', async () => {
      const topic = topicName('txn');
      const store = newStore(topic);
      await store.connect();
      await store.write('task-t', checkpointAt(100));
      const txProducer = kafka.producer({ transactionalId: uniqueName('it-ckpt-tx'), idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await txProducer.connect();
      try {
        const message = (position: number) => {
          const m = store.writeMessage('task-t', checkpointAt(position));
          return { partition: m.partition, key: m.key, value: m.value, timestamp: m.timestamp };
        };
        const aborted = await txProducer.transaction();
        await aborted.send({ topic, acks: -1, messages: [message(200)] });
        // Open: the last stable offset stays before it, so the read ends there at once.
        assert.equal((await store.read('task-t'))?.binlog?.position, 100);
        await aborted.abort();
        assert.equal((await store.read('task-t'))?.binlog?.position, 100, 'an aborted checkpoint is never read');
        const committed = await txProducer.transaction();
        await committed.send({ topic, acks: -1, messages: [message(300)] });
        await committed.commit();
        // The partition now ends with a commit marker (a control record the consumer does not hand on).
        assert.equal((await newStore(topic).read('task-t'))?.binlog?.position, 300);
      } finally {
        await txProducer.disconnect();
      }
    });

    test('an existing topic without compaction is used, with a warning naming it and the fix', async () => {
      const topic = topicName('delete');
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }], waitForLeaders: true });
      const { logger, lines } = capturingLogger();
      const store = newStore(topic, logger);
      await store.connect();
      const warnings = lines.filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1, JSON.stringify(lines));
      assert.match(warnings[0]!.msg ?? '', new RegExp(`checkpoint topic ${topic} has cleanup\\.policy=delete, not compact`));
      assert.match(warnings[0]!.msg ?? '', new RegExp(`--alter --entity-type topics --entity-name ${topic} --add-config cleanup\\.policy=compact`));
      assert.equal(await cleanupPolicy(topic), 'delete', 'the store does not change the topic');
      await store.write('task-d', checkpointAt(5));
      assert.equal((await store.read('task-d'))?.binlog?.position, 5);
    });

    test('a topic with 2 partitions is refused with a clear error', async () => {
      const topic = topicName('two');
      await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
      const store = newStore(topic);
      const e = await syncErrorOf(store.connect());
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(`checkpoint topic ${topic} has 2 partitions; checkpoint\\.store kafka needs exactly 1`));
      // read and write connect first, and are refused the same way.
      assert.equal((await syncErrorOf(store.read('task'))).code, 'CONFIG_INVALID');
      assert.equal((await syncErrorOf(store.write('task', checkpointAt(4)))).code, 'CONFIG_INVALID');
    });

    test('a corrupt last value is CHECKPOINT_CORRUPT naming the task and the topic; an earlier corrupt one does not matter', async () => {
      const topic = topicName('corrupt');
      const store = newStore(topic);
      await store.connect();
      await store.write('task-x', checkpointAt(10));
      await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: 'task-x', value: '{"version":1,"binlog":' }] });
      const e = await syncErrorOf(store.read('task-x'));
      assert.equal(e.code, 'CHECKPOINT_CORRUPT');
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(`checkpoint of task "task-x" in topic ${topic} \\(offset 1\\) is corrupt \\(\\d+ bytes, not valid JSON`));
      assert.match(e.message, /write a tombstone/);
      await store.write('task-x', checkpointAt(11));
      assert.equal((await store.read('task-x'))?.binlog?.position, 11);
    });
  });
}
