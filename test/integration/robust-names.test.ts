/**
 * Fault case 9 (docs/reliability.md): odd names. A database and tables whose names hold dots,
 * spaces, backticks and non-ASCII letters, and columns named like SQL keywords (a composite
 * primary key of `key` and `order` among them), through the initial snapshot, the binlog
 * stream, an ALTER TABLE adding a column named `where`, and DDL records; on a throwaway
 * MariaDB and a throwaway MySQL (throwaway-source.ts) and the lab's Kafka 3.9. Records must name the objects and columns exactly, and
 * verify must find no difference.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { ensureLab, kafkaBrokers, labSources } from './lab.ts';
import { readWholeTopic, waitForCheckpoint } from './mixed-workload.ts';
import { verifyNoDifferences } from './robust-harness.ts';
import { image, killIfRunning, type RunningSync, startSync, writeSyncConfig } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
before(async () => {
  await ensureLab({ kafka: true });
});

const q = (name: string) => `\`${name.replaceAll('`', '``')}\``;

for (const labSource of labSources()) {
  describe(`odd names on a throwaway ${labSource.label}`, () => {
    let db: ThrowawaySource;
    let sync: RunningSync | null = null;
    let dir = '';

    before(async () => {
      db = await startThrowawaySource(labSource);
    });

    after(async () => {
      await killIfRunning(sync);
      await db?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('9: names with dots, spaces, backticks and non-ASCII letters, columns named like SQL keywords: exact in the records, verify finds no difference', { timeout: 120_000 }, async () => {
      const suffix = randomBytes(3).toString('hex');
      const database = `rn.ödd \`q\` 名 ${suffix}`;
      const odd = 't.a b `x` 表';
      const keywords = 'select';
      const conn: mysql.Connection = await db.admin();
      try {
        await conn.query(`CREATE DATABASE ${q(database)} CHARACTER SET utf8mb4`);
        await conn.query(`USE ${q(database)}`);
        await conn.query(`CREATE TABLE ${q(odd)} (${q('id.x')} INT PRIMARY KEY, ${q('naïve name')} VARCHAR(40), ${q('back`tick')} DECIMAL(8,2))`);
        await conn.query(`CREATE TABLE ${q(keywords)} (\`key\` VARCHAR(20), \`order\` INT, \`from\` TEXT, \`group\` DATE, \`desc\` BIGINT, \`values\` JSON, \`int\` TINYINT,
          PRIMARY KEY (\`key\`, \`order\`))`);
        // Rows before the start: the initial snapshot reads them.
        await conn.query(`INSERT INTO ${q(odd)} VALUES (1, 'ünïcödé 😀', 1.50), (2, 'tab\\tnew\\nline', NULL), (3, '\`quoted\`', -2.25)`);
        await conn.query(`INSERT INTO ${q(keywords)} VALUES ('a.b', 1, 'from', '2024-02-29', -9223372036854775808, '{"k": "é"}', 127), ('名前', 2, NULL, NULL, 0, NULL, -128)`);

        const objects = [`'${q(database)}.${q(odd)}'`, `'${q(database)}.${q(keywords)}'`];
        const cfg = writeSyncConfig({ source: db.source, broker: BROKER, objects, defaultTopic: `rn_${suffix}`, mode: 'initial', ddlEmit: true });
        dir = cfg.dir;
        sync = await startSync(cfg.configFile);

        // The stream: every operation, a key change, and an ALTER adding a keyword-named column.
        await conn.query(`INSERT INTO ${q(odd)} VALUES (4, 'vier', 4.00)`);
        await conn.query(`UPDATE ${q(odd)} SET ${q('naïve name')} = 'geändert' WHERE ${q('id.x')} = 1`);
        await conn.query(`DELETE FROM ${q(odd)} WHERE ${q('id.x')} = 2`);
        await conn.query(`UPDATE ${q(keywords)} SET \`order\` = 3, \`from\` = 'moved' WHERE \`key\` = 'a.b'`);
        await conn.query(`ALTER TABLE ${q(keywords)} ADD COLUMN \`where\` VARCHAR(10) NULL`);
        await conn.query(`INSERT INTO ${q(keywords)} VALUES ('x y', 4, 'f', '2000-01-01', 42, '[]', 0, 'here')`);
        // Every row's last record then has the new column (verify compares the columns a record carries).
        await conn.query(`UPDATE ${q(keywords)} SET \`where\` = CONCAT('w', \`order\`) WHERE \`where\` IS NULL`);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
        assert.equal(await sync.stop(), 0, sync.output());

        const messages = await readWholeTopic(BROKER, `rn_${suffix}`);
        const rows = messages.filter((m) => m.record.operation !== 'DDL');
        assert.ok(rows.length >= 5 + 5);
        for (const m of rows) assert.equal(m.record.database, database);
        assert.deepEqual([...new Set(rows.map((m) => m.record.table))].sort(), [odd, keywords].sort());
        const oddRecord = rows.find((m) => m.record.table === odd)!;
        assert.deepEqual(oddRecord.record.columns.map((c) => c.name), ['id.x', 'naïve name', 'back`tick']);
        // Dots inside names are escaped in objectName, the separator is not (the DTS convention).
        assert.equal(oddRecord.record.objectName, `${database.replaceAll('.', '\\u002E')}.${odd.replaceAll('.', '\\u002E')}`);
        const last = rows.find((m) => m.record.table === keywords && m.record.operation === 'INSERT' && image(m.record).key === 'x y')!;
        assert.deepEqual(last.record.columns.map((c) => c.name), ['key', 'order', 'from', 'group', 'desc', 'values', 'int', 'where']);
        assert.deepEqual(image(last.record), { key: 'x y', order: '4', from: 'f', group: '2000-01-01', desc: '42', values: '[]', int: '0', where: 'here' });
        assert.equal(last.key, JSON.stringify(['x y', '4']));
        // The DDL records name the database and carry the statement as written.
        const ddl = messages.filter((m) => m.record.operation === 'DDL').map((m) => m.record.ddl ?? '');
        assert.ok(ddl.some((s) => s.includes('ADD COLUMN `where`')), ddl.join('\n'));

        await verifyNoDifferences(cfg.configFile);
      } finally {
        await conn.end();
      }
    });
  });
}
