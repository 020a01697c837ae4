/**
 * Crash safety of the incremental sync (issue "Incremental sync", Done-when): the real
 * `sync` process is killed with SIGKILL at five random moments of a 50,000-row mixed
 * workload and started again each time from its checkpoint. At the end, for every primary
 * key of the source tables, the last record in Kafka must equal the row in the source, and
 * every deleted row must end with a DELETE: zero rows lost. Repeats (at-least-once after a
 * crash) are allowed and counted.
 *
 * The workload and the kill moments come from one seeded random generator: the seed is
 * printed, and SYNC_CRASH_SEED=<seed> replays the same workload and kill points.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { type RunningSync, startSync, tail, writeSyncConfig } from './sync-harness.ts';
import { adminConnection, ensureLab, kafkaBrokers, type LabSource, labSources } from './lab.ts';
import { compareWithSource, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
const TOTAL_CHANGES = 50_000;
const KILLS = 5;
/** row changes per second the workload aims at, so that the kills fall inside it */
const RATE = 1_500;
const SEED = Number(process.env.SYNC_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

before(async () => {
  await ensureLab({ kafka: true });
});

for (const source of labSources()) {
  describe(`crash safety on ${source.label}`, () => {
    let admin: mysql.Connection;
    let db = '';
    let dir = '';
    /** the synchronizer running now, if any; killed by `after` when the test fails */
    const current: { sync: RunningSync | null } = { sync: null };

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      const s = current.sync;
      if (s && s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
      if (db) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await admin?.end().catch(() => {});
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test(`sync survives ${KILLS} SIGKILLs during a ${TOTAL_CHANGES}-row mixed workload without losing a row`, { timeout: 240_000 }, async () => {
      console.log(`sync-crash seed on ${source.label}: ${SEED} (SYNC_CRASH_SEED=${SEED} replays it)`);
      const rng = mulberry32(SEED);
      const killRng = mulberry32(SEED ^ 0x5bd1e995);
      const created = await createWorkloadDatabase(admin, source, 'it_crash');
      db = created.db;
      const topic = db;
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, partitionPolicy: 'single', source });
      dir = cfg.dir;

      // Kill points: row-change counts of the workload, sorted, at least 3,000 apart.
      const killAt: number[] = [];
      while (killAt.length < KILLS) {
        const at = Math.floor(TOTAL_CHANGES * (0.05 + killRng() * 0.8));
        if (killAt.every((k) => Math.abs(k - at) >= 3_000)) killAt.push(at);
      }
      killAt.sort((x, y) => x - y);
      console.log(`kill points (row changes done): ${killAt.join(', ')}`);

      current.sync = await startSync(cfg.configFile);
      try {
        await crashRun(source, db, topic, cfg, created.conn, current, killAt, killRng, rng);
      } finally {
        await created.conn.end().catch(() => {});
      }
    });
  });
}

async function crashRun(source: LabSource, db: string, topic: string, cfg: { configFile: string; checkpointFile: string }, conn: mysql.Connection, current: { sync: RunningSync | null },
  killAt: number[], killRng: () => number, rng: () => number): Promise<void> {
  const workload = new Workload(conn, rng);
  let workloadDone = false;
  const kills: { at: number; downMs: number }[] = [];

  const killer = (async () => {
    for (const at of killAt) {
      while (workload.changes < at && !workloadDone) await sleep(20);
      // Give the running process a random moment of its own (it may still be starting up,
      // replaying, or streaming), then kill it.
      await sleep(Math.floor(killRng() * 700));
      const running = current.sync!;
      // It must still run: a synchronizer that exited by itself crashed.
      assert.ok(running.proc.exitCode === null && running.proc.signalCode === null, `the sync exited by itself (code ${running.proc.exitCode}):\n${tail(running.output())}`);
      current.sync = null;
      await running.kill();
      const downMs = Math.floor(killRng() * 1_500);
      kills.push({ at: workload.changes, downMs });
      await sleep(downMs);
      current.sync = await startSync(cfg.configFile);
    }
  })();
  killer.catch(() => {}); // awaited below; this only keeps a failure while the workload runs from going unhandled

  const t0 = Date.now();
  try {
    await workload.run(TOTAL_CHANGES, RATE);
  } finally {
    workloadDone = true;
  }
  const workloadMs = Date.now() - t0;
  await killer;
  assert.equal(kills.length, KILLS);
  console.log(`${source.label} workload: ${workload.changes} row changes (${workload.inserts} inserts, ${workload.updates} updates, ${workload.deletes} deletes) ` +
    `in ${workload.transactions} transactions, ${workloadMs} ms; kills at ${kills.map((k) => `${k.at} (down ${k.downMs} ms)`).join(', ')}`);

  const last = current.sync!;
  try {
    await waitForCheckpoint(conn, cfg.checkpointFile, 120_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- last sync output ---\n${tail(last.output())}`);
  }
  assert.equal(last.proc.exitCode, null, `the last sync exited early:\n${tail(last.output())}`);
  const code = await last.stop();
  assert.equal(code, 0, `sync did not stop cleanly:\n${tail(last.output())}`);

  const messages = await readWholeTopic(BROKER, topic);
  // One partition: record ids only grow, also across the restarts (replayed records get new, higher ids).
  for (let i = 1; i < messages.length; i++) {
    assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}`);
  }
  const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
  console.log(`records in Kafka: ${messages.length}; repeated records: ${result.repeated}; keys checked: ${result.keysChecked}`);
  assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source (of ${result.keysChecked})`);
  assert.equal(result.lost, 0);
  // Beyond the last images: every row change of the workload is in Kafka (repeats aside).
  assert.equal(result.distinct, workload.changes, 'distinct (position, key, operation) records = row changes of the workload');
}
