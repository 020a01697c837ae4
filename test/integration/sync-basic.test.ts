/**
 * The synchronizer end to end against the real servers: the `sync` command as a user runs
 * it, three tables mapped to two topics, every partition policy, on Kafka 3.9 and 1.0.2;
 * DDL records on and off; replay across an ALTER TABLE; bad configs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { partitionFor } from '../../src/sink/partitioner.ts';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { binlogEndOf } from './mixed-workload.ts';
import { image, readTopic, runSyncToExit, startSync, type TopicMessage, writeSyncConfig } from './sync-harness.ts';

before(async () => {
  await ensureLab();
});

/** Per table, what the statements below must produce, in commit order: [operation, id, name, amount]. */
function workload(db: string, table: string, base: number): { sql: string[]; expected: [string, string, string | null, string | null][] } {
  const [a, b, c, d] = [base + 1, base + 2, base + 3, base + 4];
  return {
    sql: [
      `INSERT INTO ${db}.${table} VALUES (${a}, 'a', 1.50), (${b}, 'b', 2.00), (${c}, 'c', NULL)`,
      `UPDATE ${db}.${table} SET amount = 9.99, name = 'b2' WHERE id = ${b}`,
      `DELETE FROM ${db}.${table} WHERE id = ${c}`,
      `INSERT INTO ${db}.${table} VALUES (${d}, 'd', -0.01)`,
    ],
    expected: [
      ['INSERT', String(a), 'a', '1.50'], ['INSERT', String(b), 'b', '2.00'], ['INSERT', String(c), 'c', null],
      ['UPDATE', String(b), 'b2', '9.99'], ['DELETE', String(c), 'c', null], ['INSERT', String(d), 'd', '-0.01'],
    ],
  };
}

/** (binlog file number, position) of a record, for ordering. */
function positionOf(m: TopicMessage): [number, number] {
  const [pos, file] = m.record.sourcePosition.split('@').map(Number) as [number, number];
  return [file, pos];
}

const [kafka39] = kafkaBrokers();

