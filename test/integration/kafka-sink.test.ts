/**
 * KafkaSink against each real broker of the lab (Kafka 3.9 in KRaft mode, Kafka 1.0.2 with
 * ZooKeeper), and against a small fake broker on loopback for what a real one will not do on
 * demand (refuse SASL, drop a connection in the middle of a produce request). A broker that
 * is not there fails the test; it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { isSyncError } from '../../src/errors.ts';
import { protocolErrorType } from '../../src/sink/kafka-errors.ts';
import { KafkaSink, type KafkaSinkOptions, type SinkLogger } from '../../src/sink/kafka-sink.ts';
import type { SinkMessage } from '../../src/sink/sink.ts';
import { partitionFor } from '../../src/sink/partitioner.ts';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';
import { readRawRecords, syncErrorOf, withTimeout } from './sync-harness.ts';

const { Kafka, logLevel } = kafkajs;

/** Short retries, so that a failure shows within seconds. */
const FAST_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 500 };

before(async () => {
  await ensureLab({ kafka: true });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function capturingLogger(): { logger: SinkLogger; text: () => string } {
  const lines: unknown[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, text: () => JSON.stringify(lines) };
}

async function recordsIn(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high), 0);
}

for (const { version, broker } of kafkaBrokers()) {
  describe(`KafkaSink on kafka ${version} (${broker})`, { timeout: 240_000 }, () => {
    const kafka = new Kafka({ clientId: 'it-sink-admin', brokers: [broker], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const topics: string[] = [];
    const sinks: KafkaSink[] = [];

    function newSink(extra: Partial<KafkaSinkOptions> = {}): KafkaSink {
      const sink = new KafkaSink({
        brokers: [broker],
        clientId: 'it-sink',
        acks: -1,
        compression: 'none',
        maxRecordBytes: 10 * 1024 * 1024,
        retry: FAST_RETRY,
        ...extra,
      });
      sinks.push(sink);
      return sink;
    }
    function topicName(what: string): string {
      const t = uniqueName(`it_sink_${what}`);
      topics.push(t);
      return t;
    }

    /**
     * `topic` was not auto-created by what ran before (the lab brokers have
     * auto.create.topics.enable=true: a metadata request naming a missing topic creates it).
     * Waits, instead of sleeping, for a marker topic auto-created after it to show in the
     * topic list: the broker creates topics in the order it is asked for them (KRaft: one
     * controller queue; ZooKeeper: one topic-change handler), so by then one auto-created
     * before would show too.
     */
    async function assertNotAutoCreated(topic: string, message: string): Promise<void> {
      const marker = topicName('marker');
      const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        // kafkajs retries while the auto-created topic has no leader yet.
        await producer.send({ topic: marker, messages: [{ value: 'marker' }] });
      } finally {
        await producer.disconnect();
      }
      let listed = await admin.listTopics();
      const deadline = Date.now() + 30_000;
      while (!listed.includes(marker)) {
        assert.ok(Date.now() < deadline, `the marker topic ${marker} did not show in the topic list`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        listed = await admin.listTopics();
      }
      assert.equal(listed.includes(topic), false, message);
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

    test('ensureTopics: a missing topic without create is KAFKA_TOPIC_MISSING naming it and the fix, and is not created', async () => {
      const sink = newSink();
      await sink.connect();
      const topic = topicName('missing');
      const e = await syncErrorOf(sink.ensureTopics([topic], { create: false, partitions: 3, replicationFactor: 1 }));
      assert.equal(e.code, 'KAFKA_TOPIC_MISSING');
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(topic));
      assert.match(e.message, /kafka\.createTopics: true/);
      assert.match(e.message, /create it/);
      // The lab brokers have auto.create.topics.enable=true: the check must not create it.
      await assertNotAutoCreated(topic, 'the check created the topic');
    });

    test('ensureTopics: creates a topic with 3 partitions and reports 3; an existing topic is kept as it is', async () => {
      const sink = newSink();
      await sink.connect();
      const topic = topicName('created');
      const existing = topicName('existing');
      await admin.createTopics({ topics: [{ topic: existing, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
      const counts = await sink.ensureTopics([topic, existing, topic], { create: true, partitions: 3, replicationFactor: 1 });
      assert.deepEqual([...counts], [[topic, 3], [existing, 2]]);
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(meta[0]!.partitions.length, 3);
      assert.ok(meta[0]!.partitions.every((p) => p.leader >= 0));
      // Again: nothing to create, same answer.
      assert.deepEqual([...(await sink.ensureTopics([topic], { create: true, partitions: 5, replicationFactor: 1 }))], [[topic, 3]]);
    });

    test('three pipelined sends of 1,000 keyed records land in order per partition, with their keys, values and timestamps', async () => {
      const sink = newSink();
      await sink.connect();
      const topic = topicName('order');
      const counts = await sink.ensureTopics([topic], { create: true, partitions: 3, replicationFactor: 1 });
      const partitions = counts.get(topic)!;
      assert.equal(partitions, 3);

      const base = Date.now() - 3_600_000;
      const batches: SinkMessage[][] = [];
      const expected = new Map<number, string[]>(); // partition -> record ids in send order
      for (let b = 0; b < 3; b++) {
        const batch: SinkMessage[] = [];
        for (let i = 0; i < 1_000; i++) {
          const id = `${b}-${String(i).padStart(4, '0')}`;
          const key = Buffer.from(`pk-${id}`);
          const partition = partitionFor('primary-key', partitions, { database: 'shop', table: 'orders', key });
          // Bytes no text encoding keeps, then the id.
          const value = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, b, i & 0xff]), randomBytes(8), Buffer.from(`|${id}`)]);
          batch.push({ topic, partition, key, value, timestamp: String(base + b * 1_000 + i) });
          expected.set(partition, [...(expected.get(partition) ?? []), id]);
        }
        batches.push(batch);
      }
      assert.equal(expected.size, 3, 'keys spread over the 3 partitions');

      // Not awaited in between: the sink must keep the order.
      const sends = batches.map((batch) => sink.send(batch));
      await Promise.all(sends);

      const sent = new Map(batches.flat().map((m) => [m.key!.toString(), m]));
      const received = await readRawRecords(broker, topic, 3_000);
      assert.equal(received.length, 3_000);
      const got = new Map<number, string[]>();
      for (const { partition, message } of received) {
        const key = message.key!.toString();
        const m = sent.get(key);
        assert.ok(m, `unexpected key ${key}`);
        assert.equal(partition, m.partition, `partition of ${key}`);
        assert.equal(message.value!.toString('hex'), m.value.toString('hex'), `value of ${key}`);
        assert.equal(message.timestamp, m.timestamp, `timestamp of ${key}`);
        got.set(partition, [...(got.get(partition) ?? []), key.slice('pk-'.length)]);
      }
      for (const [partition, ids] of expected) {
        assert.deepEqual(got.get(partition), ids, `order in partition ${partition}`);
        const offsets = received.filter((r) => r.partition === partition).map((r) => Number(r.message.offset));
        assert.deepEqual(offsets, offsets.map((_, i) => i), `offsets of partition ${partition}`);
      }
    });

    test('a record above maxRecordBytes is RECORD_TOO_LARGE before anything of the send (or after it) is sent', async () => {
      const sink = newSink({ maxRecordBytes: 64 * 1024 });
      await sink.connect();
      const topic = topicName('too_large');
      await sink.ensureTopics([topic], { create: true, partitions: 1, replicationFactor: 1 });
      const small = (n: number): SinkMessage => ({ topic, partition: 0, key: Buffer.from(`k${n}`), value: Buffer.alloc(100, n), timestamp: String(Date.now()) });
      const big: SinkMessage = { topic, partition: 0, key: Buffer.from('big'), value: Buffer.alloc(64 * 1024, 1), timestamp: String(Date.now()) };

      // A send issued before the refused one is not affected by it.
      const before = sink.send([small(0)]);
      const e = await syncErrorOf(sink.send([small(1), small(2), big, small(3)]));
      await before;
      assert.equal(e.code, 'RECORD_TOO_LARGE');
      assert.equal(e.retriable, false);
      assert.match(e.message, new RegExp(`topic ${topic} partition 0 has ${64 * 1024 + 3} bytes`));
      assert.match(e.message, new RegExp(`kafka\\.maxRecordBytes \\(${64 * 1024}\\)`));
      // A send after the failure is refused too (it would land without the refused records).
      const later = await syncErrorOf(sink.send([small(4)]));
      assert.equal(later.code, 'RECORD_TOO_LARGE');
      assert.match(later.message, /not sent, because an earlier send failed/);
      assert.equal(await recordsIn(admin, topic), 1, 'nothing of the refused send (nor after it) was sent');

      // connect() again: the sink takes sends again.
      await sink.connect();
      await sink.send([small(5), small(6)]);
      assert.equal(await recordsIn(admin, topic), 3);
    });

    test("a record the broker refuses (topic max.message.bytes=1000) is RECORD_TOO_LARGE; smaller records are cut into batches it takes", async () => {
      const sink = newSink();
      await sink.connect();
      const topic = topicName('broker_limit');
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }],
        waitForLeaders: true,
      });
      assert.deepEqual([...(await sink.ensureTopics([topic], { create: false, partitions: 1, replicationFactor: 1 }))], [[topic, 1]]);

      // 10 records of 300 bytes: one batch of them would be above 1000 bytes, so the sink cuts.
      const ts = String(Date.now());
      await sink.send(Array.from({ length: 10 }, (_, i) => ({ topic, partition: 0, key: Buffer.from(`k${i}`), value: Buffer.alloc(300, i), timestamp: ts })));
      assert.equal(await recordsIn(admin, topic), 10);

      const e = await syncErrorOf(sink.send([{ topic, partition: 0, key: Buffer.from('big'), value: Buffer.alloc(2_000, 7), timestamp: ts }]));
      assert.equal(e.code, 'RECORD_TOO_LARGE');
      assert.equal(e.retriable, false);
      assert.ok(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'].includes(protocolErrorType(e) ?? ''), `broker error: ${protocolErrorType(e)}`);
      assert.match(e.message, new RegExp(`topic ${topic}`));
      assert.match(e.message, /partition 0, has 2003 bytes/);
      assert.match(e.message, /max\.message\.bytes is 1000/);
      assert.equal(await recordsIn(admin, topic), 10);
    });

    test('a partition or a topic Kafka does not have is KAFKA_TOPIC_MISSING, nothing is sent and no topic is created', async () => {
      const sink = newSink();
      await sink.connect();
      const topic = topicName('partitions');
      await sink.ensureTopics([topic], { create: true, partitions: 2, replicationFactor: 1 });
      const ts = String(Date.now());
      const e = await syncErrorOf(sink.send([
        { topic, partition: 0, key: null, value: Buffer.from('a'), timestamp: ts },
        { topic, partition: 2, key: null, value: Buffer.from('b'), timestamp: ts },
      ]));
      assert.equal(e.code, 'KAFKA_TOPIC_MISSING');
      assert.match(e.message, new RegExp(`topic ${topic} has no partition 2 \\(it has partitions 0 to 1\\)`));
      assert.equal(await recordsIn(admin, topic), 0);

      // A topic that ensureTopics was not told about: learnt on the way if it exists...
      await sink.connect();
      const other = topicName('learnt');
      await admin.createTopics({ topics: [{ topic: other, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await sink.send([{ topic: other, partition: 0, key: null, value: Buffer.from('c'), timestamp: ts }]);
      assert.equal(await recordsIn(admin, other), 1);
      // ...and refused, without auto-creation, if it does not.
      const ghost = topicName('ghost');
      const missing = await syncErrorOf(sink.send([{ topic: ghost, partition: 0, key: null, value: Buffer.from('d'), timestamp: ts }]));
      assert.equal(missing.code, 'KAFKA_TOPIC_MISSING');
      assert.match(missing.message, new RegExp(ghost));
      await assertNotAutoCreated(ghost, 'the send created the topic');
    });

    test('gzip with acks 1, and the idempotent producer with acks all, round-trip in order', async () => {
      for (const options of [{ compression: 'gzip', acks: 1 }, { idempotent: true, acks: -1 }] as const) {
        const sink = newSink(options);
        await sink.connect();
        const topic = topicName('modes');
        await sink.ensureTopics([topic], { create: true, partitions: 1, replicationFactor: 1 });
        const ts = String(Date.now() - 60_000);
        const batches = [0, 1].map((b) =>
          Array.from({ length: 500 }, (_, i): SinkMessage => ({ topic, partition: 0, key: Buffer.from(`${b}-${i}`), value: Buffer.alloc(150, i), timestamp: ts })),
        );
        await Promise.all(batches.map((batch) => sink.send(batch)));
        const received = await readRawRecords(broker, topic, 1_000);
        assert.deepEqual(
          received.map((r) => r.message.key!.toString()),
          batches.flat().map((m) => m.key!.toString()),
          JSON.stringify(options),
        );
        assert.ok(received.every((r) => r.message.timestamp === ts));
      }
    });

    test('transactional: a commit makes the sends before it visible with its closing records; a newer producer of the id fences the older, whose open transaction is aborted', async () => {
      const topic = topicName('txn');
      const transactionalId = uniqueName('it-txn');
      const a = newSink({ transactionalId });
      await a.connect();
      await a.ensureTopics([topic], { create: true, partitions: 1, replicationFactor: 1 });
      const ts = String(Date.now());
      const rec = (key: string): SinkMessage => ({ topic, partition: 0, key: Buffer.from(key), value: Buffer.from(`v-${key}`), timestamp: ts });
      const sent = a.send([rec('a1'), rec('a2')]);
      const acked: string[] = [];
      void sent.then(() => acked.push('a1-a2'));
      await Promise.all([sent, a.send([rec('a3')]), a.commit(() => { assert.deepEqual(acked, ['a1-a2'], 'closing records are asked after the sends before them'); return [rec('ckA')]; })]);
      // Sent, not committed; then a second producer of the id starts.
      await a.send([rec('z1'), rec('z2')]);
      const b = newSink({ transactionalId });
      await b.connect();
      const fenced = await syncErrorOf(a.commit(() => [rec('ckZ')]));
      assert.equal(fenced.code, 'NOT_ACTIVE', fenced.message);
      assert.match(fenced.message, new RegExp(`transactional id ${transactionalId}`));
      await b.send([rec('b1')]);
      await b.commit(() => [rec('ckB')]);
      // Read committed, in offset order: z1 and z2 come before b1 in the log, so they would be among these six if visible.
      const received = await readRawRecords(broker, topic, 6);
      assert.deepEqual(received.map((r) => r.message.key!.toString()), ['a1', 'a2', 'a3', 'ckA', 'b1', 'ckB']);
      assert.ok((await recordsIn(admin, topic)) > 6, 'the aborted records and the markers are in the log too');
    });

    test('an unreachable broker (a closed port) is retriable KAFKA_UNREACHABLE within 15 s; a closed port listed first is skipped', async () => {
      const port = await closedPort();
      const sink = newSink({ brokers: [`127.0.0.1:${port}`], connectionTimeoutMs: 1_000 });
      const started = Date.now();
      const e = await syncErrorOf(sink.connect());
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
      assert.equal(e.code, 'KAFKA_UNREACHABLE');
      assert.equal(e.retriable, true);
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(e.message, /ECONNREFUSED|connect/i);

      const notConnected = await syncErrorOf(sink.send([{ topic: 'x', partition: 0, key: null, value: Buffer.from('x'), timestamp: '0' }]));
      assert.equal(notConnected.code, 'KAFKA_UNREACHABLE');

      // With the real broker after the closed port, kafkajs moves on to it.
      const both = newSink({ brokers: [`127.0.0.1:${port}`, broker], connectionTimeoutMs: 1_000 });
      await both.connect();
    });
  });
}

// ---------------------------------------------------------------------------------------
// A fake broker: just enough of the Kafka protocol (ApiVersions, Metadata v1, Produce v3,
// SaslHandshake v1, SaslAuthenticate v0) for kafkajs to connect and produce, and to refuse
// SASL or drop connections on purpose.

class Writer {
  private readonly parts: Buffer[] = [];
  int8(v: number): this { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  int64(v: bigint): this { const b = Buffer.alloc(8); b.writeBigInt64BE(v); this.parts.push(b); return this; }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  array<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
  build(): Buffer { return Buffer.concat(this.parts); }
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  int16(): number { const v = this.buf.readInt16BE(this.offset); this.offset += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.offset); this.offset += 4; return v; }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  array<T>(each: (r: this) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    return Array.from({ length: n }, () => each(this));
  }
}

interface FakeBrokerOptions {
  topics: { name: string; partitions: number }[];
  /** Advertise SASL and refuse every authentication. */
  refuseSasl?: boolean;
  /** What to do with the n-th produce request (from 0): answer it, or drop the connection. */
  onProduce?: (n: number) => 'ok' | 'drop';
}

class FakeBroker {
  readonly produceLog: { sends: string[]; outcome: 'ok' | 'drop' }[] = [];
  saslAuthentications = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly offsets = new Map<string, bigint>();
  port = 0;

  constructor(private readonly options: FakeBrokerOptions) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once no client connection is open. */
  async idle(): Promise<void> {
    while (this.sockets.size > 0) await new Promise((resolve) => [...this.sockets][0]!.once('close', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        if (!this.handle(socket, frame)) return;
      }
    });
  }

  /** Answers one request; false when the connection was dropped. */
  private handle(socket: net.Socket, frame: Buffer): boolean {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    r.string(); // client id
    const w = new Writer();
    switch (apiKey) {
      case 18: // ApiVersions
        w.int16(0).array(this.apis(), (w2, [key, min, max]) => w2.int16(key).int16(min).int16(max));
        if (apiVersion >= 1) w.int32(0);
        break;
      case 3: { // Metadata v0/v1
        const requested = r.array((r2) => r2.string()!);
        const topics = requested === null || requested.length === 0 ? this.options.topics.map((t) => t.name) : requested;
        w.array([0], (w2) => {
          w2.int32(0).string('127.0.0.1').int32(this.port);
          if (apiVersion >= 1) w2.string(null);
        });
        if (apiVersion >= 1) w.int32(0);
        w.array(topics, (w2, name) => {
          const t = this.options.topics.find((x) => x.name === name);
          w2.int16(t === undefined ? 3 : 0).string(name);
          if (apiVersion >= 1) w2.int8(0);
          w2.array(Array.from({ length: t?.partitions ?? 0 }, (_, i) => i), (w3, p) =>
            w3.int16(0).int32(p).int32(0).array([0], (w4, n) => w4.int32(n)).array([0], (w4, n) => w4.int32(n)));
        });
        break;
      }
      case 0: { // Produce v3
        r.string(); // transactional id
        r.int16(); // acks
        r.int32(); // timeout
        const topicData = r.array((r2) => ({
          topic: r2.string()!,
          partitions: r2.array((r3) => ({ partition: r3.int32(), records: r3.bytes()! }))!,
        }))!;
        const sends = new Set<string>();
        for (const t of topicData) {
          for (const p of t.partitions) for (const m of p.records.toString('latin1').matchAll(/send-([A-Z])-/g)) sends.add(m[1]!);
        }
        const outcome = this.options.onProduce?.(this.produceLog.length) ?? 'ok';
        this.produceLog.push({ sends: [...sends], outcome });
        if (outcome === 'drop') {
          socket.destroy();
          return false;
        }
        w.array(topicData, (w2, t) => {
          w2.string(t.topic).array(t.partitions, (w3, p) => {
            const key = `${t.topic}/${p.partition}`;
            const offset = this.offsets.get(key) ?? 0n;
            this.offsets.set(key, offset + 1n);
            w3.int32(p.partition).int16(0).int64(offset).int64(-1n);
          });
        });
        w.int32(0);
        break;
      }
      case 17: // SaslHandshake
        w.int16(0).array(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], (w2, m) => w2.string(m));
        break;
      case 36: // SaslAuthenticate v0
        this.saslAuthentications++;
        w.int16(58).string('Authentication failed: Invalid username or password').bytes(Buffer.alloc(0));
        break;
      default: // anything else: drop, the test did not expect it
        socket.destroy();
        return false;
    }
    const body = w.build();
    const head = Buffer.alloc(8);
    head.writeInt32BE(body.length + 4, 0);
    head.writeInt32BE(correlationId, 4);
    socket.write(Buffer.concat([head, body]));
    return true;
  }

  private apis(): [number, number, number][] {
    const apis: [number, number, number][] = [[0, 3, 3], [3, 0, 1], [18, 0, 2]];
    if (this.options.refuseSasl === true) apis.push([17, 0, 1], [36, 0, 0]);
    return apis;
  }
}

describe('KafkaSink against a fake broker', { timeout: 60_000 }, () => {
  test('SASL refused: not retriable, names the mechanism and the user, never the password, and is tried once', async () => {
    const PASSWORD = 'S3cr3t-fake-pw';
    for (const mechanism of ['plain', 'scram-sha-256'] as const) {
      const fake = new FakeBroker({ topics: [], refuseSasl: true });
      const address = await fake.start();
      const { logger, text } = capturingLogger();
      const sink = new KafkaSink({
        brokers: [address],
        clientId: 'it-sink-sasl',
        acks: -1,
        compression: 'none',
        maxRecordBytes: 1 << 20,
        sasl: { mechanism, username: 'acct-group', password: PASSWORD },
        logger,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 500 },
      });
      try {
        const started = Date.now();
        const e = await syncErrorOf(sink.connect());
        assert.ok(Date.now() - started < 5_000, 'refused at once, not after retries');
        assert.equal(e.code, 'KAFKA_UNREACHABLE');
        assert.equal(e.retriable, false);
        assert.match(e.message, new RegExp(`SASL ${mechanism.toUpperCase()} authentication as user "acct-group" failed`));
        assert.match(e.message, new RegExp(address));
        assert.ok(!e.message.includes(PASSWORD));
        // Not retried: connect() rejects only once kafkajs' retrier gives up, so a retried
        // refusal would have authenticated more than once by now.
        assert.equal(fake.saslAuthentications, 1, `${mechanism}: authentications`);
        // Nor left retrying behind the rejection: once the sink is disconnected and the fake
        // broker has seen every connection close, there was still one authentication.
        await sink.disconnect();
        await withTimeout(fake.idle(), 10_000, 'the sink closing its connections');
        assert.equal(fake.saslAuthentications, 1, `${mechanism}: authentications after the disconnect`);
        assert.ok(!text().includes(PASSWORD), 'the password reached the log');
      } finally {
        await sink.disconnect();
        await fake.stop();
      }
    }
  });

  test('a connection lost during a produce request is retried before the sends after it: A (lost), A, B, C', async () => {
    const fake = new FakeBroker({ topics: [{ name: 'fake', partitions: 2 }], onProduce: (n) => (n === 0 ? 'drop' : 'ok') });
    const address = await fake.start();
    const sink = new KafkaSink({ brokers: [address], clientId: 'it-sink-loss', acks: -1, compression: 'none', maxRecordBytes: 1 << 20, retry: FAST_RETRY });
    try {
      await sink.connect();
      const batch = (letter: string): SinkMessage[] =>
        Array.from({ length: 50 }, (_, i) => ({ topic: 'fake', partition: i % 2, key: null, value: Buffer.from(`send-${letter}-${i}`), timestamp: '1700000000000' }));
      await withTimeout(Promise.all(['A', 'B', 'C'].map((l) => sink.send(batch(l)))), 20_000, 'sends');
      assert.deepEqual(fake.produceLog, [
        { sends: ['A'], outcome: 'drop' },
        { sends: ['A'], outcome: 'ok' },
        { sends: ['B'], outcome: 'ok' },
        { sends: ['C'], outcome: 'ok' },
      ]);
    } finally {
      await sink.disconnect();
      await fake.stop();
    }
  });

  test('a connection that stays lost is retriable KAFKA_UNREACHABLE, and the sends after it are not sent', async () => {
    const fake = new FakeBroker({ topics: [{ name: 'fake', partitions: 1 }], onProduce: () => 'drop' });
    const address = await fake.start();
    const sink = new KafkaSink({ brokers: [address], clientId: 'it-sink-lost', acks: -1, compression: 'none', maxRecordBytes: 1 << 20, retry: FAST_RETRY });
    try {
      await sink.connect();
      const batch = (letter: string): SinkMessage[] => [{ topic: 'fake', partition: 0, key: null, value: Buffer.from(`send-${letter}-0`), timestamp: '1700000000000' }];
      const results = await withTimeout(Promise.allSettled(['A', 'B', 'C'].map((l) => sink.send(batch(l)))), 20_000, 'sends');
      const errors = results.map((r) => {
        assert.equal(r.status, 'rejected');
        const e = (r as PromiseRejectedResult).reason as unknown;
        assert.ok(isSyncError(e));
        return e;
      });
      for (const e of errors) {
        assert.equal(e.code, 'KAFKA_UNREACHABLE');
        assert.equal(e.retriable, true);
      }
      assert.match(errors[0]!.message, new RegExp(address));
      assert.match(errors[1]!.message, /not sent, because an earlier send failed/);
      assert.equal(fake.produceLog.length, 1 + FAST_RETRY.retries, 'A tried once and retried');
      assert.ok(fake.produceLog.every((p) => p.sends.join() === 'A'), JSON.stringify(fake.produceLog));
    } finally {
      await sink.disconnect();
      await fake.stop();
    }
  });
});
