/**
 * Fault case 2 (docs/reliability.md): the connections to the source and to Kafka cut without
 * a clean close, on each kind of source. The synchronizer reaches a throwaway MariaDB or MySQL
 * (throwaway-source.ts, so that nobody else's load on the lab's server slows the catch-up)
 * through a TCP proxy, and Kafka 3.9
 * through another (its connections to 127.0.0.1:19092 are redirected by a preload, so the
 * broker's advertised address stays the real one). Mid-workload each proxy silences every
 * connection open at that moment (no FIN, no RST, nothing forwarded: a dropped NAT entry),
 * while new connections get through. The synchronizer must notice within its bound (binlog:
 * 3 heartbeat periods; Kafka: the request timeout), reconnect, resume from its checkpoint, and
 * lose nothing: verify finds no difference, and every row change of the workload is in the
 * topic.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithSource, createWorkloadTables, mulberry32, readWholeTopic, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { NET_REDIRECT, TcpProxy, verifyNoDifferences } from './robust-harness.ts';
import { killIfRunning, type RunningSync, startSync, tail, waitForOutput, writeSyncConfig } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
const HEARTBEAT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 4_000;
const SEED = Number(process.env.ROBUST_NETWORK_SEED ?? Math.floor(Math.random() * 2 ** 31));

before(async () => {
  await ensureLab({ kafka: true });
});

for (const labSource of labSources()) {
  describe(`network cuts on a throwaway ${labSource.label}`, () => {
    const database = uniqueName('it_cut');
    const topic = uniqueName('it_cut');
    let db: ThrowawaySource;
    let admin: mysql.Connection;
    let sourceProxy: TcpProxy | null = null;
    let kafkaProxy: TcpProxy | null = null;
    let sync: RunningSync | null = null;
    let dir = '';

    before(async () => {
      db = await startThrowawaySource(labSource);
      admin = await db.admin();
      await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
      await createWorkloadTables(admin, database);
      sourceProxy = await TcpProxy.start({ host: '127.0.0.1', port: db.port });
      const [host, port] = BROKER.split(':');
      kafkaProxy = await TcpProxy.start({ host: host!, port: Number(port) });
    });

    after(async () => {
      await killIfRunning(sync);
      await sourceProxy?.close();
      await kafkaProxy?.close();
      await admin?.end().catch(() => {});
      await db?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test(`connections to ${labSource.label} and to Kafka cut without a clean close: detected within the bound, resumed, nothing lost`, { timeout: 180_000 }, async () => {
      console.log(`robust-network seed: ${SEED} (ROBUST_NETWORK_SEED=${SEED} replays the workload)`);
      const cfg = writeSyncConfig({
        source: db.source, port: sourceProxy!.port, broker: BROKER, objects: [`${database}.a`, `${database}.b`], defaultTopic: topic,
        sourceLines: [`heartbeatMs: ${HEARTBEAT_MS}`], kafkaLines: [`requestTimeoutMs: ${REQUEST_TIMEOUT_MS}`],
      });
      dir = cfg.dir;
      sync = await startSync(cfg.configFile, {
        imports: [NET_REDIRECT],
        env: { DTS_TEST_NET_REDIRECT: `${BROKER}=127.0.0.1:${kafkaProxy!.port}` },
      });
      assert.ok(kafkaProxy!.accepted > 0, 'the Kafka client goes through the proxy');
      const conn = await db.admin(database);
      const workload = new Workload(conn, mulberry32(SEED));
      try {
        await workload.run(2_000, 2_000);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);

        // The source: every connection of the synchronizer goes silent (binlog, schema, lock).
        const sourceCut = Date.now();
        const silenced = sourceProxy!.cut();
        assert.ok(silenced >= 2, `only ${silenced} ${labSource.label} connections to cut`);
        const during = workload.run(3_000, 1_000);
        const detected = await waitForOutput(sync, 'delivered nothing for', 30_000);
        await waitForOutput(sync, 'starting binlog stream', 60_000, 2);
        const resumed = Date.now();
        await during;
        await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
        const bound = 3 * HEARTBEAT_MS;
        console.log(`${labSource.label} cut (${silenced} connections): detected after ${detected - sourceCut} ms (bound ${bound} ms + the check period), streaming again after ${resumed - sourceCut} ms`);
        assert.ok(detected - sourceCut <= bound + 1_500, `detection took ${detected - sourceCut} ms`);

        // Kafka: the producer's (and admin's) connections go silent.
        const kafkaCut = Date.now();
        const kafkaSilenced = kafkaProxy!.cut();
        assert.ok(kafkaSilenced >= 1, 'no Kafka connection to cut');
        const during2 = workload.run(4_000, 1_000);
        const kafkaDetected = await waitForOutput(sync, 'did not answer a', 30_000);
        await during2;
        await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
        const caughtUp = Date.now();
        console.log(`Kafka cut (${kafkaSilenced} connections): detected after ${kafkaDetected - kafkaCut} ms (bound: requestTimeoutMs ${REQUEST_TIMEOUT_MS} ms after the first request), caught up after ${caughtUp - kafkaCut} ms`);
        assert.ok(kafkaDetected - kafkaCut <= REQUEST_TIMEOUT_MS + 3_000, `Kafka detection took ${kafkaDetected - kafkaCut} ms`);

        assert.equal(sync.proc.exitCode, null, `the sync exited:\n${tail(sync.output())}`);
        assert.equal(await sync.stop(), 0, `sync did not stop cleanly:\n${tail(sync.output())}`);

        await verifyNoDifferences(cfg.configFile);
        const messages = await readWholeTopic(BROKER, topic);
        const result = await compareWithSource(conn, database, messages, workload.deletedKeys());
        console.log(`workload ${workload.changes} row changes; records ${messages.length} (${result.repeated} repeated)`);
        assert.deepEqual(result.problems.slice(0, 10), []);
        assert.equal(result.distinct, workload.changes, 'every row change of the workload is in the topic');
      } finally {
        await conn.end().catch(() => {});
      }
    });
  });
}