for (const source of labSources()) {
  describe(`sync on ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    async function freshDatabase(prefix: string, tables: string[]): Promise<string> {
      const db = uniqueName(prefix);
      databases.push(db);
      await admin.query(`CREATE DATABASE ${db}`);
      for (const t of tables) await admin.query(`CREATE TABLE ${db}.${t} (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2))`);
      return db;
    }

    for (const { version, broker } of kafkaBrokers()) {
      describe(`three tables, two topics, on Kafka ${version}`, () => {
        for (const policy of ['single', 'table', 'primary-key'] as const) {
          test(`partition policy ${policy}: records match the statements, in commit order within a partition`, async () => {
            const db = await freshDatabase('it_sync', ['t1', 't2', 't3']);
            const topicA = uniqueName('it_sync_a');
            const topicB = uniqueName('it_sync_b');
            const partitions = policy === 'single' ? 1 : 3;
            const { configFile } = writeSyncConfig({
              broker, objects: [`${db}.t1`, `${db}.t2`, `${db}.t3`], defaultTopic: topicB, source,
              mapping: { [`${db}.t1`]: topicA }, partitionPolicy: policy, topicPartitions: partitions,
            });
            const sync = await startSync(configFile);
            const work = ['t1', 't2', 't3'].map((t, i) => ({ table: t, ...workload(db, t, i * 100) }));
            try {
              // Interleave the tables' statements so that the topics' order is the commit order.
              for (let s = 0; s < 4; s++) for (const w of work) await admin.query(w.sql[s]!);
              const a = await readTopic(broker, topicA, (m) => m.length >= 6);
              const b = await readTopic(broker, topicB, (m) => m.length >= 12);
              assert.equal(await sync.stop(), 0, sync.output());

              assert.deepEqual([...new Set(a.map((m) => m.record.table))], ['t1']);
              assert.deepEqual([...new Set(b.map((m) => m.record.table))].sort(), ['t2', 't3']);
              for (const w of work) {
                // Ids are given in binlog order, so they order a table's records across partitions.
                const records = (w.table === 't1' ? a : b).filter((m) => m.record.table === w.table)
                  .sort((x, y) => (x.record.id < y.record.id ? -1 : 1));
                const got = records.map((m) => { const im = image(m.record); return [m.record.operation, im.id, im.name, im.amount]; });
                assert.deepEqual(got, w.expected, `records of ${w.table}`);
                for (const m of records) {
                  assert.equal(m.record.database, db);
                  assert.equal(m.record.objectName, `${db}.${w.table}`);
                  assert.equal(m.key, JSON.stringify([image(m.record).id]));
                  const expectedPartition = partitionFor(policy, partitions, { database: db, table: w.table, key: Buffer.from(m.key!) });
                  assert.equal(m.partition, expectedPartition, `partition of ${w.table} id ${image(m.record).id}`);
                  assert.equal(m.timestamp, String(m.record.sourceTimestamp * 1000n));
                }
              }
              // Within each partition, records are in binlog order.
              for (const topic of [a, b]) {
                for (let p = 0; p < partitions; p++) {
                  const inPartition = topic.filter((m) => m.partition === p).map(positionOf);
                  const sorted = [...inPartition].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
                  assert.deepEqual(inPartition, sorted, `partition ${p} is in commit order`);
                }
              }
              // Ids only grow in the order they were produced.
              const ids = [...a, ...b].map((m) => m.record.id).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
              assert.equal(new Set(ids).size, ids.length, 'ids are unique');
            } finally {
              if (sync.proc.exitCode === null) await sync.kill();
            }
          });
        }
      });
    }

    describe('DDL records', () => {
      for (const emit of [true, false]) {
        test(`ddl.emit ${emit}: ${emit ? 'DDL records carry the SQL text' : 'no DDL record'}`, async () => {
          const db = await freshDatabase('it_ddl', ['t']);
          const topic = uniqueName('it_ddl');
          const { configFile } = writeSyncConfig({ broker: kafka39!.broker, objects: [`${db}.t`], defaultTopic: topic, ddlEmit: emit, source });
          const sync = await startSync(configFile);
          try {
            await admin.query(`INSERT INTO ${db}.t VALUES (1, 'x', 1)`);
            await admin.query(`ALTER TABLE ${db}.t ADD COLUMN extra INT NULL`);
            await admin.query(`INSERT INTO ${db}.t VALUES (2, 'y', 2, 7)`);
            const messages = await readTopic(kafka39!.broker, topic, (m) => m.length >= (emit ? 3 : 2));
            assert.equal(await sync.stop(), 0, sync.output());
            const ops = messages.map((m) => m.record.operation);
            if (emit) {
              assert.deepEqual(ops, ['INSERT', 'DDL', 'INSERT']);
              const ddl = messages[1]!.record;
              assert.equal(ddl.ddl, `ALTER TABLE ${db}.t ADD COLUMN extra INT NULL`);
              assert.equal(ddl.objectName, db);
              assert.equal(ddl.columns.length, 0);
            } else {
              assert.deepEqual(ops, ['INSERT', 'INSERT']);
            }
            // The row after the ALTER carries the new column either way.
            assert.deepEqual(messages.at(-1)!.record.columns.map((c) => c.name), ['id', 'name', 'amount', 'extra']);
          } finally {
            if (sync.proc.exitCode === null) await sync.kill();
          }
        });
      }
    });

    test('a restart from a checkpoint before an ALTER replays the old rows with their old columns', async () => {
      const db = await freshDatabase('it_alter', ['t']);
      const topic = uniqueName('it_alter');
      const { configFile } = writeSyncConfig({ broker: kafka39!.broker, objects: [`${db}.t`], defaultTopic: topic, source });
      const status = await binlogEndOf(admin);
      await admin.query(`INSERT INTO ${db}.t VALUES (1, 'before', 1)`);
      await admin.query(`ALTER TABLE ${db}.t ADD COLUMN added VARCHAR(10) NULL AFTER name`);
      await admin.query(`INSERT INTO ${db}.t VALUES (2, 'after', 'new', 2)`);
      // Start at the position recorded before the first INSERT: the rows are replayed from the binlog.
      const sync = await startSync(configFile, { args: ['--start-position', `${status.file}:${status.position}`] });
      try {
        const messages = await readTopic(kafka39!.broker, topic, (m) => m.length >= 2);
        assert.equal(await sync.stop(), 0, sync.output());
        assert.equal(messages.length, 2);
        assert.deepEqual(messages[0]!.record.columns.map((c) => c.name), ['id', 'name', 'amount']);
        assert.deepEqual(image(messages[0]!.record), { id: '1', name: 'before', amount: '1.00' });
        assert.deepEqual(messages[1]!.record.columns.map((c) => c.name), ['id', 'name', 'added', 'amount']);
        assert.deepEqual(image(messages[1]!.record), { id: '2', name: 'after', added: 'new', amount: '2.00' });
      } finally {
        if (sync.proc.exitCode === null) await sync.kill();
      }
    });

    describe('bad configs stop the start with the documented message and a non-zero exit', () => {
      const base = () => writeSyncConfig({ broker: kafka39!.broker, objects: ['it_nowhere.t'], defaultTopic: 'unused', source });

      test('an unknown option names it and suggests the right one', async () => {
        const { configFile } = base();
        fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace('  brokers:', '  broker:'));
        const r = await runSyncToExit(['--config', configFile]);
        assert.notEqual(r.code, 0);
        assert.match(r.output, /\[CONFIG_INVALID\]/);
        assert.match(r.output, /kafka\.broker: unknown option; did you mean kafka\.brokers\?/);
      });

      test('a missing password variable names the variable and the option', async () => {
        const { configFile } = base();
        fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace(/password: .*/, 'password: ${IT_NO_SUCH_PASSWORD}'));
        const r = await runSyncToExit(['--config', configFile]);
        assert.notEqual(r.code, 0);
        assert.match(r.output, /\[CONFIG_ENV_MISSING\]/);
        assert.match(r.output, /IT_NO_SUCH_PASSWORD, used by source\.password/);
      });

      test('an unknown table names the table', async () => {
        const { configFile } = base();
        const r = await runSyncToExit(['--config', configFile]);
        assert.equal(r.code, 2, r.output);
        assert.match(r.output, /\[PRECHECK_FAILED\]: the precheck failed \(tables\):\ntables: it_nowhere\.t does not exist/);
      });

      test('a wrong source password is refused at once, without the password in the output', async () => {
        const { configFile } = base();
        fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace(/password: .*/, 'password: Wr0ngSecret-xyz'));
        const r = await runSyncToExit(['--config', configFile]);
        assert.equal(r.code, 2, r.output);
        assert.match(r.output, /\[PRECHECK_FAILED\]: the precheck failed \(source_connection\):\nsource_connection: .*refused user dts_sync/);
        assert.doesNotMatch(r.output, /Wr0ngSecret-xyz/);
      });

      test('a missing config file says what --config takes', async () => {
        const r = await runSyncToExit(['--config', '/nonexistent/config.yaml']);
        assert.notEqual(r.code, 0);
        assert.match(r.output, /does not exist; --config takes the path of a YAML config file/);
      });
    });

    test('the stream follows a binlog rotation, and the checkpoint moves to the new file', async () => {
      const db = await freshDatabase('it_rotate', ['t']);
      const topic = uniqueName('it_rotate');
      const { configFile, checkpointFile } = writeSyncConfig({ broker: kafka39!.broker, objects: [`${db}.t`], defaultTopic: topic, source });
      const sync = await startSync(configFile);
      try {
        await admin.query(`INSERT INTO ${db}.t VALUES (1, 'old file', 1)`);
        await admin.query('FLUSH BINARY LOGS');
        await admin.query(`INSERT INTO ${db}.t VALUES (2, 'new file', 2)`);
        const messages = await readTopic(kafka39!.broker, topic, (m) => m.length >= 2);
        assert.equal(await sync.stop(), 0, sync.output());
        assert.deepEqual(messages.map((m) => image(m.record).name), ['old file', 'new file']);
        const [f1, f2] = messages.map((m) => Number(m.record.sourcePosition.split('@')[1]));
        assert.equal(f2, f1! + 1, 'the second record is in the next binlog file');
        const checkpoint = JSON.parse(fs.readFileSync(checkpointFile, 'utf8'));
        assert.equal(checkpoint.binlog.file, (await binlogEndOf(admin)).file);
      } finally {
        if (sync.proc.exitCode === null) await sync.kill();
      }
    });

    test('a binlog position the server no longer has is fatal, with the position and the recovery', async () => {
      const db = await freshDatabase('it_purged', ['t']);
      const { configFile } = writeSyncConfig({ broker: kafka39!.broker, objects: [`${db}.t`], defaultTopic: uniqueName('it_purged'), source });
      const r = await runSyncToExit(['--config', configFile, '--start-position', 'mysql-bin.999999:4']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /\[BINLOG_POSITION_PURGED\]: the source no longer has binlog position mysql-bin\.999999:4/);
      assert.match(r.output, /fresh snapshot/);
    });

    test('renaming a synced table logs a warning; the new name is not followed unless selected', async () => {
      const db = await freshDatabase('it_rename', ['t', 'marker']);
      const topic = uniqueName('it_rename');
      const { configFile } = writeSyncConfig({ broker: kafka39!.broker, objects: [`${db}.t`, `${db}.marker`], defaultTopic: topic, source });
      const sync = await startSync(configFile);
      try {
        await admin.query(`INSERT INTO ${db}.t VALUES (1, 'before', 1)`);
        await admin.query(`RENAME TABLE ${db}.t TO ${db}.t_new`);
        await admin.query(`INSERT INTO ${db}.t_new VALUES (2, 'after', 2)`);
        // A row of a selected table after it: once its record is there, a record of t_new
        // (earlier in the binlog, on the same single partition) would be there too.
        await admin.query(`INSERT INTO ${db}.marker VALUES (3, 'marker', 3)`);
        const messages = await readTopic(kafka39!.broker, topic, (ms) => ms.some((m) => m.record.table === 'marker'));
        assert.equal(await sync.stop(), 0, sync.output());
        assert.deepEqual(messages.map((m) => `${m.record.table}:${image(m.record).name}`), ['t:before', 'marker:marker']);
        assert.match(sync.output(), new RegExp(`synced table ${db}\\.t was renamed`));
      } finally {
        if (sync.proc.exitCode === null) await sync.kill();
      }
    });
  });
}
