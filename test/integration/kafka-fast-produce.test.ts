/**
 * The sink's own record batch encoding (src/sink/record-batch.ts, put into kafkajs by
 * src/sink/kafkajs-fast-produce.ts) against each real broker of the lab: what a plain
 * kafkajs consumer reads back is exactly what was sent (keys, null keys, values, empty
 * values, a 900 KiB value, timestamps, partitions, order), without and with gzip. The
 * batches' producer fields (epoch and base sequence -1, which kafkajs' own encoder writes as
 * 0) show that the records went through our encoder; with the idempotent producer, the
 * sequences are kafkajs' own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { KafkaSink, type KafkaSinkOptions, type SinkMessage } from '../../src/sink/kafka-sink.ts';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';
import { readRawRecords } from './sync-harness.ts';

const { Kafka, logLevel } = kafkajs;

before(async () => {
  await ensureLab({ kafka: true });
});

/** What kafkajs' record batch decoder tells of the batch a message came in. */
interface BatchContext {
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  firstOffset: string;
}

interface Received {
  partition: number;
  message: KafkaMessage & { batchContext?: BatchContext; magicByte?: number };
}

/** Checks every partition's records against what was sent to it, in order, from offset 0. */
function assertSame(received: Received[], sent: readonly SinkMessage[], partitions: number): void {
  assert.equal(received.length, sent.length, 'record count');
  for (let p = 0; p < partitions; p++) {
    const want = sent.filter((m) => m.partition === p);
    const got = received.filter((r) => r.partition === p);
    assert.equal(got.length, want.length, `records in partition ${p}`);
    got.forEach(({ message }, i) => {
      const m = want[i]!;
      const what = `partition ${p}, record ${i}`;
      assert.equal(message.offset, String(i), `offset of ${what}`);
      if (m.key === null) assert.equal(message.key, null, `null key of ${what}`);
      else assert.ok(message.key !== null && m.key.equals(message.key), `key of ${what}`);
      assert.ok(message.value !== null && m.value.equals(message.value), `value of ${what} (${m.value.length} bytes sent, ${message.value?.length} read)`);
      assert.equal(message.timestamp, m.timestamp, `timestamp of ${what}`);
      assert.equal(message.magicByte, 2, `record batch v2 for ${what}`);
    });
  }
}

for (const { version, broker } of kafkaBrokers()) {
  describe(`fast produce path on kafka ${version} (${broker})`, { timeout: 240_000 }, () => {
    const admin = new Kafka({ clientId: 'it-fast-admin', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
    const topics: string[] = [];
    const sinks: KafkaSink[] = [];

    async function connectedSink(extra: Partial<KafkaSinkOptions> = {}): Promise<KafkaSink> {
      const sink = new KafkaSink({
        brokers: [broker],
        clientId: 'it-fast',
        acks: -1,
        compression: 'none',
        maxRecordBytes: 10 * 1024 * 1024,
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
        ...extra,
      });
      sinks.push(sink);
      await sink.connect();
      return sink;
    }

    before(async () => {
      await admin.connect();
    });
    after(async () => {
      await Promise.all(sinks.map((s) => s.disconnect()));
      const existing = new Set(await admin.listTopics());
      const ours = topics.filter((t) => existing.has(t));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 15_000 }).catch(() => {});
      await admin.disconnect();
    });

    for (const compression of ['none', 'gzip'] as const) {
      test(`compression ${compression}: null keys, empty values, a 900 KiB value, timestamps out of order, 3 partitions, pipelined sends: all read back exactly, in order`, async () => {
        // Small batches, so that each partition's records go in several batches and rounds.
        const sink = await connectedSink({ compression, maxBatchRecords: 40 });
        const topic = uniqueName(`it_fast_${compression}`);
        topics.push(topic);
        const partitions = 3;
        await sink.ensureTopics([topic], { create: true, partitions, replicationFactor: 1 });

        const base = Date.now() - 3_600_000;
        const sends: SinkMessage[][] = [];
        for (let s = 0; s < 3; s++) {
          const send: SinkMessage[] = [];
          for (let i = 0; i < 300; i++) {
            const n = s * 1_000 + i;
            const key = n % 11 === 0 ? null : Buffer.from(`pk-${n}`);
            const value =
              s === 1 && i === 150
                ? randomBytes(900 * 1024) // does not compress either
                : n % 13 === 0
                  ? Buffer.alloc(0)
                  : Buffer.concat([Buffer.from([0x00, 0xff, 0xc3, 0x28]), randomBytes(n % 300), Buffer.from(`|${n}`)]);
            // Out of order within a batch, spread over an hour.
            const timestamp = String(base + ((n * 7_919) % 3_600_000));
            send.push({ topic, partition: (n * 5) % partitions, key, value, timestamp });
          }
          sends.push(send);
        }
        await Promise.all(sends.map((send) => sink.send(send)));

        const sent = sends.flat();
        const received = await readRawRecords<Received['message']>(broker, topic, sent.length);
        assertSame(received, sent, partitions);
        // Written by our encoder: kafkajs' own writes producer epoch 0 and base sequence 0.
        for (const { message } of received) {
          assert.equal(message.batchContext?.producerId, '-1');
          assert.equal(message.batchContext?.producerEpoch, -1);
          assert.equal(message.batchContext?.firstSequence, -1);
        }
        const batches = new Set(received.map((r) => `${r.partition}/${r.message.batchContext?.firstOffset}`));
        assert.ok(batches.size >= Math.floor(sent.length / 40), `${batches.size} record batches`);
      });
    }

    test('the idempotent producer: each batch carries kafkajs producer id, epoch and the running sequence of its partition', async () => {
      const sink = await connectedSink({ idempotent: true, maxBatchRecords: 100 });
      const topic = uniqueName('it_fast_idempotent');
      topics.push(topic);
      await sink.ensureTopics([topic], { create: true, partitions: 2, replicationFactor: 1 });
      const ts = String(Date.now() - 60_000);
      const sent: SinkMessage[] = Array.from({ length: 700 }, (_, i) => ({ topic, partition: i % 2, key: Buffer.from(`k${i}`), value: Buffer.alloc(50, i), timestamp: ts }));
      await Promise.all([sink.send(sent.slice(0, 300)), sink.send(sent.slice(300))]);

      const received = await readRawRecords<Received['message']>(broker, topic, sent.length);
      assertSame(received, sent, 2);
      for (const { partition, message } of received) {
        const ctx = message.batchContext!;
        assert.notEqual(ctx.producerId, '-1');
        assert.ok(ctx.producerEpoch >= 0);
        // A batch's base sequence is the partition offset of its first record (one producer, from 0).
        assert.equal(String(ctx.firstSequence), ctx.firstOffset, `partition ${partition} offset ${message.offset}`);
      }
    });
  });
}
