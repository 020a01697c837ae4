/**
 * Fault case 2 (docs/reliability.md): the connections to MariaDB and to Kafka cut without a
 * clean close. The synchronizer reaches a throwaway MariaDB (throwaway-mariadb.ts, so that
 * nobody else's load on the lab's server slows the catch-up) through a TCP proxy, and Kafka 3.9
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
import { after, before, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';
import { compareWithSource, mulberry32, readWholeTopic, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { killIfRunning, NET_REDIRECT, startSyncWith, tailText, TcpProxy, verifyNoDifferences, waitForOutput, writeRobustConfig } from './robust-harness.ts';
import type { RunningSync } from './sync-harness.ts';
import { startThrowawayMariaDb, type ThrowawayMariaDb } from './throwaway-mariadb.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
const HEARTBEAT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 4_000;
const SEED = Number(process.env.ROBUST_NETWORK_SEED ?? Math.floor(Math.random() * 2 ** 31));

const database = uniqueName('it_cut');
const topic = uniqueName('it_cut');
let db: ThrowawayMariaDb;
let admin: mysql.Connection;
let mariadbProxy: TcpProxy | null = null;
let kafkaProxy: TcpProxy | null = null;
let sync: RunningSync | null = null;
let dir = '';

before(async () => {
  await ensureLab({ kafka: true });
  db = await startThrowawayMariaDb();
  admin = await db.admin();
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.query(`CREATE TABLE \`${database}\`.a (id INT PRIMARY KEY, v INT, s VARCHAR(40), d DECIMAL(12,2))`);
  await admin.query(`CREATE TABLE \`${database}\`.b (id BIGINT PRIMARY KEY, n VARCHAR(20), t DATETIME(3))`);
  mariadbProxy = await TcpProxy.start({ host: '127.0.0.1', port: db.port });
  const [host, port] = BROKER.split(':');
  kafkaProxy = await TcpProxy.start({ host: host!, port: Number(port) });
});

after(async () => {
  await killIfRunning(sync);
  await mariadbProxy?.close();
  await kafkaProxy?.close();
  await admin?.end().catch(() => {});
  await db?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('connections to MariaDB and to Kafka cut without a clean close: detected within the bound, resumed, nothing lost', { timeout: 180_000 }, async () => {
  console.log(`robust-network seed: ${SEED} (ROBUST_NETWORK_SEED=${SEED} replays the workload)`);
  const cfg = writeRobustConfig({
    sourcePort: mariadbProxy!.port, broker: BROKER, objects: [`${database}.a`, `${database}.b`], topic,
    source: [`heartbeatMs: ${HEARTBEAT_MS}`], kafka: [`requestTimeoutMs: ${REQUEST_TIMEOUT_MS}`],
  });
  dir = cfg.dir;
  sync = await startSyncWith(cfg.configFile, {
    imports: [NET_REDIRECT],
    env: { DTS_TEST_NET_REDIRECT: `${BROKER}=127.0.0.1:${kafkaProxy!.port}` },
  });
  assert.ok(kafkaProxy!.accepted > 0, 'the Kafka client goes through the proxy');
  const conn = await db.admin(database);
  const workload = new Workload(conn, mulberry32(SEED));
  try {
    await workload.run(2_000, 2_000);
    await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);

    // MariaDB: every connection of the synchronizer goes silent (binlog, schema, lock).
    const mariadbCut = Date.now();
    const silenced = mariadbProxy!.cut();
    assert.ok(silenced >= 2, `only ${silenced} MariaDB connections to cut`);
    const during = workload.run(3_000, 1_000);
    const detected = await waitForOutput(sync, 'delivered nothing for', 30_000);
    await waitForOutput(sync, 'starting binlog stream', 60_000, 2);
    const resumed = Date.now();
    await during;
    await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
    const bound = 3 * HEARTBEAT_MS;
    console.log(`MariaDB cut (${silenced} connections): detected after ${detected - mariadbCut} ms (bound ${bound} ms + the check period), streaming again after ${resumed - mariadbCut} ms`);
    assert.ok(detected - mariadbCut <= bound + 1_500, `detection took ${detected - mariadbCut} ms`);

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

    assert.equal(sync.proc.exitCode, null, `the sync exited:\n${tailText(sync.output())}`);
    assert.equal(await sync.stop(), 0, `sync did not stop cleanly:\n${tailText(sync.output())}`);

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
