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
import { type RunningSync, readTopic, startSync, tail, waitForOutput, writeSyncConfig } from './sync-harness.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
/** Rewrites the objects list of a config written by writeSyncConfig. */
function setObjects(configFile: string, objects: string[]): void {
  const text = fs.readFileSync(configFile, 'utf8');
  const next = text.replace(/objects:\n(?: {2}- .*\n)+/, `objects:\n${objects.map((o) => `  - ${o}`).join('\n')}\n`);
  assert.notEqual(next, text, 'objects rewritten');
  fs.writeFileSync(configFile, next);
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

      const work = workload.run(40_000, 3_000);
      await sleep(2_000);
      setObjects(cfg.configFile, [`${db}.a`, `${db}.b`]);
      await waitForOutput(sync, 'config change applied at this transaction boundary');
      await waitForOutput(sync, 'full-data sync of an added table done', 120_000);
      await work;
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
      console.log(`records ${messages.length}; b INIT ${bInits.length}; during b's copy: ${aDuring} records of a, ${bDuring} binlog records of b`);
      assert.ok(aDuring > 0, "a's records kept arriving during b's copy");
      const ddl = messages.findIndex((m) => m.record.operation === 'DDL' && /CREATE TABLE `b`/.test(m.record.ddl ?? ''));
      assert.ok(ddl >= 0 && ddl < first, "b's CREATE TABLE before its rows");

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
      for (;;) {
        const cp = JSON.parse(fs.readFileSync(cfg.checkpointFile, 'utf8')) as { snapshot: { tables: { table: string; rows: number; done: boolean }[] } | null };
        const b = cp.snapshot?.tables.find((t) => t.table === 'b');
        if (b && b.rows >= 10_000) break;
        if (b?.done) assert.fail('the copy ended before the kill');
        await sleep(10);
      }
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
