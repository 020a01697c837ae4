/**
 * The broker goes away mid-workload (issue "Incremental sync", Done-when): the Kafka 1.0.2
 * broker of the lab is stopped for 20 seconds while rows keep changing, then started again.
 * The synchronizer must wait (retrying, never exiting), resume from its checkpoint, and lose
 * nothing: for every primary key, the last record in Kafka equals the source row, deleted
 * rows end with a DELETE. While it waits, its memory stays bounded: its RSS is sampled from
 * /proc every 500 ms and the peak must stay under MAX_RSS_MB.
 *
 * It stops and starts only the lab's Kafka 1.0 broker (and its ZooKeeper), never MariaDB,
 * and always starts the broker again, also when the test fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import type mysql from 'mysql2/promise';
import { type RunningSync, startSync, tail, writeSyncConfig } from './sync-harness.ts';
import { adminConnection, ensureLab, kafkaBrokers, labSources } from './lab.ts';
import { compareWithSource, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { vmRssKb } from './robust-harness.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BROKER = kafkaBrokers().find((b) => b.version === '1.0')!.broker;
const TOTAL_CHANGES = 20_000;
/** row changes per second: the workload spans the outage and goes on after it */
const RATE = 500;
/** the broker is stopped once this many row changes are done */
const STOP_AT = 4_000;
const OUTAGE_MS = 20_000;
/** the workload holds here until the broker is back, so that some of it follows the outage */
const HOLD_AT = 17_000;
const MAX_RSS_MB = 400;
const SEED = Number(process.env.SYNC_OUTAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));

async function lab(...args: string[]): Promise<void> {
  await execFileAsync('bash', [`${ROOT}scripts/lab`, ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
}

let brokerStopped = false;

async function brokerUp(): Promise<void> {
  await lab('up', '--kafka', '1.0');
  brokerStopped = false;
}

before(async () => {
  await ensureLab({ kafka: true });
});

for (const source of labSources()) {
  describe(`broker outage on ${source.label}`, () => {
    let admin: mysql.Connection;
    let db = '';
    let dir = '';
    let sync: RunningSync | null = null;

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      // Never leave the lab's Kafka 1.0 broker stopped.
      if (brokerStopped) await brokerUp();
      if (sync && sync.proc.exitCode === null && sync.proc.signalCode === null) await sync.kill();
      if (db) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await admin?.end().catch(() => {});
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test(`sync waits out a ${OUTAGE_MS / 1000} s broker outage mid-workload, resumes, loses nothing, memory bounded`, { timeout: 240_000 }, async () => {
      console.log(`sync-broker-outage seed on ${source.label}: ${SEED} (SYNC_OUTAGE_SEED=${SEED} replays the workload)`);
      const rng = mulberry32(SEED);
      const created = await createWorkloadDatabase(admin, source, 'it_outage');
      db = created.db;
      const topic = db;
      const conn = created.conn;
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, partitionPolicy: 'single', source });
      dir = cfg.dir;

      const running = await startSync(cfg.configFile);
      sync = running;
      let exitedEarly: number | null | undefined;
      void running.exited.then((code) => { exitedEarly = code; });
      const pid = running.proc.pid!;

      // RSS every 500 ms, the whole run; the outage's peak is the one bounded.
      let outage: 'before' | 'during' | 'after' = 'before';
      let peakKb = 0;
      let outagePeakKb = 0;
      let outageSamples = 0;
      const sampler = setInterval(() => {
        const kb = vmRssKb(pid);
        if (kb === null) return;
        peakKb = Math.max(peakKb, kb);
        if (outage === 'during') {
          outagePeakKb = Math.max(outagePeakKb, kb);
          outageSamples++;
        }
      }, 500);

      const workload = new Workload(conn, rng);
      let brokerBack!: () => void;
      const back = new Promise<void>((resolve) => { brokerBack = resolve; });
      const times: Record<string, number> = {};
      const t0 = Date.now();

      const breaker = (async () => {
        while (workload.changes < STOP_AT) await sleep(20);
        outage = 'during';
        times.stopping = Date.now() - t0;
        brokerStopped = true;
        await lab('down', '--kafka', '1.0');
        times.stopped = Date.now() - t0;
        await sleep(OUTAGE_MS);
        times.starting = Date.now() - t0;
        await brokerUp();
        times.started = Date.now() - t0;
        brokerBack();
      })();
      // If the breaker fails, let the workload go on so that the test ends (and fails) quickly.
      breaker.catch(() => brokerBack());

      try {
        await workload.run(TOTAL_CHANGES, RATE, async (changes) => { if (changes >= HOLD_AT) await back; });
        times.workloadDone = Date.now() - t0;
        await breaker;
        assert.equal(exitedEarly, undefined, `the sync exited during the outage (code ${exitedEarly}):\n${tail(running.output())}`);
        try {
          await waitForCheckpoint(conn, cfg.checkpointFile, 120_000);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n--- sync output ---\n${tail(running.output())}`);
        }
        times.caughtUp = Date.now() - t0;
        outage = 'after';
      } finally {
        clearInterval(sampler);
        if (brokerStopped) await brokerUp();
      }
      console.log(`workload: ${workload.changes} row changes (${workload.inserts} inserts, ${workload.updates} updates, ${workload.deletes} deletes) in ${workload.transactions} transactions`);
      console.log(`timeline (ms from workload start): ${Object.entries(times).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      const retries = running.output().split('\n').filter((l) => l.includes('sync interrupted; resuming from the checkpoint'));
      console.log(`sync retried ${retries.length} times; peak RSS during the outage ${(outagePeakKb / 1024).toFixed(1)} MB (${outageSamples} samples), whole run ${(peakKb / 1024).toFixed(1)} MB`);

      assert.equal(exitedEarly, undefined, `the sync exited (code ${exitedEarly}):\n${tail(running.output())}`);
      // It noticed the outage: a session ended and was started again from the checkpoint (or, had
      // the broker come back within kafkajs' own retries, the retries show as connection errors).
      assert.ok(retries.length > 0 || running.output().includes('ECONNREFUSED'), `the sync never noticed the outage:\n${tail(running.output())}`);
      assert.ok(outageSamples >= 20, `too few RSS samples during the outage (${outageSamples})`);
      assert.ok(outagePeakKb < MAX_RSS_MB * 1024, `peak RSS during the outage ${(outagePeakKb / 1024).toFixed(1)} MB is above ${MAX_RSS_MB} MB`);

      const code = await running.stop();
      assert.equal(code, 0, `sync did not stop cleanly:\n${tail(running.output())}`);

      const messages = await readWholeTopic(BROKER, topic);
      for (let i = 1; i < messages.length; i++) {
        assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}`);
      }
      const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
      await conn.end();
      console.log(`records in Kafka: ${messages.length}; repeated records: ${result.repeated}; keys checked: ${result.keysChecked}`);
      assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source (of ${result.keysChecked})`);
      assert.equal(result.lost, 0);
      // Beyond the last images: every row change of the workload is in Kafka (repeats aside).
      assert.equal(result.distinct, workload.changes, 'distinct (position, key, operation) records = row changes of the workload');
    });
  });
}
