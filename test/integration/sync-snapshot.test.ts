/**
 * The initial schema and full-data sync against the real servers (issue "Precheck, initial
 * schema sync and initial full-data sync"): a 200,000-row table copied while a workload
 * changes it, the hand-off to the binlog, a crash in the middle of the copy, tables keyed
 * by a NOT NULL unique key only (single and composite, case-insensitive collation), a table
 * without a usable key, and mode full.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithDatabase, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { type RunningSync, runSyncToExit, startSync, tail, writeSyncConfig } from './sync-harness.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
function readCheckpoint(file: string): { snapshot: { done: boolean; tables: { rows: number; done: boolean }[] } | null } | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

before(async () => {
  await ensureLab({ kafka: true });
});

for (const source of labSources()) {
  describe(`initial sync on ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];
    const dirs: string[] = [];
    const running: RunningSync[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await admin?.end().catch(() => {});
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    async function workloadDatabase(prefix: string): Promise<{ db: string; conn: mysql.Connection }> {
      const created = await createWorkloadDatabase(admin, source, prefix);
      databases.push(created.db);
      return created;
    }

    test('200,000 rows copied while a workload changes them: after the hand-off, the last record per key equals the source', { timeout: 300_000 }, async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      console.log(`snapshot workload seed: ${seed}`);
      const { db, conn } = await workloadDatabase('it_snap');
      const workload = new Workload(conn, mulberry32(seed));
      await workload.prefill('a', 200_000);
      await workload.prefill('b', 20_000);
      const topic = uniqueName('it_snap');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, mode: 'initial', chunkRows: 5_000, source });
      dirs.push(cfg.dir);

      // The workload starts with the synchronizer, so that it runs during the copy.
      let changesAtHandOff = -1;
      const syncing = startSync(cfg.configFile, { readyText: 'starting the initial schema and full-data sync' });
      const sync = await syncing;
      running.push(sync);
      const work = workload.run(30_000, 4_000);
      while (!sync.output().includes('initial full-data sync done')) {
        if (sync.proc.exitCode !== null) assert.fail(`sync exited during the snapshot:\n${tail(sync.output())}`);
        await sleep(20);
      }
      changesAtHandOff = workload.changes;
      await work;
      await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
      assert.equal(await sync.stop(), 0, tail(sync.output()));
      await conn.end();
      console.log(`workload: ${workload.changes} changes (${changesAtHandOff} of them before the snapshot ended)`);
      assert.ok(changesAtHandOff > 0, 'the workload ran during the snapshot');

      const messages = await readWholeTopic(BROKER, topic);
      // The initial schema sync: a DDL record with each table's CREATE TABLE before its rows.
      for (const table of ['a', 'b']) {
        const ddl = messages.findIndex((m) => m.record.operation === 'DDL' && new RegExp(`CREATE TABLE \`${table}\``).test(m.record.ddl ?? ''));
        const firstRow = messages.findIndex((m) => m.record.table === table && m.record.operation === 'INIT');
        assert.ok(ddl >= 0 && firstRow > ddl, `table ${table}: CREATE TABLE record (${ddl}) before its first INIT (${firstRow})`);
      }
      const inits = messages.filter((m) => m.record.operation === 'INIT').length;
      assert.ok(inits >= 220_000 - workload.deletes, `INIT records: ${inits}`);
      const rows = messages.filter((m) => m.record.operation !== 'DDL');
      const check = await compareWithDatabase(source, db, rows, workload.deletedKeys(), true);
      console.log(`records ${messages.length}, INIT ${inits}, keys checked ${check.keysChecked}, repeated ${check.repeated}, problems ${check.problems.length}`);
      assert.deepEqual(check.problems.slice(0, 10), []);
      assert.equal(check.lost, 0);
    });

    test('a crash in the middle of the copy resumes after the last acknowledged chunk', { timeout: 240_000 }, async () => {
      const { db, conn } = await workloadDatabase('it_snapkill');
      const workload = new Workload(conn, mulberry32(7));
      const total = 150_000;
      await workload.prefill('a', total);
      await conn.end();
      const topic = uniqueName('it_snapkill');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`], defaultTopic: topic, mode: 'initial', chunkRows: 2_000, source });
      dirs.push(cfg.dir);

      const first = await startSync(cfg.configFile, { readyText: 'starting the initial schema and full-data sync' });
      running.push(first);
      let doneAtKill = 0;
      for (;;) {
        const cp = readCheckpoint(cfg.checkpointFile);
        const t = cp?.snapshot?.tables[0];
        if (t && t.rows >= 30_000) break;
        if (t?.done || first.proc.exitCode !== null) assert.fail(`the copy ended before the kill:\n${tail(first.output())}`);
        await sleep(10);
      }
      await first.kill();
      doneAtKill = readCheckpoint(cfg.checkpointFile)!.snapshot!.tables[0]!.rows;
      assert.ok(doneAtKill > 0 && doneAtKill < total, `rows checkpointed at the kill: ${doneAtKill}`);

      const second = await startSync(cfg.configFile);
      running.push(second);
      assert.match(second.output(), /resuming the full-data sync of a table after its last acknowledged chunk/);
      assert.equal(await second.stop(), 0, tail(second.output()));

      const messages = await readWholeTopic(BROKER, topic);
      const inits = messages.filter((m) => m.record.operation === 'INIT');
      const reread = inits.length - total;
      console.log(`rows done at the kill: ${doneAtKill}; INIT records ${inits.length}; rows read twice: ${reread}`);
      assert.equal(new Set(inits.map((m) => m.key)).size, total, 'every row copied');
      assert.ok(reread < doneAtKill, `fewer rows read again (${reread}) than were done (${doneAtKill})`);
      assert.equal(readCheckpoint(cfg.checkpointFile)!.snapshot!.done, true);
    });

    test('a table keyed only by a NOT NULL unique key (case-insensitive, and composite) is chunked on it; a nullable unique key is refused', { timeout: 120_000 }, async () => {
      const db = uniqueName('it_snapuk');
      databases.push(db);
      await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
      await admin.query(`CREATE TABLE \`${db}\`.u (code VARCHAR(20) NOT NULL, v INT, UNIQUE KEY uk_code (code))`);
      await admin.query(`CREATE TABLE \`${db}\`.c (grp INT NOT NULL, name VARCHAR(10) CHARACTER SET latin1 NOT NULL, v INT, UNIQUE KEY uk_grp_name (grp, name))`);
      // Mixed case and accents: the collation's order is not the bytes' order, so a chunk
      // boundary compared as bytes would skip or repeat rows.
      const codes = Array.from({ length: 1_234 }, (_, i) => `${['ab', 'AB', 'Ab', 'aB'][i % 4]}${String(i).padStart(5, '0')}${['é', 'Z', 'ü', 'y'][(i * 7) % 4]}`);
      await admin.query(`INSERT INTO \`${db}\`.u (code, v) VALUES ?`, [codes.map((c, i) => [c, i])]);
      const pairs: [number, string, number][] = [];
      for (let g = 0; g < 7; g++) for (let n = 0; n < 90; n++) pairs.push([g, `${n % 2 ? 'N' : 'n'}${String(n).padStart(3, '0')}`, g * 100 + n]);
      await admin.query(`INSERT INTO \`${db}\`.c (grp, name, v) VALUES ?`, [pairs]);
      const topic = uniqueName('it_snapuk');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.u`, `${db}.c`], defaultTopic: topic, mode: 'full', chunkRows: 100, source });
      dirs.push(cfg.dir);

      const run = await runSyncToExit(['--config', cfg.configFile]);
      assert.equal(run.code, 0, tail(run.output));
      assert.match(run.output, /"key":"uk_code"/);
      assert.match(run.output, /"key":"uk_grp_name"/);
      assert.doesNotMatch(run.output, /starting binlog stream/, 'mode full does not stream');
      const messages = await readWholeTopic(BROKER, topic);
      const keysOf = (table: string) => messages.filter((m) => m.record.table === table && m.record.operation === 'INIT').map((m) => m.key!);
      const u = keysOf('u');
      assert.equal(u.length, codes.length, 'every row of u once');
      assert.deepEqual(new Set(u), new Set(codes.map((c) => JSON.stringify([c]))));
      const c = keysOf('c');
      assert.equal(c.length, pairs.length, 'every row of c once');
      assert.equal(new Set(c).size, pairs.length);

      // A unique key on a nullable column does not identify rows.
      await admin.query(`CREATE TABLE \`${db}\`.n (x INT NULL, v INT, UNIQUE KEY uk_x (x))`);
      const bad = writeSyncConfig({ broker: BROKER, objects: [`${db}.n`], defaultTopic: topic, mode: 'initial', source });
      dirs.push(bad.dir);
      const refused = await runSyncToExit(['--config', bad.configFile]);
      assert.notEqual(refused.code, 0);
      assert.equal(refused.code, 2);
      assert.match(refused.output, new RegExp(`${db}\\.n \\(its unique keys allow NULL\\) has neither a primary key nor a NOT NULL unique key`));
    });
  });
}
