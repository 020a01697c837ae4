/**
 * One record through each real broker of the lab (Kafka 3.9 in KRaft mode, Kafka 1.0.2 with
 * ZooKeeper) with kafkajs: key, value bytes and timestamp must come back exactly as sent.
 * A broker that is not there fails the test; it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { ensureLab, labPorts } from './lab.ts';
import { withTimeout } from './sync-harness.ts';

before(async () => {
  await ensureLab({ kafka: true });
});

const ports = labPorts();
const brokers = [
  { version: '3.9', port: ports.KAFKA39_PORT },
  { version: '1.0.2', port: ports.KAFKA10_PORT },
];

for (const { version, port } of brokers) {
  test(`kafka ${version} on 127.0.0.1:${port}: a record keeps its key, value bytes and timestamp`, { timeout: 90_000 }, async () => {
    const suffix = randomBytes(4).toString('hex');
    const topic = `it-roundtrip-${suffix}`;
    const kafka = new Kafka({
      clientId: `it-roundtrip-${suffix}`,
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      requestTimeout: 10_000,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({
      groupId: `it-roundtrip-${suffix}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 10_000,
    });

    // Bytes that no text encoding would keep: NUL, 0xff, an invalid UTF-8 sequence.
    const key = `key-${suffix}`;
    const value = Buffer.from([0x00, 0x01, 0xff, 0xfe, 0xc3, 0x28, 0x7f, 0x80, ...randomBytes(16)]);
    // A fixed instant an hour ago, so that a broker-assigned time could not pass for it.
    const timestamp = String(Date.now() - 3_600_000);

    let topicCreated = false;
    try {
      await admin.connect();
      topicCreated = await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
        timeout: 15_000,
      });
      assert.equal(topicCreated, true, `topic ${topic} was not created`);

      await producer.connect();
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key, value, timestamp }] });
      assert.equal(meta?.errorCode, 0);
      assert.equal(meta?.partition, 0);
      assert.equal(meta?.baseOffset, '0');

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await withTimeout(
        new Promise<{ partition: number; message: KafkaMessage }>((resolve, reject) => {
          consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
          consumer
            .run({ eachMessage: async ({ partition, message }) => resolve({ partition, message }) })
            .catch(reject);
        }),
        45_000,
        `reading ${topic} back from kafka ${version}`,
      );

      assert.equal(received.partition, 0);
      assert.equal(received.message.offset, '0');
      assert.ok(received.message.key, 'record came back without a key');
      assert.equal(received.message.key.toString('utf8'), key);
      assert.ok(received.message.value, 'record came back without a value');
      assert.equal(received.message.value.toString('hex'), value.toString('hex'));
      assert.equal(received.message.timestamp, timestamp);
    } finally {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      if (topicCreated) await admin.deleteTopics({ topics: [topic], timeout: 15_000 }).catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  });
}
