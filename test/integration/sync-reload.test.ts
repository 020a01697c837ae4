/**
 * Live config changes against the real servers (issue "Operators add and remove tables by
 * editing the config while the synchronizer runs"): a table added while a workload writes
 * to it and to a streamed table, copied while the stream flows; a crash during that copy;
 * an invalid edit, an edit that needs a restart, and a table removed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { compareWithDatabase, createWorkloadDatabase, mulberry32, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { image, type RunningSync, readTopic, startSync, tail, waitForOutput, writeSyncConfig } from './sync-harness.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
/** Rewrites the objects list of a config written by writeSyncConfig. */
function setObjects(configFile: string, objects: string[]): void {
  const text = fs.readFileSync(configFile, 'utf8');
  const next = text.replace(/objects:\n(?: {2}- .*\n)+/, `objects:\n${objects.map((o) => `  - ${o}`).join('\n')}\n`);
  assert.notEqual(next, text, 'objects rewritten');
  fs.writeFileSync(configFile, next);
}

/** Waits until the checkpoint says at least `rows` rows of `table` were copied (and acknowledged), and its copy is not done. */
async function waitForCopiedRows(checkpointFile: string, table: string, rows: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const cp = JSON.parse(fs.readFileSync(checkpointFile, 'utf8')) as { snapshot: { tables: { table: string; rows: number; done: boolean }[] } | null };
    const t = cp.snapshot?.tables.find((x) => x.table === table);
    if (t?.done) assert.fail(`the copy of ${table} ended before ${rows} rows were seen in the checkpoint`);
    if (t && t.rows >= rows) return;
    assert.ok(Date.now() < deadline, `the checkpoint shows ${t?.rows ?? 0} copied rows of ${table}, not ${rows}, after 60 s`);
    await sleep(10);
  }
}

before(async () => {
  await ensureLab({ kafka: true });
});

