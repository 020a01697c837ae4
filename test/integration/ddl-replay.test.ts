/**
 * Schema changes while streaming, on each lab source: a column added in the middle, a
 * column's type widened, a column dropped, the table renamed. Records follow each change
 * with the columns of the moment; `verify` tells the rows last written before a column was
 * added (different only by layout) from real differences, and is clean once every row has
 * been written again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config/index.ts';
import { differences } from '../../src/verify/report.ts';
import { runVerify } from '../../src/verify/run-verify.ts';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { image, readTopic, type RunningSync, startSync, writeSyncConfig } from './sync-harness.ts';

before(async () => {
  await ensureLab();
});

for (const source of labSources()) {
  describe(`DDL replay on ${source.label}`, () => {
    const db = uniqueName('it_ddl');
    const topic = uniqueName('it_ddl');
    const broker = kafkaBrokers()[0]!.broker;
    let admin: mysql.Connection;
    let sync: RunningSync | undefined;

    before(async () => {
      admin = await adminConnection(undefined, source);
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(10), c INT)`);
      const rows = Array.from({ length: 20 }, (_, i) => `(${i + 1}, ${i}, 'b${i}', ${i * 10})`).join(', ');
      await admin.query(`INSERT INTO ${db}.t VALUES ${rows}`);
    });

    after(async () => {
      if (sync) await sync.stop();
      await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    test('ADD COLUMN in the middle, MODIFY, DROP COLUMN, RENAME TABLE: records carry the columns of their moment, verify is clean once rows are rewritten', { timeout: 240_000 }, async () => {
      const { configFile } = writeSyncConfig({ broker, objects: [`${db}.*`], defaultTopic: topic, mode: 'initial', source });
      sync = await startSync(configFile);
      const config = loadConfig(configFile);

      await admin.query(`ALTER TABLE ${db}.t ADD COLUMN m VARCHAR(8) NULL AFTER a`);
      await admin.query(`INSERT INTO ${db}.t (id, a, m, b, c) VALUES (21, 21, 'mid', 'b21', 210)`);
      await admin.query(`ALTER TABLE ${db}.t MODIFY c BIGINT`);
      await admin.query(`UPDATE ${db}.t SET c = 9007199254740993 WHERE id = 21`);
      await admin.query(`ALTER TABLE ${db}.t DROP COLUMN b`);
      await admin.query(`INSERT INTO ${db}.t (id, a, m, c) VALUES (22, 22, 'after', 220)`);

      const messages = await readTopic(broker, topic, (ms) => ms.some((m) => m.record.operation === 'INSERT' && image(m.record).id === '22'), 60_000);
      const byId = (id: string, op: string) => messages.filter((m) => m.record.operation === op && image(m.record).id === id).at(-1)!.record;
      // Each record has the columns the table had when it was written, in their order.
      assert.deepEqual(byId('1', 'INIT').columns.map((c) => c.name), ['id', 'a', 'b', 'c']);
      assert.deepEqual(byId('21', 'INSERT').columns.map((c) => c.name), ['id', 'a', 'm', 'b', 'c']);
      assert.deepEqual(image(byId('21', 'INSERT')), { id: '21', a: '21', m: 'mid', b: 'b21', c: '210' });
      assert.equal(image(byId('21', 'UPDATE')).c, '9007199254740993');
      assert.deepEqual(image(byId('22', 'INSERT')), { id: '22', a: '22', m: 'after', c: '220' });

      // Rows 1-20 were last written before m existed: different, and only by layout.
      const stale = await runVerify({ config, waitMs: 60_000 });
      const t = stale.tables.find((x) => x.table === 't')!;
      assert.equal(t.sourceRows, 22);
      assert.equal(t.missing + t.extra, 0);
      assert.equal(t.different, 20);
      assert.equal(t.layoutOnly, 20);
      assert.match(t.examples.different[0]!, /layout only: the last record predates column\(s\) m/);

      // A row changed behind the synchronizer's back is a real difference, not a layout one.
      await admin.query(`SET SESSION sql_log_bin = 0`);
      await admin.query(`UPDATE ${db}.t SET a = -1 WHERE id = 22`);
      await admin.query(`SET SESSION sql_log_bin = 1`);
      const real = await runVerify({ config, waitMs: 60_000 });
      const r = real.tables.find((x) => x.table === 't')!;
      assert.equal(r.different, 21);
      assert.equal(r.layoutOnly, 20);

      // Every row written again: clean.
      await admin.query(`UPDATE ${db}.t SET m = CONCAT('r', id)`);
      const clean = await runVerify({ config, waitMs: 60_000 });
      assert.equal(differences(clean), 0, JSON.stringify(clean.tables));

      // Renamed: `db.*` selects the new name; its rows verify once written under it.
      await admin.query(`RENAME TABLE ${db}.t TO ${db}.t2`);
      await admin.query(`UPDATE ${db}.t2 SET a = a + 1`);
      await readTopic(broker, topic, (ms) => ms.some((m) => m.record.table === 't2' && image(m.record).id === '22'), 60_000);
      const renamed = await runVerify({ config, waitMs: 60_000 });
      assert.deepEqual(renamed.tables.map((x) => x.table), ['t2']);
      assert.equal(differences(renamed), 0, JSON.stringify(renamed.tables));
      assert.equal(renamed.tables[0]!.sourceRows, 22);
    });
  });
}
