/**
 * delivery exactly-once (issue 18), on Kafka 3.9: records and the checkpoint covering them
 * are committed in one transaction per commit, and every new producer of the task fences the
 * older ones.
 *
 * - Two instances on one config; the active one SIGKILLed five times during a 50,000-row
 *   workload: a read_committed consumer sees each source change exactly once (records per
 *   key equal the source's changes, 0 repeated, none lost), ids only grow, while the topic
 *   also holds the aborted records of the killed instances; our consumer (consume, verify)
 *   reads it committed, to its end.
 * - A paused (SIGSTOP) active instance, resumed after the takeover: nothing it sent is
 *   visible, the broker fences it, and the new active instance's records are in order.
 * - The broker restarted mid-workload (the lab's Kafka 3.9 stopped for 8 s): the sync
 *   waits, resumes from its committed checkpoint, and each change is still committed once.
 * - Mode initial: the full-data sync's chunks are committed with their progress, then the
 *   binlog; the instance SIGKILLed while streaming and started again: every row's INIT
 *   record and every change committed once.
 * - Kafka 1.0.2 is refused at the precheck.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DtsConsumer } from '../../src/consumer/consumer.ts';
import { HaLab } from './ha-harness.ts';
import { ensureLab, kafkaBrokers, labSources } from './lab.ts';
import { compareWithSource, mulberry32, sleep, Workload } from './mixed-workload.ts';
import { writeOpsConfig } from './ops-harness.ts';
import { readCommittedTopic, runSyncToExit, runVerifyCli, tail, waitForOutput } from './sync-harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOTAL_CHANGES = 50_000;
const KILLS = 5;
const RATE = 1_000;
const SEED = Number(process.env.HA_SEED ?? Math.floor(Math.random() * 2 ** 31));
const OUTAGE_MS = 8_000;
const exactlyOnce = (doc: Record<string, any>) => { doc.delivery = 'exactly-once'; };
const execFileAsync = promisify(execFile);
const lab39 = (action: 'up' | 'down') => execFileAsync('bash', [`${ROOT}scripts/lab`, action, '--kafka', '3.9'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });

before(async () => {
  await ensureLab({ kafka: true });
});


const kafka39 = () => kafkaBrokers().find((b) => b.version === '3.9')!;
const kafka10 = () => kafkaBrokers().find((b) => b.version === '1.0')!;

for (const source of labSources()) {
  describe(`delivery exactly-once on ${source.label} and Kafka 3.9`, () => {
    const lab = new HaLab(source, kafka39().broker);
    before(() => lab.open());
    after(() => lab.close());

    test(`${KILLS} SIGKILLs of the active instance: every change committed exactly once, read committed by consume and verify`, { timeout: 480_000 }, async () => {
      console.log(`ha-exactly-once seed on ${source.label}: ${SEED} (HA_SEED=${SEED} replays it)`);
      const { db, conn, task, cpTopic, cfg } = await lab.setup('it_eo', exactlyOnce);
      try {
        const { workload, takeovers } = await lab.killActiveDuringWorkload({ conn, configFile: cfg.configFile, cpTopic, task, seed: SEED, kills: KILLS, total: TOTAL_CHANGES, rate: RATE });
        const { messages, offsets } = await readCommittedTopic(lab.broker, db);
        for (let i = 1; i < messages.length; i++) {
          assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}`);
        }
        const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
        console.log(`${source.label}: ${workload.changes} row changes; takeovers after SIGKILL in ms: ${takeovers.join(', ')}; ` +
          `committed records: ${messages.length}, repeated: ${result.repeated}, lost: ${result.lost}; offsets in the topic (aborted records and markers too): ${offsets}`);
        assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source`);
        assert.equal(result.lost, 0);
        assert.equal(result.repeated, 0, 'no change is committed twice');
        assert.equal(messages.length, workload.changes, 'one committed record per source change');
        // What the killed instances had sent in their open transactions is in the log too, aborted:
        // the reads above and below are really filtering.
        assert.ok(offsets > messages.length + KILLS, `the topic holds ${offsets} offsets for ${messages.length} committed records: no aborted records`);

        // Our consumer reads committed, past the trailing markers to the end.
        let consumed = 0;
        const consumer = new DtsConsumer({ brokers: [lab.broker], topic: db, group: `it-eo-${db}`, checkpoint: 'earliest', exitAtEnd: true, commit: false });
        await consumer.run(() => { consumed++; });
        assert.equal(consumed, messages.length, 'consume reads the committed records, each once');

        const verify = await runVerifyCli(['--config', cfg.configFile, '--wait-seconds', '30']);
        assert.equal(verify.code, 0, `${verify.stdout}\n${verify.stderr}`);
        assert.match(verify.stdout, /^verify: every table matches$/m);
      } finally {
        await conn.end().catch(() => {});
      }
    });

    test('a paused active instance, resumed after the takeover: the broker fences it and nothing it sent is visible', { timeout: 180_000 }, async () => {
      const { db, conn, cfg } = await lab.setup('it_eo_stop', exactlyOnce);
      try {
        const { paused, workload } = await lab.pauseActiveDuringWorkload(conn, cfg.configFile, SEED);
        const { messages } = await readCommittedTopic(lab.broker, db);
        for (let i = 1; i < messages.length; i++) {
          assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}`);
        }
        const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
        assert.equal(result.lost, 0);
        assert.equal(result.repeated, 0);
        assert.equal(messages.length, workload.changes);
        // Deposed by its lease or fenced by the broker, whichever it met first on waking.
        assert.match(paused.output(), /membership lease ran out|no longer the active one|Kafka fenced this producer/);
      } finally {
        await conn.end().catch(() => {});
      }
    });

    test(`the broker stopped for ${OUTAGE_MS / 1000} s mid-workload and started again: every change still committed exactly once`, { timeout: 240_000 }, async () => {
      const { db, conn, task, cpTopic, cfg } = await lab.setup('it_eo_outage', exactlyOnce);
      let brokerDown = false;
      try {
        const sync = await lab.start(cfg.configFile, 'starting binlog stream');
        const workload = new Workload(conn, mulberry32(SEED ^ 0x51ed27));
        const writing = workload.run(8_000, 500);
        await waitForOutput(sync, 'progress', 30_000);
        brokerDown = true;
        await lab39('down');
        await sleep(OUTAGE_MS); // the outage itself, not a wait for something
        await lab39('up');
        brokerDown = false;
        await writing;
        await lab.waitForKafkaCheckpoint(conn, cpTopic, task, 120_000);
        assert.equal(sync.proc.exitCode, null, `the sync exited during the outage:\n${tail(sync.output())}`);
        assert.match(sync.output(), /sync interrupted; resuming from the checkpoint|lost its role/);
        assert.equal(await sync.stop(), 0, tail(sync.output()));
        const { messages } = await readCommittedTopic(lab.broker, db);
        const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
        console.log(`${source.label}, broker outage: ${workload.changes} row changes; committed records: ${messages.length}, repeated: ${result.repeated}, lost: ${result.lost}`);
        assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source`);
        assert.equal(result.lost, 0);
        assert.equal(result.repeated, 0);
        assert.equal(messages.length, workload.changes);
      } finally {
        if (brokerDown) await lab39('up');
        await conn.end().catch(() => {});
      }
    });

    test('mode initial: the full-data sync and the binlog, killed once and started again: every row and change committed once', { timeout: 240_000 }, async () => {
      const { db, conn, task, cpTopic, cfg } = await lab.setup('it_eo_initial', (doc) => {
        exactlyOnce(doc);
        doc.mode = 'initial';
        doc.snapshot = { ...doc.snapshot, chunkRows: 500 };
      });
      try {
        const workload = new Workload(conn, mulberry32(SEED ^ 0x1f2e3d));
        await workload.prefill('a', 6_000);
        await workload.prefill('b', 4_000);
        const first = await lab.start(cfg.configFile, 'starting binlog stream');
        assert.match(first.output(), /initial full-data sync done/);
        const writing = workload.run(6_000, 600);
        await waitForOutput(first, 'progress', 30_000);
        await first.kill();
        const second = await lab.start(cfg.configFile, 'starting binlog stream');
        await writing;
        await lab.waitForKafkaCheckpoint(conn, cpTopic, task, 120_000);
        assert.equal(await second.stop(), 0, tail(second.output()));
        const { messages } = await readCommittedTopic(lab.broker, db);
        const rows = messages.filter((m) => m.record.operation !== 'DDL');
        const result = await compareWithSource(conn, db, rows, workload.deletedKeys());
        const inits = rows.filter((m) => m.record.operation === 'INIT').length;
        console.log(`${source.label}, mode initial: ${inits} INIT records of 10000 rows, ${rows.length - inits} of ${workload.changes} changes; repeated: ${result.repeated}, lost: ${result.lost}`);
        assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source`);
        assert.equal(inits, 10_000, 'one INIT record per row of the full-data sync');
        assert.equal(result.repeated, 0);
        assert.equal(result.lost, 0);
        assert.equal(rows.length - inits, workload.changes, 'one record per change after it');
      } finally {
        await conn.end().catch(() => {});
      }
    });

    test('Kafka 1.0.2 is refused at the precheck: exactly-once needs 2.5 or newer', { timeout: 60_000 }, async () => {
      const { db, conn } = await lab.setup('it_eo_old');
      await conn.end();
      const old = writeOpsConfig({ broker: kafka10().broker, objects: [`${db}.a`], defaultTopic: db, source }, (doc) => {
        doc.checkpoint = { ...doc.checkpoint, store: 'kafka' };
        exactlyOnce(doc);
      });
      lab.dirs.push(old.dir);
      const r = await runSyncToExit(['--config', old.configFile]);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /kafka_version.*Kafka 1\.0 .*delivery exactly-once needs Kafka 2\.5 or newer \(InitProducerId v3, KIP-360/);
      assert.match(r.output, /set delivery: at-least-once/);
    });
  });
}
