/**
 * Stopping (issue "Operations"): SIGTERM and SIGINT, under a running workload, flush what
 * is in flight, write the checkpoint and exit 0 within seconds; a restart resumes from that
 * checkpoint with no record repeated and none lost. A second signal exits at once (130),
 * also while the first stop waits for Kafka to acknowledge a batch in flight (held
 * unanswered by a TCP proxy, robust-harness.ts, so that the first stop cannot finish first).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithSource, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { NET_REDIRECT, TcpProxy } from './robust-harness.ts';
import { type RunningSync, startSync, tail, waitForOutput, writeSyncConfig } from './sync-harness.ts';

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
    const proxies: TcpProxy[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
      for (const p of proxies) await p.close();
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
          // The source goes on without it for a while: 200 more row changes.
          const stoppedAt = workload.changes;
          while (workload.changes < stoppedAt + 200) await sleep(20);
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

    test('a second signal exits at once, with 130, while the first stop waits for an acknowledgement', { timeout: 120_000 }, async () => {
      const { db, conn } = await workloadDatabase();
      // The synchronizer reaches Kafka through a proxy (a preload redirects its connections, the
      // broker's advertised address stays the real one), so that the test can hold the first
      // stop open on a known step: a produce request that is never answered.
      const [host, port] = BROKER.split(':');
      const proxy = await TcpProxy.start({ host: host!, port: Number(port) });
      proxies.push(proxy);
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`], defaultTopic: uniqueName('it_stop'), source });
      const sync = await startSync(cfg.configFile, { imports: [NET_REDIRECT], env: { DTS_TEST_NET_REDIRECT: `${BROKER}=127.0.0.1:${proxy.port}` } });
      running.push(sync);
      assert.ok(proxy.accepted > 0, 'the Kafka client goes through the proxy');

      // A first row acknowledged: the producer has the topic's metadata, so the next row's
      // produce request goes out at once (not a metadata request before it).
      await conn.query('INSERT INTO a (id, v) VALUES (0, 0)');
      await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
      // Nothing reaches the broker any more; a row's produce request is sent and left unanswered.
      proxy.hold();
      const marker = uniqueName('held');
      await conn.query('INSERT INTO a (id, v, s) VALUES (1, 1, ?)', [marker]);
      await conn.end();
      await proxy.waitForHeld(Buffer.from(marker), 30_000);

      // The first signal: the stop flushes, and waits for the batch in flight (up to 30 s).
      sync.proc.kill('SIGTERM');
      await waitForOutput(sync, 'stopping: flushing in-flight records', 10_000);
      assert.equal(sync.proc.exitCode, null, 'the first stop is still waiting for the acknowledgement');
      // Another kind of signal: two of one kind sent together may reach the process as one.
      const began = Date.now();
      sync.proc.kill('SIGINT');
      const code = await sync.exited;
      const ms = Date.now() - began;
      console.log(`${source.label}: the second signal ended the held stop after ${ms} ms, exit ${code}`);
      assert.equal(code, 130, tail(sync.output()));
      assert.ok(ms < 5_000, `the second signal took ${ms} ms to end the process`);
      assert.match(sync.output(), /second signal: exiting now/);
      assert.doesNotMatch(sync.output(), /"msg":"stopped"/, 'the first stop had not finished');
    });
  });
}