for (const source of labSources()) {
  describe(`config reload on ${source.label}`, () => {
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

    test('a table added while a workload writes is copied while the stream of the other keeps flowing; final images equal the source', { timeout: 300_000 }, async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      console.log(`reload workload seed: ${seed}`);
      const { db, conn } = await workloadDatabase('it_reload');
      const workload = new Workload(conn, mulberry32(seed));
      await workload.prefill('a', 5_000);
      await workload.prefill('b', 50_000);
      const topic = uniqueName('it_reload');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`], defaultTopic: topic, mode: 'initial', chunkRows: 1_000, source });
      dirs.push(cfg.dir);
      const sync = await startSync(cfg.configFile);
      running.push(sync);

      // The workload writes to a and b from before the edit until b's copy is done. The copy is
      // held on a known step (b locked, so that no chunk of it can be read) while a marker row
      // of a must reach the topic: the stream does not wait for the copy.
      let writing = true;
      let pause: { parked: () => void; resume: Promise<void> } | null = null;
      const gate = async () => {
        if (pause) {
          pause.parked();
          await pause.resume;
        }
      };
      const work = (async () => {
        while (writing) await workload.run(workload.changes + 300, 3_000, gate);
      })();
      const MARKER_ID = 2_000_000_000;
      try {
        while (workload.changes < 3_000) await sleep(20);
        // Park the workload between two transactions (it writes b too), and lock b.
        let resume!: () => void;
        await new Promise<void>((parked) => {
          pause = { parked, resume: new Promise<void>((r) => { resume = r; }) };
        });
        await admin.query(`LOCK TABLES \`${db}\`.b WRITE`);
        try {
          setObjects(cfg.configFile, [`${db}.a`, `${db}.b`]);
          await waitForOutput(sync, 'config change applied at this transaction boundary');
          await waitForOutput(sync, 'full-data sync of a table added while streaming');
          await conn.query(`INSERT INTO a (id, v) VALUES (${MARKER_ID}, 0)`);
          await readTopic(BROKER, topic, (ms) => ms.some((m) => m.record.table === 'a' && image(m.record).id === String(MARKER_ID)), 60_000);
          assert.ok(!sync.output().includes('full-data sync of an added table done'), 'the copy is still held');
        } finally {
          await admin.query('UNLOCK TABLES');
          pause = null;
          resume();
        }
        await waitForOutput(sync, 'full-data sync of an added table done', 120_000);
      } finally {
        writing = false;
        await work;
      }
      await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
      assert.equal(await sync.stop(), 0, tail(sync.output()));
      await conn.end();

      const messages = await readWholeTopic(BROKER, topic);
      const bInits = messages.map((m, i) => ({ m, i })).filter(({ m }) => m.record.table === 'b' && m.record.operation === 'INIT');
      assert.ok(bInits.length > 0, 'b was copied');
      const first = bInits[0]!.i;
      const last = bInits.at(-1)!.i;
      const aDuring = messages.slice(first, last).filter((m) => m.record.table === 'a' && m.record.operation !== 'INIT').length;
      const bDuring = messages.slice(first, last).filter((m) => m.record.table === 'b' && m.record.operation !== 'INIT').length;
      const marker = messages.findIndex((m) => m.record.table === 'a' && image(m.record).id === String(MARKER_ID));
      console.log(`records ${messages.length}; b INIT ${bInits.length}; during b's copy: ${aDuring} records of a, ${bDuring} binlog records of b; the marker of a at ${marker} (b's INIT records ${first}-${last})`);
      const ddl = messages.findIndex((m) => m.record.operation === 'DDL' && /CREATE TABLE `b`/.test(m.record.ddl ?? ''));
      assert.ok(ddl >= 0 && ddl < first, "b's CREATE TABLE before its rows");
      assert.ok(ddl < marker && marker < last, "a's records kept arriving during b's copy: the marker row is after b's CREATE TABLE and before its last INIT record");

      const check = await compareWithDatabase(source, db, messages.filter((m) => m.record.operation !== 'DDL'), workload.deletedKeys(), true);
      console.log(`keys checked ${check.keysChecked}, problems ${check.problems.length}`);
      assert.deepEqual(check.problems.slice(0, 10), []);
    });

    test('SIGKILL during an added table’s copy: the restart completes it with no row lost', { timeout: 300_000 }, async () => {
      const { db, conn } = await workloadDatabase('it_reloadkill');
      const workload = new Workload(conn, mulberry32(11));
      await workload.prefill('a', 1_000);
      await workload.prefill('b', 120_000);
      const topic = uniqueName('it_reloadkill');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`], defaultTopic: topic, mode: 'initial', chunkRows: 500, source });
      dirs.push(cfg.dir);
      const first = await startSync(cfg.configFile);
      running.push(first);
      const work = workload.run(20_000, 2_000);
      setObjects(cfg.configFile, [`${db}.a`, `${db}.b`]);
      await waitForOutput(first, 'full-data sync of a table added while streaming');
      await waitForCopiedRows(cfg.checkpointFile, 'b', 10_000);
      await first.kill();
      const second = await startSync(cfg.configFile);
      running.push(second);
      await waitForOutput(second, /"resumeAfterRows":[1-9]\d*.*full-data sync of a table added while streaming/);
      await waitForOutput(second, 'full-data sync of an added table done', 180_000);
      await work;
      await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
      assert.equal(await second.stop(), 0, tail(second.output()));
      await conn.end();
      const messages = await readWholeTopic(BROKER, topic);
      const check = await compareWithDatabase(source, db, messages.filter((m) => m.record.operation !== 'DDL'), workload.deletedKeys(), true);
      assert.deepEqual(check.problems.slice(0, 10), []);
    });

    test('an invalid edit and an edit that needs a restart are refused; removing a table stops its records', { timeout: 120_000 }, async () => {
      const { db, conn } = await workloadDatabase('it_reloadbad');
      const topic = uniqueName('it_reloadbad');
      const cfg = writeSyncConfig({ broker: BROKER, objects: [`${db}.a`, `${db}.b`], defaultTopic: topic, mode: 'incremental', source });
      dirs.push(cfg.dir);
      const sync = await startSync(cfg.configFile);
      running.push(sync);
      const good = fs.readFileSync(cfg.configFile, 'utf8');

      fs.writeFileSync(cfg.configFile, good.replace('partitionPolicy:', 'partitionPolicyy:'));
      await waitForOutput(sync, 'the edited config is invalid and was not applied');
      assert.match(sync.output(), /partitionPolicyy/);
      fs.writeFileSync(cfg.configFile, good.replace(/port: \d+/, 'port: 1'));
      await waitForOutput(sync, /changes source\.port, which cannot change while running: restart/);
      fs.writeFileSync(cfg.configFile, good);

      await conn.query('INSERT INTO a (id, v) VALUES (1, 1)');
      await conn.query('INSERT INTO b (id, n) VALUES (1, "one")');
      await readTopic(BROKER, topic, (m) => m.length >= 2, 30_000);
      setObjects(cfg.configFile, [`${db}.b`]);
      await waitForOutput(sync, 'config change applied at this transaction boundary');
      await conn.query('INSERT INTO a (id, v) VALUES (2, 2)');
      await conn.query('INSERT INTO b (id, n) VALUES (2, "two")');
      // b:2 follows a:2 in the binlog: once it is in the topic, a record of a:2 would be too.
      const messages = await readTopic(BROKER, topic, (m) => m.length >= 3, 30_000);
      assert.equal(await sync.stop(), 0, tail(sync.output()));
      await conn.end();
      const rows = (await readWholeTopic(BROKER, topic)).map((m) => `${m.record.table}:${m.key}`);
      assert.deepEqual(rows, ['a:["1"]', 'b:["1"]', 'b:["2"]'], `records: ${rows.join(', ')} (first read ${messages.length})`);
    });
  });
}
