/**
 * Stopping (issue "Operations"): SIGTERM and SIGINT, under a running workload, flush what
 * is in flight, write the checkpoint and exit 0 within seconds; a restart resumes from that
 * checkpoint with no record repeated and none lost. A second signal exits at once (130).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithSource, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { type RunningSync, startSync, tail, writeSyncConfig } from './sync-harness.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
function checkpointOf(file: string): string {
  const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as { binlog: { file: string; position: number } };
  return `${cp.binlog.file}:${cp.binlog.position}`;
}

before(async () => {
  await ensureLab({ kafka: true });
});

for (const source of labSources()) {
  describe(`stopping on ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];
    const running: RunningSync[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await admin?.end().catch(() => {});
    });

    async function workloadDatabase(): Promise<{ db: string; conn: mysql.Connection }> {
      const created = await createWorkloadDatabase(admin, source, 'it_stop');
      databases.push(created.db);
      return created;
    }

    test('SIGTERM and SIGINT mid-workload: exit 0 with a checkpoint; restarts resume with nothing repeated or lost', { timeout: 240_000 }, async () => {
      const { db, conn } = await workloadDatabase();
      const topic = uniqueName('it_stop');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, source });
      const workload = new Workload(conn, mulberry32(Number(process.env.SYNC_STOP_SEED ?? 11)));
      const stops: string[] = [];
      let sync = await startSync(cfg.configFile);
      running.push(sync);
      // The workload runs throughout; the synchronizer is stopped twice while it does, and started again.
      const load = workload.run(9_000, 600);
      try {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) {
          while (workload.changes < (signal === 'SIGTERM' ? 2_500 : 5_500)) await sleep(20);
          const began = Date.now();
          sync.proc.kill(signal);
          const code = await sync.exited;
          const seconds = (Date.now() - began) / 1000;
          assert.equal(code, 0, tail(sync.output()));
          assert.ok(seconds < 15, `the stop took ${seconds.toFixed(1)} s`);
          assert.match(sync.output(), /"msg":"stopped"/);
          const at = checkpointOf(cfg.checkpointFile);
          stops.push(`${signal} after ${workload.changes} changes: exit ${code} in ${seconds.toFixed(1)} s at ${at}`);
          await sleep(500); // the source goes on without it for a moment
          sync = await startSync(cfg.configFile);
          running.push(sync);
          assert.match(sync.output(), new RegExp(`"position":"${at.replace(/[.]/g, '\\.')}"[^\\n]*"msg":"starting binlog stream"`), `the restart resumes at the checkpoint ${at}`);
        }
        await load;
        await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
      } finally {
        await load.catch(() => {});
        assert.equal(await sync.stop(), 0, tail(sync.output()));
      }
      console.log(stops.join('\n'));
      const result = await compareWithSource(conn, db, await readWholeTopic(BROKER, topic), workload.deletedKeys());
      await conn.end();
      console.log(`records: ${result.distinct} distinct, ${result.repeated} repeated; workload ${workload.changes} changes in ${workload.transactions} transactions`);
      assert.deepEqual(result.problems.slice(0, 10), []);
      assert.equal(result.lost, 0);
      assert.equal(result.repeated, 0, 'a clean stop repeats nothing');
      assert.equal(result.distinct, workload.changes);
    });

    test('a second signal exits at once, with 130', async () => {
      const { db, conn } = await workloadDatabase();
      await conn.end();
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`], defaultTopic: uniqueName('it_stop'), source });
      const sync = await startSync(cfg.configFile);
      running.push(sync);
      const began = Date.now();
      // Two different signals: two of the same kind sent together may reach the process as one.
      sync.proc.kill('SIGTERM');
      sync.proc.kill('SIGINT');
      const code = await sync.exited;
      assert.equal(code, 130, tail(sync.output()));
      assert.ok(Date.now() - began < 5_000);
      assert.match(sync.output(), /second signal: exiting now/);
    });
  });
}
