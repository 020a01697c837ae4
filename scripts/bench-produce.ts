/**
 * The producer ceiling of the end-to-end benchmark (scripts/bench.ts), in a process of its
 * own: N pre-encoded DTS records of the benchmark's orders rows (scripts/bench-orders.ts,
 * so of the same sizes as the synchronizer's), keyed as the synchronizer keys them,
 * produced to one new single-partition topic, acks all, no compression, up to 4 sends in
 * flight. The sink gets sends of 5,000 records, as the synchronizer makes them (it cuts them
 * into requests of up to max.message.bytes itself); plain kafkajs puts a send's records of
 * a partition into one record batch, which the broker refuses above max.message.bytes
 * (1 MiB by default), so it gets sends of as many records as fit 900 KiB (about 2,000).
 *
 *   npx tsx scripts/bench-produce.ts --broker HOST:PORT --records N [--client kafkajs|sink] [--source-version V]
 *
 * --source-version: the VERSION() the records name (the source's: the records' size
 * follows it), default MariaDB 10.11's.
 *
 * - kafkajs: plain kafkajs 2.2.4, `producer.send` with the pre-encoded values.
 * - sink: the synchronizer's KafkaSink (its own record batch encoding, ordered sends).
 *
 * Records are built before the clock starts. Prints one JSON line: {records, ms, cpuMs,
 * valueBytes (mean)}; checks that the topic's end offset is N and deletes the topic.
 */
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { encodeEvent } from '../src/dts/output-format.ts';
import type { RowChangeEvent } from '../src/model/change-event.ts';
import { KafkaSink } from '../src/sink/kafka-sink.ts';
import type { SinkMessage } from '../src/sink/sink.ts';
import { uniqueName } from '../test/integration/lab.ts';
import { orderRow, ordersSchema } from './bench-orders.ts';

const { values: args } = parseArgs({
  options: {
    broker: { type: 'string' },
    records: { type: 'string', default: '1000000' },
    client: { type: 'string', default: 'kafkajs' },
    'source-version': { type: 'string', default: '10.11.19-MariaDB-log' },
  },
});
const records = Number(args.records);
const broker = args.broker!;
if (!broker || !Number.isInteger(records) || records < 1) {
  console.error('usage: npx tsx scripts/bench-produce.ts --broker HOST:PORT --records N [--client kafkajs|sink] [--source-version V]');
  process.exit(2);
}
const IN_FLIGHT = 4;
const POOL = 4_096;

// Values: the real DTS records of rows 1..POOL, cycled (the broker does not look inside);
// keys: distinct, as messageKey writes them.
const schema = ordersSchema('bench');
const pool: Buffer[] = [];
let poolBytes = 0;
for (let seq = 1; seq <= POOL; seq++) {
  const file = 'mysql-bin.000001';
  const event: RowChangeEvent = {
    kind: 'row', operation: 'INSERT', table: schema, before: null, after: orderRow(seq),
    source: { position: { file, position: 1_000_000 + seq * 300 }, transactionStart: { file, position: 1_000_000 }, commitTimestamp: 1_700_000_000, serverId: 1, threadId: 0, gtid: null },
  };
  const value = Buffer.from(encodeEvent(event, { id: BigInt(seq), sourceVersion: args['source-version']!, readerTimestampMs: Date.now() }));
  pool.push(value);
  poolBytes += value.length;
}
const topic = uniqueName('bench_produce');
const timestamp = String(Date.now());
const BATCH = args.client === 'sink' ? 5_000 : Math.floor((900 * 1024) / (poolBytes / POOL + 20));
const batches: SinkMessage[][] = [];
for (let i = 0; i < records; i += BATCH) {
  const batch: SinkMessage[] = [];
  for (let j = i; j < Math.min(records, i + BATCH); j++) {
    batch.push({ topic, partition: 0, key: Buffer.from(`["${j + 1}"]`), value: pool[j % POOL]!, timestamp });
  }
  batches.push(batch);
}

const kafka = new kafkajs.Kafka({ clientId: 'bench-produce', brokers: [broker], logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

let send: (batch: SinkMessage[]) => Promise<unknown>;
let close: () => Promise<void>;
if (args.client === 'sink') {
  const sink = new KafkaSink({ brokers: [broker], clientId: 'bench-produce', acks: -1, compression: 'none', maxRecordBytes: 10 * 1024 * 1024 });
  await sink.connect();
  await sink.ensureTopics([topic], { create: false, partitions: 1, replicationFactor: 1 });
  send = (batch) => sink.send(batch);
  close = () => sink.disconnect();
} else {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  send = (batch) => producer.send({ topic, acks: -1, compression: kafkajs.CompressionTypes.None, messages: batch });
  close = () => producer.disconnect();
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const pending = new Set<Promise<unknown>>();
for (const batch of batches) {
  if (pending.size >= IN_FLIGHT) await Promise.race(pending);
  const p: Promise<unknown> = send(batch).finally(() => pending.delete(p));
  pending.add(p);
}
await Promise.all(pending);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

const offsets = await admin.fetchTopicOffsets(topic);
const landed = offsets.reduce((sum, o) => sum + Number(o.high), 0);
await close();
await admin.deleteTopics({ topics: [topic] }).catch(() => {});
await admin.disconnect();
if (landed !== records) {
  console.error(`${landed} records landed in ${topic}, expected ${records}`);
  process.exit(1);
}
console.log(JSON.stringify({ records, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), valueBytes: Math.round(poolBytes / POOL), sendRecords: BATCH }));
process.exit(0);
