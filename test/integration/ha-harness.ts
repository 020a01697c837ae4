/**
 * What the active/standby tests share (ha-takeover.test.ts, ha-exactly-once.test.ts): a
 * workload database with a config of the Kafka checkpoint store, sync processes started and
 * cleaned up, five SIGKILLs of the active instance during a workload, and the wait for the
 * task's checkpoint in Kafka to reach the source's binlog end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type mysql from 'mysql2/promise';
import { isSyncError } from '../../src/errors.ts';
import { KafkaCheckpointStore } from '../../src/ha/kafka-checkpoint-store.ts';
import { adminConnection, type LabSource, uniqueName } from './lab.ts';
import { binlogEndOf, comparePosition, createWorkloadDatabase, mulberry32, sleep, Workload } from './mixed-workload.ts';
import { writeOpsConfig } from './ops-harness.ts';
import { killIfRunning, type RunningSync, startSync, tail, waitForOutput } from './sync-harness.ts';

export const SESSION_TIMEOUT_MS = 6_000;
export const ACTIVE = 'this instance is now the active one of its task';
export const STANDING_BY = 'standing by: another instance of this task is active';

const noop = (): void => {};
const quietLogger = { debug: noop, info: noop, warn: noop, error: noop };

export class HaLab {
  admin!: mysql.Connection;
  private readonly databases: string[] = [];
  private readonly running: RunningSync[] = [];
  readonly dirs: string[] = [];

  constructor(readonly source: LabSource, readonly broker: string) {}

  async open(): Promise<void> {
    this.admin = await adminConnection(undefined, this.source);
  }

  async close(): Promise<void> {
    for (const s of this.running) await killIfRunning(s);
    for (const db of this.databases) await this.admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
    await this.admin?.end().catch(() => {});
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }

  /** A config of a fresh workload database with the Kafka checkpoint store; its task and checkpoint topic are unique. */
  async setup(prefix: string, patch: (doc: Record<string, any>) => void = noop) {
    const created = await createWorkloadDatabase(this.admin, this.source, prefix);
    this.databases.push(created.db);
    const task = uniqueName('task');
    const cpTopic = `${created.db}.checkpoints`;
    const cfg = writeOpsConfig({ broker: this.broker, objects: [`${created.db}.a`, `${created.db}.b`], defaultTopic: created.db, source: this.source }, (doc) => {
      doc.checkpoint = { ...doc.checkpoint, store: 'kafka', task, topic: cpTopic, sessionTimeoutMs: SESSION_TIMEOUT_MS };
      patch(doc);
    });
    this.dirs.push(cfg.dir);
    return { ...created, task, cpTopic, cfg };
  }

  async start(configFile: string, readyText: string | null): Promise<RunningSync> {
    const s = await startSync(configFile, { readyText, readyTimeoutMs: 90_000 });
    this.running.push(s);
    return s;
  }

  /** Waits until the task's checkpoint in Kafka reaches the source's binlog end. */
  async waitForKafkaCheckpoint(conn: mysql.Connection, cpTopic: string, task: string, timeoutMs: number): Promise<void> {
    const target = await binlogEndOf(conn);
    const store = new KafkaCheckpointStore({ connection: { brokers: [this.broker], clientId: 'ha-test', logger: quietLogger }, topic: cpTopic });
    await store.connect();
    const deadline = Date.now() + timeoutMs;
    let seen = 'none';
    try {
      while (Date.now() < deadline) {
        let cp: Awaited<ReturnType<typeof store.read>> = null;
        try {
          cp = await store.read(task);
        } catch (e) {
          // A broker just started again may not lead the partition yet.
          if (!(isSyncError(e) && e.retriable)) throw e;
          seen = `an error: ${e.message}`;
        }
        if (cp?.binlog) {
          seen = `${cp.binlog.file}:${cp.binlog.position}`;
          if (comparePosition(cp.binlog, target) >= 0) return;
        }
        await sleep(200);
      }
    } finally {
      await store.close();
    }
    throw new Error(`the checkpoint of task ${task} did not reach ${target.file}:${target.position} within ${timeoutMs} ms (last: ${seen})`);
  }

  /**
   * Two instances of `configFile`; `kills` times, after a random pause, SIGKILLs the active
   * one and waits for the other to be active with its binlog stream running, then starts the
   * killed one again as the standby; meanwhile `total` row changes at `rate` per second.
   * Stops both cleanly once the checkpoint reached the binlog's end. Gives the workload and
   * the takeover times (ms from the kill to the new stream).
   */
  async killActiveDuringWorkload(o: { conn: mysql.Connection; configFile: string; cpTopic: string; task: string; seed: number; kills: number; total: number; rate: number }) {
    const rng = mulberry32(o.seed);
    const pauseRng = mulberry32(o.seed ^ 0x2545f491);
    let active = await this.start(o.configFile, 'starting binlog stream');
    let standby = await this.start(o.configFile, STANDING_BY);
    const workload = new Workload(o.conn, rng);
    const takeovers: number[] = [];
    const killer = (async () => {
      for (let k = 0; k < o.kills; k++) {
        await sleep(1_000 + Math.floor(pauseRng() * 3_000));
        assert.equal(active.proc.exitCode, null, `the active sync exited by itself:\n${tail(active.output())}`);
        const count = (text: string) => standby.output().split(text).length - 1;
        const activations = count(ACTIVE);
        const streams = count('starting binlog stream');
        const killedAt = Date.now();
        await active.kill();
        // The standby is active once it prints so and its binlog stream runs.
        await waitForOutput(standby, ACTIVE, SESSION_TIMEOUT_MS + 30_000, activations + 1);
        await waitForOutput(standby, 'starting binlog stream', SESSION_TIMEOUT_MS + 30_000, streams + 1);
        takeovers.push(Date.now() - killedAt);
        [active, standby] = [standby, await this.start(o.configFile, STANDING_BY)];
      }
    })();
    killer.catch(() => {});
    await workload.run(o.total, o.rate);
    await killer;
    assert.equal(takeovers.length, o.kills);
    for (const t of takeovers) assert.ok(t <= SESSION_TIMEOUT_MS + 5_000, `a takeover took ${t} ms, above the session timeout + 5 s`);
    await this.waitForKafkaCheckpoint(o.conn, o.cpTopic, o.task, 120_000);
    assert.equal(await active.stop(), 0, `the active sync did not stop cleanly:\n${tail(active.output())}`);
    assert.equal(await standby.stop(), 0, `the standby did not stop cleanly:\n${tail(standby.output())}`);
    return { workload, takeovers, lastActive: active };
  }

  /**
   * Two instances of `configFile` during a 12,000-row workload: the active one is SIGSTOPped
   * after 3 s, the other takes over and streams, then the paused one is SIGCONTed and must
   * stand by. Stops both cleanly once the new active one logged its progress.
   */
  async pauseActiveDuringWorkload(conn: mysql.Connection, configFile: string, seed: number): Promise<{ paused: RunningSync; workload: Workload }> {
    const paused = await this.start(configFile, 'starting binlog stream');
    const standby = await this.start(configFile, STANDING_BY);
    const workload = new Workload(conn, mulberry32(seed ^ 0x9e3779b9));
    const writing = workload.run(12_000, 400);
    await sleep(3_000);
    paused.proc.kill('SIGSTOP');
    await waitForOutput(standby, ACTIVE, SESSION_TIMEOUT_MS + 30_000);
    await waitForOutput(standby, 'starting binlog stream', 60_000);
    // The new active one writes; then the paused one wakes up.
    paused.proc.kill('SIGCONT');
    await waitForOutput(paused, /this instance is (standby|starting)|lost its role/, 60_000);
    await writing;
    await waitForOutput(standby, 'progress', 30_000);
    assert.equal(await standby.stop(), 0, tail(standby.output()));
    assert.equal(await paused.stop(), 0, tail(paused.output()));
    return { paused, workload };
  }
}
