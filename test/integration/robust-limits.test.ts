/**
 * Fault cases 4 and 5 (docs/reliability.md), on a throwaway MariaDB and a throwaway MySQL
 * (throwaway-source.ts) and the lab's Kafka 3.9:
 *
 * 4. A row whose record is larger than the topic's max.message.bytes: with
 *    kafka.oversizedRecord stop (the default) the sync stops with RECORD_TOO_LARGE naming the
 *    table, key and size, its checkpoint before the row; once the topic takes such records a
 *    restart sends it and verify finds nothing missing. With skip, the row is left out with a
 *    warning and counted, and verify finds exactly that row missing.
 * 5. One 1,000,000-row transaction, and a 50 MB LONGBLOB value: the records arrive, and the
 *    synchronizer's RSS stays under a bound (the peaks are printed).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import type mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config/index.ts';
import { differences, renderReport } from '../../src/verify/report.ts';
import { runVerify } from '../../src/verify/run-verify.ts';
import { decodeRecord } from '../../src/dts/decoder.ts';
import { renderRecord } from '../../src/dts/record-render.ts';
import { ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { readWholeTopic, waitForCheckpoint } from './mixed-workload.ts';
import { rssSampler, verifyNoDifferences } from './robust-harness.ts';
import { image, killIfRunning, readTopic, type RunningSync, startSync, type SyncTestConfig, tail, topicOf, waitForOutput, writeSyncConfig } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
/** RSS bounds of the synchronizer process (tsx, kafkajs and mysql2 take about 150 MB before any row) */
const MAX_RSS_MB_BIG_TRANSACTION = 400;
const MAX_RSS_MB_BIG_VALUE = 700;

const kafka = new Kafka({ clientId: 'it-limits', brokers: [BROKER], logLevel: logLevel.NOTHING });

/** Every message of a (single-partition) topic, raw, from the beginning to its current end. */
async function readRaw(topic: string, each: (key: Buffer, value: Buffer) => void): Promise<void> {
  const a = kafka.admin();
  await a.connect();
  const [p] = await a.fetchTopicOffsets(topic);
  await a.disconnect();
  const end = BigInt(p!.high);
  const consumer = kafka.consumer({ groupId: `it-raw-${Math.random().toString(36).slice(2)}`, maxBytes: 64 * MB, maxBytesPerPartition: 16 * MB });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let failure: unknown;
  let next = 0n;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        try {
          for (const m of batch.messages) each(m.key!, m.value!);
        } catch (e) {
          failure ??= e;
        }
        next = BigInt(batch.lastOffset()) + 1n;
        if (next >= end || failure) resolve();
      },
    });
    if (end === 0n) resolve();
  });
  const timeout = setTimeout(() => { failure ??= new Error(`read ${next} of ${end} messages of ${topic} in 120 s`); }, 120_000);
  await Promise.race([done, new Promise((r) => { const t = setInterval(() => { if (failure) { clearInterval(t); r(null); } }, 200); t.unref(); })]);
  clearTimeout(timeout);
  await consumer.disconnect();
  if (failure) throw failure;
}

async function setTopicConfig(topic: string, name: string, value: string): Promise<void> {
  const a = kafka.admin();
  await a.connect();
  try {
    await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name, value }] }] });
  } finally {
    await a.disconnect();
  }
}

async function createTopic(topic: string, maxMessageBytes: number): Promise<void> {
  const a = kafka.admin();
  await a.connect();
  try {
    await a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] }] });
  } finally {
    await a.disconnect();
  }
}

const MB = 1024 * 1024;

