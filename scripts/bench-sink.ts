/**
 * Sink throughput: records/s through KafkaSink.send to each lab broker (Kafka 3.9 and 1.0.2).
 *
 *   npx tsx scripts/bench-sink.ts [--records N] [--batch B] [--inflight F] [--partitions P]
 *                                 [--value-bytes V] [--acks all|1|0] [--compression none|gzip]
 *                                 [--broker 3.9|1.0|all]
 *
 * Defaults: 1,000,000 records of 200-byte values (8-byte keys), sends of 5,000 records, up to
 * 4 sends in flight, acks all, one partition (the default partition policy, single). Records
 * are built up front, so the timed part is the sink and the broker only. Each run uses a new
 * topic, checks that its end offsets add up to the records sent, and deletes it. Needs the
 * lab (bash scripts/lab up).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { KafkaSink } from '../src/sink/kafka-sink.ts';
import type { SinkMessage } from '../src/sink/sink.ts';
import { partitionFor } from '../src/sink/partitioner.ts';
import { kafkaBrokers, uniqueName } from '../test/integration/lab.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '5000' },
    inflight: { type: 'string', default: '4' },
    partitions: { type: 'string', default: '1' },
    'value-bytes': { type: 'string', default: '200' },
    acks: { type: 'string', default: 'all' },
    compression: { type: 'string', default: 'none' },
    'transaction-ms': { type: 'string' },
    broker: { type: 'string', default: 'all' },
    'max-batch-records': { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
});
const records = Number(args.records);
const batchSize = Number(args.batch);
const inflight = Number(args.inflight);
const partitions = Number(args.partitions);
const valueBytes = Number(args['value-bytes']);
const acks = args.acks === 'all' ? -1 : (Number(args.acks) as 0 | 1);
const compression = args.compression === 'gzip' ? 'gzip' : 'none';
/** --transaction-ms: a transactional sink committing that often (delivery exactly-once's transactions, without the rest of the sync). */
const transactionMs = args['transaction-ms'] === undefined ? undefined : Number(args['transaction-ms']);
const runs = Number(args.runs);
for (const [name, n] of Object.entries({ records, batchSize, inflight, partitions, valueBytes, runs })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be an integer >= 1`);
    process.exit(2);
  }
}

// Records up front: values cycle through a pool (the broker does not care), keys are distinct.
const valuePool = Array.from({ length: 1024 }, (_, i) => Buffer.alloc(valueBytes, i & 0xff));
const timestamp = String(Date.now());
function buildBatches(topic: string): SinkMessage[][] {
  const batches: SinkMessage[][] = [];
  for (let start = 0; start < records; start += batchSize) {
    const batch: SinkMessage[] = [];
    for (let i = start; i < Math.min(records, start + batchSize); i++) {
      const key = Buffer.allocUnsafe(8);
      key.writeBigUInt64BE(BigInt(i));
      const partition = partitionFor(partitions === 1 ? 'single' : 'primary-key', partitions, { database: 'bench', table: 't', key });
      batch.push({ topic, partition, key, value: valuePool[i & 1023]!, timestamp });
    }
    batches.push(batch);
  }
  return batches;
}

/** One run against one broker: records/s. */
async function run(version: string, broker: string): Promise<number> {
  const topic = uniqueName('bench_sink');
  const sink = new KafkaSink({
    brokers: [broker],
    clientId: 'bench-sink',
    acks,
    compression,
    maxRecordBytes: 10 * 1024 * 1024,
    ...(args['max-batch-records'] === undefined ? {} : { maxBatchRecords: Number(args['max-batch-records']) }),
    ...(transactionMs === undefined ? {} : { transactionalId: uniqueName('bench-sink-txn') }),
  });
  const admin = new kafkajs.Kafka({ clientId: 'bench-sink-admin', brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await sink.connect();
    await sink.ensureTopics([topic], { create: true, partitions, replicationFactor: 1 });
    const batches = buildBatches(topic);
    if (typeof global.gc === 'function') global.gc();

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const pending = new Set<Promise<void>>();
    let committedAt = performance.now();
    for (const batch of batches) {
      if (pending.size >= inflight) await Promise.race(pending);
      const p: Promise<void> = sink.send(batch).finally(() => pending.delete(p));
      pending.add(p);
      if (transactionMs !== undefined && performance.now() - committedAt >= transactionMs) {
        committedAt = performance.now();
        const c: Promise<void> = sink.commit(() => []).finally(() => pending.delete(c));
        pending.add(c);
      }
    }
    if (transactionMs !== undefined) await sink.commit(() => []);
    await Promise.all(pending);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);

    const offsets = await admin.fetchTopicOffsets(topic);
    const landed = offsets.reduce((sum, o) => sum + Number(o.high), 0);
    // A transactional run's log also holds a marker per commit.
    if (transactionMs === undefined ? landed !== records : landed < records) throw new Error(`${landed} records landed in ${topic}, expected ${records}`);

    const perSecond = Math.round(records / seconds);
    const mb = (records * (valueBytes + 8)) / seconds / 1e6;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // CPU time of the whole process (main thread, GC, and the thread pool that runs gzip).
    console.log(
      `  kafka ${version} (${broker}): ${records.toLocaleString('en')} records of ${valueBytes} B in ${seconds.toFixed(2)} s = ` +
        `${perSecond.toLocaleString('en')} records/s (${mb.toFixed(1)} MB/s of key+value), node CPU ` +
        `${((cpuSeconds / seconds) * 100).toFixed(0)}% of one core, ${((cpuSeconds / records) * 1e6).toFixed(2)} µs CPU per record`,
    );
    return perSecond;
  } finally {
    await sink.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

console.log(
  `bench-sink: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); batches of ${batchSize}, ` +
    `${inflight} sends in flight, ${partitions} partition(s), acks ${args.acks}, compression ${compression}`,
);
const summary: string[] = [];
for (const { version, broker } of kafkaBrokers()) {
  if (args.broker !== 'all' && args.broker !== version) continue;
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) rates.push(await run(version, broker));
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  summary.push(`kafka ${version}: median ${median.toLocaleString('en')} records/s, best ${rates[rates.length - 1]!.toLocaleString('en')} (${runs} runs)`);
}
for (const line of summary) console.log(line);
