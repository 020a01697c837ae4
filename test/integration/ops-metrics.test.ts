/**
 * The metrics and health endpoint against the real servers (issue "Operations"):
 *
 * - on Kafka 3.9, an initial sync of a prefilled table, then a mixed workload: the snapshot
 *   progress, rows read, records and bytes produced, the checkpoint position and the lag
 *   move as they should, and end equal to what the workload did;
 * - on Kafka 1.0.2, the broker is stopped under a workload: /readyz turns 503 (stalled, then
 *   not connected), errors and reconnects are counted, and it turns 200 again once the
 *   broker is back; nothing is lost. This stops and starts only the lab's Kafka 1.0 broker,
 *   and always starts it again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithSource, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { freePort, httpGet, scrape, waitFor, writeOpsConfig } from './ops-harness.ts';
import { type RunningSync, startSync, tail } from './sync-harness.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KAFKA39 = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
const KAFKA10 = kafkaBrokers().find((b) => b.version === '1.0')!.broker;

let brokerStopped = false;

async function lab(...args: string[]): Promise<void> {
  await execFileAsync('bash', [`${ROOT}scripts/lab`, ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
}

before(async () => {
  await ensureLab({ kafka: true });
});

const sum = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

for (const source of labSources()) {
  describe(`metrics and health on ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];
    const running: RunningSync[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      if (brokerStopped) {
        await lab('up', '--kafka', '1.0');
        brokerStopped = false;
      }
      for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await admin?.end().catch(() => {});
    });

    /** A database with the workload's tables; a connection that uses it. */
    async function workloadDatabase(prefix: string): Promise<{ db: string; conn: mysql.Connection }> {
      const created = await createWorkloadDatabase(admin, source, prefix);
      databases.push(created.db);
      return created;
    }

    test('metrics follow an initial sync and a workload on Kafka 3.9', { timeout: 180_000 }, async () => {
      const { db, conn } = await workloadDatabase('it_metrics');
      const topic = uniqueName('it_metrics');
      const port = await freePort();
      const cfg = writeOpsConfig({ broker: KAFKA39, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, mode: 'initial', chunkRows: 1000, source }, (doc) => {
        doc.metrics = { port, host: '127.0.0.1' };
      });
      const workload = new Workload(conn, mulberry32(8));
      await workload.prefill('a', 3_000);

      const sync = await startSync(cfg.configFile);
      running.push(sync);
      try {
        // The snapshot is done before the stream starts.
        const first = await scrape(port);
        assert.equal(first.get(`dts_snapshot_rows{table="${db}.a"}`), 3000);
        assert.equal(first.get(`dts_snapshot_table_done{table="${db}.a"}`), 1);
        assert.equal(first.get(`dts_snapshot_table_done{table="${db}.b"}`), 1);
        assert.equal(first.get(`dts_rows_read_total{table="${db}.a",phase="snapshot"}`), 3000);
        // 3,000 INIT records and a CREATE TABLE per table.
        assert.equal(first.get(`dts_records_produced_total{topic="${topic}"}`), 3002);
        assert.equal(first.get('dts_source_connected'), 1);
        assert.equal(first.get('dts_kafka_connected'), 1);
        assert.ok(first.has('process_resident_memory_bytes'), 'process metrics are there');
        assert.equal((await httpGet(port, '/healthz')).status, 200);
        const ready = await waitFor('/readyz 200', 10_000, async () => ((await httpGet(port, '/readyz')).status === 200 ? true : undefined));
        assert.ok(ready);

        // Under the workload, the counters move.
        const samples: number[] = [];
        let maxLagBytes = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const m = await scrape(port);
            samples.push(m.get(`dts_records_produced_total{topic="${topic}"}`) ?? 0);
            maxLagBytes = Math.max(maxLagBytes, m.get('dts_binlog_lag_bytes') ?? 0);
            await sleep(300);
          }
        })();
        await workload.run(4_000, 1_000);
        await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
        // The lag in bytes comes from a poll of the source's binlog end every 5 s: wait for the
        // one that finds the synchronizer at the end.
        await waitFor('dts_binlog_lag_bytes 0 after the workload', 20_000, async () => ((await scrape(port)).get('dts_binlog_lag_bytes') === 0 ? true : undefined));
        sampling = false;
        await sampler;
        const distinct = [...new Set(samples)];
        assert.ok(distinct.length >= 3, `records produced moved only through ${distinct.join(', ')}`);
        assert.deepEqual(samples, [...samples].sort((x, y) => x - y), 'a counter never goes down');

        const end = await scrape(port);
        assert.equal(sum(end, `dts_rows_read_total{table="${db}.a",phase="binlog"}`) + sum(end, `dts_rows_read_total{table="${db}.b",phase="binlog"}`), workload.changes);
        assert.equal(end.get(`dts_records_produced_total{topic="${topic}"}`), 3002 + workload.changes);
        assert.ok((end.get(`dts_bytes_produced_total{topic="${topic}"}`) ?? 0) > (first.get(`dts_bytes_produced_total{topic="${topic}"}`) ?? 0) + workload.changes * 50);
        const cp = JSON.parse(fs.readFileSync(cfg.checkpointFile, 'utf8')) as { binlog: { file: string; position: number } };
        assert.equal(end.get('dts_checkpoint_binlog_position'), cp.binlog.position);
        assert.equal(end.get('dts_checkpoint_binlog_file'), Number(/\.(\d+)$/.exec(cp.binlog.file)![1]));
        assert.equal(end.get('dts_binlog_lag_bytes'), 0, 'caught up');
        const lag = end.get('dts_binlog_lag_seconds')!;
        assert.ok(lag >= 0 && lag < 30, `lag ${lag} s`);
        assert.equal(end.get('dts_queue_batches_max'), 4);
        assert.equal(end.get('dts_queue_batches_in_flight'), 0);
        assert.equal(end.get('dts_kafka_sends_pending'), 0);
        assert.equal(end.get('dts_ready'), 1);
        assert.equal(end.get('dts_reconnects_total'), 0);
        console.log(`records produced samples: ${distinct.length} distinct; max lag seen ${maxLagBytes} bytes; workload ${workload.changes} changes`);
      } finally {
        await conn.end();
        assert.equal(await sync.stop(), 0, tail(sync.output()));
      }
    });

    test('readiness turns false while the Kafka 1.0 broker is stopped, and true again after', { timeout: 300_000 }, async () => {
      const { db, conn } = await workloadDatabase('it_ready');
      const topic = uniqueName('it_ready');
      const port = await freePort();
      const cfg = writeOpsConfig({ broker: KAFKA10, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, source }, (doc) => {
        doc.metrics = { port, host: '127.0.0.1', stallSeconds: 3 };
      });
      const sync = await startSync(cfg.configFile);
      running.push(sync);
      const workload = new Workload(conn, mulberry32(9));
      const readyz = async () => {
        const r = await httpGet(port, '/readyz');
        return { status: r.status, body: JSON.parse(r.body) as { ready: boolean; reasons: string[]; kafka: boolean } };
      };
      let stop = false;
      const load = (async () => {
        // About 200 row changes a second until told to stop, so that records are always pending.
        while (!stop) await workload.run(workload.changes + 100, 200);
      })();
      const timeline: string[] = [];
      const t0 = Date.now();
      const mark = (what: string) => timeline.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      try {
        await waitFor('ready before the outage', 20_000, async () => ((await readyz()).status === 200 ? true : undefined));
        mark('ready');
        brokerStopped = true;
        await lab('down', '--kafka', '1.0');
        mark('broker stopped');
        const notReady = await waitFor('/readyz 503 once the broker is gone', 60_000, async () => {
          const r = await readyz();
          return r.status === 503 ? r.body : undefined;
        });
        mark(`503 (${notReady.reasons.join('; ')})`);
        assert.equal(notReady.ready, false);
        // Once kafkajs gives up, the session ends: an error and a reconnect are counted, Kafka shows as gone.
        const gone = await waitFor('the failure counted', 90_000, async () => {
          const m = await scrape(port);
          return (m.get('dts_reconnects_total') ?? 0) >= 1 && m.get('dts_kafka_connected') === 0 ? m : undefined;
        });
        mark('failure counted');
        assert.ok((gone.get('dts_errors_total{code="KAFKA_UNREACHABLE"}') ?? 0) >= 1, [...gone].filter(([k]) => k.startsWith('dts_errors')).join(' '));
        assert.equal((await readyz()).status, 503);
        assert.equal((await httpGet(port, '/healthz')).status, 200, 'alive all along');

        await lab('up', '--kafka', '1.0');
        brokerStopped = false;
        mark('broker started');
        await waitFor('/readyz 200 once the broker is back', 120_000, async () => ((await readyz()).status === 200 ? true : undefined));
        mark('ready again');
      } finally {
        stop = true;
        await load;
        if (brokerStopped) {
          await lab('up', '--kafka', '1.0');
          brokerStopped = false;
        }
        console.log(`timeline: ${timeline.join(', ')}`);
      }
      try {
        await waitForCheckpoint(conn, cfg.checkpointFile, 120_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${tail(sync.output())}`);
      }
      assert.equal(await sync.stop(), 0, tail(sync.output()));
      const result = await compareWithSource(conn, db, await readWholeTopic(KAFKA10, topic), workload.deletedKeys());
      await conn.end();
      assert.deepEqual(result.problems.slice(0, 10), []);
      assert.equal(result.distinct, workload.changes, 'every row change of the workload is in Kafka');
    });
  });
}
