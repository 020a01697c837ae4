/**
 * `verify` against the real servers: after a clean sync (keys changed by UPDATE, composite
 * string keys, a keyless table with duplicate rows, a TRUNCATE, three partitions by primary
 * key) it finds nothing; after edits behind the synchronizer's back (sql_log_bin = 0) and a
 * doctored record in the topic it reports exactly those rows, also with a bucket budget so
 * small that buckets are split; on Kafka 1.0.2 too; exit codes 0, 1 and 2.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config/index.ts';
import { encodeEvent } from '../../src/dts/encoder.ts';
import type { RowChangeEvent } from '../../src/model/change-event.ts';
import { readTableSchema } from '../../src/source/schema-reader.ts';
import { differences, type VerifyReport } from '../../src/verify/report.ts';
import { runVerify } from '../../src/verify/run-verify.ts';
import { adminConnection, ensureLab, kafkaBrokers, labSources, uniqueName } from './lab.ts';
import { binlogEndOf } from './mixed-workload.ts';
import { readTopic, type RunningSync, runVerifyCli, startSync, writeSyncConfig } from './sync-harness.ts';

type TableLine = Pick<VerifyReport['tables'][number], 'sourceRows' | 'topicRows' | 'missing' | 'extra' | 'different'>;

function counts(report: VerifyReport): Record<string, TableLine> {
  return Object.fromEntries(report.tables.map((t) => [t.table, { sourceRows: t.sourceRows, topicRows: t.topicRows, missing: t.missing, extra: t.extra, different: t.different }]));
}

before(async () => {
  await ensureLab();
});

for (const source of labSources()) {
  describe(`verify on ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];
    const sourceVersion = source.kind === 'mysql' ? '9.7' : '10.11';

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    describe('verify on Kafka 3.9, three partitions by primary key', () => {
      const db = uniqueName('it_verify');
      const topic = uniqueName('it_verify');
      let configFile = '';
      let verifyConfig = '';
      let sync: RunningSync | undefined;

      before(async () => {
        databases.push(db);
        await admin.query(`CREATE DATABASE ${db}`);
        await admin.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2))`);
        await admin.query(`CREATE TABLE ${db}.k (a VARCHAR(10) CHARACTER SET latin1, b INT, v TEXT, PRIMARY KEY (a, b))`);
        await admin.query(`CREATE TABLE ${db}.nokey (x INT, y VARCHAR(10))`);
        await admin.query(`CREATE TABLE ${db}.tr (id INT PRIMARY KEY)`);
        const [{ broker }] = kafkaBrokers();
        // The synchronizer refuses tables without a key (its precheck); verify compares them as
        // multisets, so its config adds one whose records are produced below by hand.
        ({ configFile } = writeSyncConfig({ broker: broker!, objects: [`${db}.t`, `${db}.k`, `${db}.tr`], defaultTopic: topic, ddlEmit: true, partitionPolicy: 'primary-key', topicPartitions: 3, source }));
        verifyConfig = `${configFile}.verify.yaml`;
        fs.writeFileSync(verifyConfig, fs.readFileSync(configFile, 'utf8').replace('\ntopics:\n', `\n  - ${db}.nokey\ntopics:\n`));
        sync = await startSync(configFile);
        const values = Array.from({ length: 200 }, (_, i) => `(${i + 1}, 'n${i + 1}', ${i + 1}.25)`).join(', ');
        await admin.query(`INSERT INTO ${db}.t VALUES ${values}`);
        await admin.query(`UPDATE ${db}.t SET amount = amount + 1 WHERE id % 10 = 0`);
        await admin.query(`DELETE FROM ${db}.t WHERE id BETWEEN 150 AND 160`);
        await admin.query(`UPDATE ${db}.t SET id = 1000 WHERE id = 10`);
        await admin.query(`INSERT INTO ${db}.k VALUES ('a', 1, 'x'), ('a', 2, 'y'), ('ÿ', 1, NULL)`);
        await admin.query(`UPDATE ${db}.k SET v = 'z' WHERE a = 'a' AND b = 2`);
        await admin.query(`UPDATE ${db}.k SET b = 3 WHERE a = 'a' AND b = 1`);
        await admin.query(`INSERT INTO ${db}.tr VALUES (1), (2), (3)`);
        await admin.query(`TRUNCATE TABLE ${db}.tr`);
        await admin.query(`INSERT INTO ${db}.tr VALUES (4)`);
        // 200 + 20 + 11 + 1 (t) + 3 + 1 + 1 (k) + 3 + 1 + 1 (tr, with the DDL)
        await readTopic(broker!, topic, (m) => m.length >= 242);

        // The keyless table: rows on the source without the binlog, and the records that would
        // have made them, including two identical rows of one statement and a crash replay.
        await admin.query(`SET SESSION sql_log_bin = 0; INSERT INTO ${db}.nokey VALUES (1, 'p'), (1, 'p'), (3, 's'); SET SESSION sql_log_bin = 1`);
        const nokey = await readTableSchema(admin, db, 'nokey');
        const status = await binlogEndOf(admin);
        const at = (delta: number) => ({ file: status.file, position: status.position - 10 + delta });
        const change = (operation: 'INSERT' | 'UPDATE' | 'DELETE', pos: number, id: bigint, before: [number, string] | null, after: [number, string] | null) =>
          Buffer.from(encodeEvent({
            kind: 'row', operation, table: nokey,
            before: before && [BigInt(before[0]), Buffer.from(before[1])], after: after && [BigInt(after[0]), Buffer.from(after[1])],
            source: { position: at(pos), transactionStart: at(0), commitTimestamp: Math.floor(Date.now() / 1000), serverId: 1, threadId: 0, gtid: null },
          }, { id, sourceVersion, readerTimestampMs: Date.now() }));
        const first = [change('INSERT', 1, 50_000_001n, null, [1, 'p']), change('INSERT', 1, 50_000_002n, null, [1, 'p'])];
        const second = [change('INSERT', 2, 50_000_003n, null, [2, 'q']), change('INSERT', 2, 50_000_004n, null, [3, 'r'])];
        const nokeyRecords = [
          ...first, ...second,
          change('DELETE', 3, 50_000_005n, [2, 'q'], null),
          change('UPDATE', 4, 50_000_006n, [3, 'r'], [3, 's']),
          // produced again after a crash, with new ids
          ...[change('INSERT', 1, 60_000_001n, null, [1, 'p']), change('INSERT', 1, 60_000_002n, null, [1, 'p'])],
          ...[change('INSERT', 2, 60_000_003n, null, [2, 'q']), change('INSERT', 2, 60_000_004n, null, [3, 'r'])],
        ];
        const producer = new Kafka({ clientId: 'it', brokers: [broker!], logLevel: logLevel.NOTHING }).producer();
        await producer.connect();
        await producer.send({ topic, messages: nokeyRecords.map((value) => ({ partition: 0, key: null, value })) });
        await producer.disconnect();
      });

      after(async () => {
        if (sync && sync.proc.exitCode === null) await sync.stop();
      });

      test('a clean sync verifies with no difference (exit 0)', async () => {
        const r = await runVerifyCli(['--config', verifyConfig, '--wait-seconds', '30']);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^OK {3}${db}\\.t \\(${topic}, key \\(id\\)\\): source 189 rows, topic 189 rows; 0 missing, 0 extra, 0 different$`, 'm'));
        assert.match(r.stdout, new RegExp(`^OK {3}${db}\\.k \\(${topic}, key \\(a, b\\)\\): source 3 rows`, 'm'));
        assert.match(r.stdout, new RegExp(`^OK {3}${db}\\.nokey \\(${topic}, no key: compared as a multiset of rows\\): source 3 rows, topic 3 rows; 0 missing, 0 extra, 0 different$`, 'm'));
        assert.match(r.stdout, new RegExp(`^OK {3}${db}\\.tr .*source 1 rows, topic 1 rows`, 'm'));
        assert.match(r.stdout, /^verify: every table matches$/m);
      });

      test('reports exactly the rows changed behind its back and a doctored record (exit 1)', async () => {
        await admin.query(`SET SESSION sql_log_bin = 0`);
        try {
          await admin.query(`UPDATE ${db}.t SET name = 'sneaky' WHERE id = 3`);
          await admin.query(`DELETE FROM ${db}.t WHERE id = 5`);
          await admin.query(`INSERT INTO ${db}.t VALUES (999, 'ghost', 0)`);
          await admin.query(`INSERT INTO ${db}.nokey VALUES (1, 'p')`);
          await admin.query(`UPDATE ${db}.k SET v = 'quiet' WHERE a = 'ÿ'`);
        } finally {
          await admin.query(`SET SESSION sql_log_bin = 1`);
        }
        // A record nobody's binlog wrote: row 7 with another amount, after the real ones.
        const schema = await readTableSchema(admin, db, 't');
        const at = await binlogEndOf(admin);
        const doctored: RowChangeEvent = {
          kind: 'row', operation: 'UPDATE', table: schema,
          before: [7n, Buffer.from('n7'), '7.25'], after: [7n, Buffer.from('n7'), '7.26'],
          source: { position: at, transactionStart: at, commitTimestamp: Math.floor(Date.now() / 1000), serverId: 1, threadId: 0, gtid: null },
        };
        const [{ broker }] = kafkaBrokers();
        const producer = new Kafka({ clientId: 'it', brokers: [broker!], logLevel: logLevel.NOTHING }).producer();
        await producer.connect();
        await producer.send({ topic, messages: [{ partition: 1, key: '["7"]', value: Buffer.from(encodeEvent(doctored, { id: 99_000_000n, sourceVersion, readerTimestampMs: Date.now() })) }] });
        await producer.disconnect();

        const r = await runVerifyCli(['--config', verifyConfig, '--wait-seconds', '30', '--format', 'json']);
        assert.equal(r.code, 1, r.stderr);
        const report = JSON.parse(r.stdout) as VerifyReport & { differences: number };
        assert.deepEqual(counts(report), {
          t: { sourceRows: 189, topicRows: 189, missing: 1, extra: 1, different: 2 },
          k: { sourceRows: 3, topicRows: 3, missing: 0, extra: 0, different: 1 },
          nokey: { sourceRows: 4, topicRows: 3, missing: 1, extra: 0, different: 0 },
          tr: { sourceRows: 1, topicRows: 1, missing: 0, extra: 0, different: 0 },
        });
        assert.equal(report.differences, 6);
        const t = report.tables.find((x) => x.table === 't')!;
        assert.deepEqual(t.examples.missing, ['key ["999"]: no record of it in the topic']);
        assert.match(t.examples.extra[0]!, /^key \["5"\]: not in the source; last record INSERT at .*\[\d\]@\d+ \(position \d+@\d+\)$/);
        assert.deepEqual(t.examples.different.map((e) => e.replace(/; last record .*/, '')).sort(), ['key ["3"]: name differ', 'key ["7"]: amount differ']);
        assert.ok(t.examples.different.some((e) => /key \["7"\]: amount differ; last record UPDATE at .*\[1\]@\d+/.test(e)), t.examples.different.join('\n'));
        const k = report.tables.find((x) => x.table === 'k')!;
        assert.deepEqual(k.examples.different.map((e) => e.replace(/; last record .*/, '')), ['key ["0xFF","1"]: v differ']);
        assert.deepEqual(report.tables.find((x) => x.table === 'nokey')!.examples.missing, ['1 × row x=1 y=p']);

        // The same in text, and with a bucket budget so small that buckets split.
        const text = await runVerifyCli(['--config', verifyConfig, '--wait-seconds', '30', '--examples', '1']);
        assert.equal(text.code, 1);
        assert.match(text.stdout, new RegExp(`^DIFF ${db}\\.t \\(${topic}, key \\(id\\)\\): source 189 rows, topic 189 rows; 1 missing, 1 extra, 2 different$`, 'm'));
        assert.match(text.stdout, /^ {7}different key \["[37]"\]: (name|amount) differ; last record .*$/m);
        assert.match(text.stdout, /^ {7}different \.\.\. and 1 more$/m);
        assert.match(text.stdout, /^verify: 6 differences$/m);

        const small = await runVerify({ config: loadConfig(verifyConfig), maxBucketBytes: 2048, waitMs: 30_000 });
        assert.deepEqual(counts(small), counts(report));
        assert.equal(differences(small), 6);
        assert.ok(small.buckets > 1 || small.splits > 0, `buckets ${small.buckets}, splits ${small.splits}`);
      });
    });

    describe('verify on Kafka 1.0.2', () => {
      test('a clean sync verifies; edits behind its back do not; a bad config is an error (exit 2)', async () => {
        const db = uniqueName('it_verify10');
        databases.push(db);
        await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(3), f FLOAT, b VARBINARY(8))`);
        const broker = kafkaBrokers().find((k) => k.version === '1.0')!.broker;
        const topic = uniqueName('it_verify10');
        const { configFile } = writeSyncConfig({ broker, objects: [`${db}.t`], defaultTopic: topic, source });
        const sync = await startSync(configFile);
        try {
          await admin.query(`INSERT INTO ${db}.t VALUES (18446744073709551615, '2024-01-02 03:04:05.678', 0.1, x'00ff'), (1, NULL, -2.5, x'')`);
          await admin.query(`UPDATE ${db}.t SET f = 3.3 WHERE id = 1`);
          await readTopic(broker, topic, (m) => m.length >= 3);
          const clean = await runVerifyCli(['--config', configFile]);
          assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr}`);
          assert.match(clean.stdout, /source 2 rows, topic 2 rows; 0 missing, 0 extra, 0 different/);

          await admin.query(`SET SESSION sql_log_bin = 0; UPDATE ${db}.t SET f = 3.31 WHERE id = 1; SET SESSION sql_log_bin = 1`);
          const edited = await runVerifyCli(['--config', configFile]);
          assert.equal(edited.code, 1, edited.stderr);
          assert.match(edited.stdout, /different key \["1"\]: f differ/);
        } finally {
          await sync.stop();
        }

        const bad = fs.readFileSync(configFile, 'utf8').replace(/password: .*/, 'password: wrong_password');
        const badFile = `${configFile}.bad.yaml`;
        fs.writeFileSync(badFile, bad);
        const error = await runVerifyCli(['--config', badFile]);
        assert.equal(error.code, 2);
        assert.match(error.stderr, /error \[SOURCE_UNREACHABLE\]: the source .* refused user dts_sync/);
      });
    });
  });
}