/** The integers 1 to 1,000,000 as a derived table `seq` (seq), in SQL both servers take (MariaDB's SEQUENCE engine is its own). */
const DIGITS = `(${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS d`).join(' UNION ALL ')})`;
const ONE_TO_A_MILLION = `(SELECT 1 + ${['a', 'b', 'c', 'e', 'f', 'g'].map((t, i) => `${10 ** i} * ${t}.d`).join(' + ')} AS seq FROM ${['a', 'b', 'c', 'e', 'f', 'g'].map((t) => `${DIGITS} ${t}`).join(', ')}) seq`;

before(async () => {
  await ensureLab({ kafka: true });
});

for (const labSource of labSources()) {
  describe(`limits on a throwaway ${labSource.label}`, () => {
    let db: ThrowawaySource;
    let admin: mysql.Connection;
    const running = new Set<RunningSync>();
    const dirs: string[] = [];

    before(async () => {
      db = await startThrowawaySource(labSource);
      admin = await db.admin();
    });

    after(async () => {
      for (const s of running) await killIfRunning(s);
      await admin?.end().catch(() => {});
      await db?.destroy();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    async function start(configFile: string): Promise<RunningSync> {
      const s = await startSync(configFile);
      running.add(s);
      return s;
    }

    function config(c: Omit<SyncTestConfig, 'source' | 'broker'>) {
      const cfg = writeSyncConfig({ source: db.source, broker: BROKER, ...c });
      dirs.push(cfg.dir);
      return cfg;
    }

    test('4: a row larger than the topic\'s max.message.bytes: stop names the table, key and size; skip leaves it out, logged and counted', { timeout: 150_000 }, async () => {
      const database = uniqueName('rl_big');
      await admin.query(`CREATE DATABASE \`${database}\``);
      await admin.query(`CREATE TABLE \`${database}\`.big (id INT PRIMARY KEY, note VARCHAR(20), payload LONGBLOB)`);
      await admin.query(`CREATE TABLE \`${database}\`.big2 LIKE \`${database}\`.big`);
      const conn = await db.admin(database);
      const payload = randomBytes(2 * MB);
      try {
        // stop (the default): the topic is created with the broker's default max.message.bytes (about 1 MB).
        const stopCfg = config({ objects: [`${database}.big`], defaultTopic: uniqueName('rl_stop') });
        const stopTopic = topicOf(stopCfg.configFile);
        const sync = await start(stopCfg.configFile);
        await conn.query("INSERT INTO big VALUES (1, 'small', 'x'), (2, 'small', 'y')");
        await waitForCheckpoint(conn, stopCfg.checkpointFile, 30_000);
        const before = JSON.parse(fs.readFileSync(stopCfg.checkpointFile, 'utf8')).binlog;
        await conn.query('BEGIN');
        await conn.query("INSERT INTO big VALUES (3, 'before it', 'z')");
        await conn.query("INSERT INTO big VALUES (4, 'too large', ?)", [payload]);
        await conn.query("INSERT INTO big VALUES (5, 'after it', 'w')");
        await conn.query('COMMIT');
        await conn.query("INSERT INTO big VALUES (6, 'later', 'v')");
        const code = await sync.exited;
        const out = sync.output();
        assert.equal(code, 2, tail(out));
        assert.match(out, new RegExp(`\\[RECORD_TOO_LARGE\\]: INSERT of ${database}\\.big with key \\["4"\\] at mysql-bin\\.\\d+:\\d+ makes a record of (\\d+) bytes \\(key 5 \\+ value \\d+\\) for topic ${stopTopic}, above the \\d+ bytes of key \\+ value that topic ${stopTopic}'s max\\.message\\.bytes \\(\\d+\\) lets through`));
        assert.match(out, /kafka\.oversizedRecord is stop \(the default\)/);
        const size = Number(/makes a record of (\d+) bytes/.exec(out)![1]);
        assert.ok(size > 2 * MB && size < 2 * MB + 1024, String(size));
        assert.deepEqual(JSON.parse(fs.readFileSync(stopCfg.checkpointFile, 'utf8')).binlog, before, 'the checkpoint stays before the transaction');
        // The synchronizer has exited: the topic read to its end is all it produced.
        assert.deepEqual((await readWholeTopic(BROKER, stopTopic)).map((m) => image(m.record).id), ['1', '2']);

        // The fix the message names: a larger max.message.bytes; a restart sends the row, nothing is lost.
        await setTopicConfig(stopTopic, 'max.message.bytes', String(8 * MB));
        const again = await start(stopCfg.configFile);
        await waitForCheckpoint(conn, stopCfg.checkpointFile, 30_000);
        assert.equal(await again.stop(), 0, again.output());
        await verifyNoDifferences(stopCfg.configFile);
        const records = await readWholeTopic(BROKER, stopTopic);
        const big = records.find((m) => image(m.record).id === '4')!;
        assert.ok(big.record.columns[2]!.afterBytes!.equals(payload), 'the large value arrives whole');

        // skip: the row is left out, with a warning and a count; the others arrive.
        const skipCfg = config({ objects: [`${database}.big2`], defaultTopic: uniqueName('rl_skip'), kafkaLines: ['oversizedRecord: skip'] });
        const skipTopic = topicOf(skipCfg.configFile);
        const skipping = await start(skipCfg.configFile);
        await conn.query("INSERT INTO big2 VALUES (7, 'skip me', ?), (8, 'keep me', 'k'), (9, 'keep me too', 'l')", [payload]);
        await conn.query("UPDATE big2 SET note = 'kept' WHERE id = 8");
        await waitForCheckpoint(conn, skipCfg.checkpointFile, 30_000);
        await waitForOutput(skipping, '"oversizedSkipped":1', 15_000);
        assert.equal(await skipping.stop(), 0, skipping.output());
        const line = skipping.output().split('\n').find((l) => l.includes('record skipped:'));
        assert.ok(line, tail(skipping.output()));
        const warning = (JSON.parse(line) as { msg: string }).msg;
        assert.match(warning, new RegExp(`INSERT of ${database}\\.big2 with key \\["7"\\] at mysql-bin\\.\\d+:\\d+ makes a record of \\d+ bytes .*kafka\\.oversizedRecord is skip, so this row is not in the topic \\(1 skipped in this session\\)`));
        assert.match(skipping.output(), /"oversizedSkipped":1,.*"msg":"sync session ended"/);
        assert.deepEqual((await readWholeTopic(BROKER, skipTopic)).map((m) => image(m.record).id), ['8', '9', '8']);
        // verify: exactly the skipped row is missing, the others match.
        const report = await runVerify({ config: loadConfig(skipCfg.configFile), waitMs: 30_000 });
        const t = report.tables[0]!;
        assert.deepEqual([t.sourceRows, t.matching, t.missing, differences(report)], [3, 2, 1, 1], renderReport(report));
        assert.deepEqual(t.examples.missing, ['key ["7"]: no record of it in the topic'], renderReport(report));

        // The same in the initial full-data sync: a row of the snapshot too large for the topic.
        await conn.query(`CREATE TABLE big3 LIKE big`);
        await conn.query("INSERT INTO big3 VALUES (1, 'small', 'a'), (2, 'too large', ?), (3, 'small', 'c')", [payload]);
        const snapCfg = config({ objects: [`${database}.big3`], defaultTopic: uniqueName('rl_snap'), mode: 'initial', kafkaLines: ['oversizedRecord: skip'] });
        const snapshotting = await start(snapCfg.configFile);
        await waitForCheckpoint(conn, snapCfg.checkpointFile, 30_000);
        assert.equal(await snapshotting.stop(), 0, snapshotting.output());
        const snapLine = snapshotting.output().split('\n').find((l) => l.includes('record skipped:'));
        assert.ok(snapLine, tail(snapshotting.output()));
        assert.match((JSON.parse(snapLine) as { msg: string }).msg,
          new RegExp(`INIT of ${database}\\.big3 with key \\["2"\\] at the initial snapshot makes a record of \\d+ bytes .*\\(1 skipped in the initial snapshot\\)`));
        const snapReport = await runVerify({ config: loadConfig(snapCfg.configFile), waitMs: 30_000 });
        assert.deepEqual(snapReport.tables[0]!.examples.missing, ['key ["2"]: no record of it in the topic'], renderReport(snapReport));
        assert.equal(differences(snapReport), 1, renderReport(snapReport));
      } finally {
        await conn.end();
      }
    });

    test('5: one 1,000,000-row transaction and a 50 MB LONGBLOB: the records arrive, memory stays bounded', { timeout: 300_000 }, async () => {
      const database = uniqueName('rl_mem');
      await admin.query(`CREATE DATABASE \`${database}\``);
      await admin.query(`CREATE TABLE \`${database}\`.m (id INT PRIMARY KEY, v BIGINT, s VARCHAR(40))`);
      await admin.query(`CREATE TABLE \`${database}\`.blobs (id INT PRIMARY KEY, b LONGBLOB)`);
      const topicM = uniqueName('rl_million');
      const topicB = uniqueName('rl_blob');
      await createTopic(topicB, 64 * MB);
      const cfg = config({
        objects: [`${database}.m`, `${database}.blobs`], defaultTopic: topicM, mapping: { [`${database}.blobs`]: topicB },
        kafkaLines: [`maxRecordBytes: ${64 * MB}`],
      });
      const conn = await db.admin(database);
      const sync = await start(cfg.configFile);
      try {
        // One transaction of a million rows.
        let rss = rssSampler(sync.proc.pid!);
        let t0 = Date.now();
        await conn.query(`INSERT INTO m SELECT seq, seq * 1000003, CONCAT('row ', seq, ' of a million') FROM ${ONE_TO_A_MILLION}`);
        const written = Date.now() - t0;
        await waitForCheckpoint(conn, cfg.checkpointFile, 240_000);
        const million = { ms: Date.now() - t0, peakMb: rss.peakMb(), samples: rss.samples() };
        rss.stop();
        console.log(`1,000,000-row transaction: written in ${written} ms, all acknowledged ${million.ms} ms after it began; peak RSS ${million.peakMb.toFixed(0)} MB (${million.samples} samples)`);

        // A 50 MB value.
        const value = randomBytes(50 * MB);
        rss = rssSampler(sync.proc.pid!, 50);
        t0 = Date.now();
        await conn.query('INSERT INTO blobs VALUES (1, ?)', [value]);
        await waitForCheckpoint(conn, cfg.checkpointFile, 120_000);
        const blob = { ms: Date.now() - t0, peakMb: rss.peakMb(), samples: rss.samples() };
        rss.stop();
        console.log(`50 MB LONGBLOB: acknowledged after ${blob.ms} ms; peak RSS ${blob.peakMb.toFixed(0)} MB (${blob.samples} samples)`);

        assert.equal(sync.proc.exitCode, null, tail(sync.output()));
        assert.equal(await sync.stop(), 0, tail(sync.output()));
        assert.ok(million.peakMb < MAX_RSS_MB_BIG_TRANSACTION, `peak RSS ${million.peakMb.toFixed(0)} MB during the million-row transaction`);
        assert.ok(blob.peakMb < MAX_RSS_MB_BIG_VALUE, `peak RSS ${blob.peakMb.toFixed(0)} MB during the 50 MB value`);

        const [blobRecord] = await readTopic(BROKER, topicB, (m) => m.length >= 1, 60_000);
        assert.equal(createHash('sha256').update(blobRecord!.record.columns[1]!.afterBytes!).digest('hex'), createHash('sha256').update(value).digest('hex'));
        const report = await verifyNoDifferences(cfg.configFile, [`${database}.blobs`]);
        assert.deepEqual(report.tables.map((t) => [t.table, t.sourceRows, t.matching]), [['blobs', 1, 1]]);

        // The million rows: verify would take minutes on the CI machine, so the topic is read raw:
        // every key from 1 to 1,000,000 exactly once, and every 997th record decoded and compared
        // with the row (its values follow from its id).
        const seen = new Uint8Array(1_000_001);
        let records = 0;
        let decoded = 0;
        await readRaw(topicM, (key, value) => {
          records++;
          const id = Number((JSON.parse(key.toString()) as string[])[0]);
          assert.ok(id >= 1 && id <= 1_000_000 && seen[id] === 0, `key ${id} out of range or repeated`);
          seen[id] = 1;
          if (id % 997 === 0) {
            decoded++;
            const r = renderRecord(decodeRecord(value));
            assert.deepEqual([r.operation, r.table, image(r)], ['INSERT', 'm', { id: String(id), v: String(BigInt(id) * 1000003n), s: `row ${id} of a million` }]);
          }
        });
        assert.equal(records, 1_000_000);
        console.log(`million-row topic: ${records} records, each key once; ${decoded} decoded and compared`);
      } finally {
        await conn.end();
      }
    });
  });
}
