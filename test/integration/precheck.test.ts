/**
 * The precheck as a user runs it (`sync --config X --precheck`) against the lab: every check
 * listed, the exit code, tables without a usable key, a user without REPLICATION SLAVE, a
 * wrong password, missing topics, Kafka 1.0.2's version range, and that it is quick and
 * creates no topic (not even on Kafka 1.0.2, whose brokers auto-create a topic they are
 * asked metadata about).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { KAFKA_CHECKS } from '../../src/precheck/kafka-checks.ts';
import { SOURCE_CHECKS } from '../../src/precheck/source-checks.ts';
import { adminConnection, ensureLab, kafkaBrokers, labSources, SYNC_GRANTS, uniqueName } from './lab.ts';
import { runSyncToExit, writeSyncConfig } from './sync-harness.ts';

const kafka39 = kafkaBrokers().find((k) => k.version === '3.9')!;
const kafka10 = kafkaBrokers().find((k) => k.version === '1.0')!;
const ALL_CHECKS = [...SOURCE_CHECKS, ...KAFKA_CHECKS];

interface PrecheckConfig {
  readonly objects: readonly string[];
  readonly topic: string;
  readonly broker?: string;
  readonly createTopics?: boolean;
  readonly user?: string;
  readonly password?: string;
}

/** The report line of a check: [status, the rest of the line]. */
function line(output: string, check: string): [string, string] {
  const m = new RegExp(`^(PASS|WARN|FAIL|SKIP)  ${check} +(.*)$`, 'm').exec(output);
  assert.ok(m, `no line for ${check} in:\n${output}`);
  return [m[1]!, m[2]!];
}

/** The fix printed under a check's line. */
function fixOf(output: string, check: string): string {
  const m = new RegExp(`^(?:FAIL|WARN)  ${check} .*\\n +fix: (.*)$`, 'm').exec(output);
  assert.ok(m, `no fix for ${check} in:\n${output}`);
  return m[1]!;
}

async function withKafka<T>(broker: string, fn: (a: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const a = new Kafka({ clientId: 'it-precheck', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
  await a.connect();
  try {
    return await fn(a);
  } finally {
    await a.disconnect();
  }
}

before(async () => {
  await ensureLab();
});

for (const source of labSources()) {
  describe(`precheck on ${source.label}`, () => {
    /** the privilege for SHOW BINARY LOG STATUS / SHOW BINARY LOGS: MariaDB's name, or MySQL's */
    const statusPrivilege = source.kind === 'mysql' ? 'REPLICATION CLIENT' : 'BINLOG MONITOR';
    let admin: mysql.Connection;
    let db: string;
    let emptyDb: string;
    let existingTopic: string;
    const users: string[] = [];
    const dirs: string[] = [];

    function writeConfig(c: PrecheckConfig): string {
      const { configFile, dir } = writeSyncConfig({
        source, broker: c.broker ?? kafka39.broker, objects: c.objects, defaultTopic: c.topic,
        createTopics: c.createTopics ?? false, user: c.user, password: c.password, serverId: 52000 + Math.floor(Math.random() * 1000),
      });
      dirs.push(dir);
      return configFile;
    }

    /** Runs the precheck; gives the exit code, the output and how long it took. */
    async function precheck(c: PrecheckConfig): Promise<{ code: number | null; output: string; ms: number }> {
      const configFile = writeConfig(c);
      const began = Date.now();
      const { code, output } = await runSyncToExit(['--config', configFile, '--precheck']);
      return { code, output, ms: Date.now() - began };
    }

    before(async () => {
      admin = await adminConnection(undefined, source);
      db = uniqueName('it_pre');
      emptyDb = uniqueName('it_pre_empty');
      await admin.query(`CREATE DATABASE ${db}; CREATE DATABASE ${emptyDb}`);
      await admin.query(`
        CREATE TABLE ${db}.with_pk (id INT PRIMARY KEY, v VARCHAR(10));
        CREATE TABLE ${db}.no_key (a INT, b INT);
        CREATE TABLE ${db}.uk_not_null (a INT NOT NULL, b INT, UNIQUE KEY uk_a (a));
        CREATE TABLE ${db}.uk_nullable (a INT NULL, b INT, UNIQUE KEY uk_a (a));`);
      existingTopic = uniqueName('it_pre_topic');
      await withKafka(kafka39.broker, (a) => a.createTopics({ topics: [{ topic: existingTopic, numPartitions: 2 }], waitForLeaders: true }));
    });

    after(async () => {
      for (const u of users) await admin?.query(`DROP USER IF EXISTS ${u}`);
      await admin?.query(`DROP DATABASE IF EXISTS ${db}; DROP DATABASE IF EXISTS ${emptyDb}`);
      await admin?.end();
      await withKafka(kafka39.broker, (a) => a.deleteTopics({ topics: [existingTopic] })).catch(() => {});
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    test('a table with a primary key and an existing topic: every check passes, exit 0, in a few seconds', async () => {
      const { code, output, ms } = await precheck({ objects: [`${db}.with_pk`], topic: existingTopic });
      assert.equal(code, 0, output);
      for (const check of ALL_CHECKS) assert.equal(line(output, check)[0], 'PASS', `${check}:\n${output}`);
      assert.match(line(output, 'source_connection')[1], source.kind === 'mysql' ? /^MySQL 9\.7\.\d+ .*as dts_sync@/ : /^MariaDB 10\.11\.\d+ .*as dts_sync@/);
      assert.match(line(output, 'privileges')[1], new RegExp(`REPLICATION SLAVE, ${statusPrivilege}, SELECT on \\*\\.\\*`));
      assert.match(line(output, 'tables')[1], new RegExp(`1 table: ${db}\\.with_pk`));
      assert.match(line(output, 'kafka_version')[1], /^Kafka 3\.8-3\.9 /);
      assert.match(line(output, 'topics')[1], new RegExp(`${existingTopic} \\(2 partitions\\) exists`));
      assert.match(output, /^precheck passed: 18 checks/m);
      assert.ok(ms < 10_000, `took ${ms} ms`);
    });

    test('a table without a primary key or NOT NULL unique key fails, named, exit 1', async () => {
      const { code, output } = await precheck({ objects: [`${db}.with_pk`, `${db}.no_key`], topic: existingTopic });
      assert.equal(code, 1, output);
      const [status, detail] = line(output, 'primary_keys');
      assert.equal(status, 'FAIL');
      assert.match(detail, new RegExp(`${db}\\.no_key has neither a primary key nor a NOT NULL unique key`));
      assert.doesNotMatch(detail, /with_pk/);
      assert.match(detail, /duplicates/);
      assert.match(fixOf(output, 'primary_keys'), /add a primary key.*remove the table from objects/);
      assert.match(output, /^precheck FAILED: 1 of 18 checks failed \(primary_keys\)/m);
    });

    test('a NOT NULL unique key is enough; a nullable one is not', async () => {
      const notNull = await precheck({ objects: [`${db}.uk_not_null`], topic: existingTopic });
      assert.equal(notNull.code, 0, notNull.output);
      assert.match(line(notNull.output, 'primary_keys')[1], /uk_not_null by uk_a/);

      const nullable = await precheck({ objects: [`${db}.uk_nullable`], topic: existingTopic });
      assert.equal(nullable.code, 1, nullable.output);
      const [status, detail] = line(nullable.output, 'primary_keys');
      assert.equal(status, 'FAIL');
      assert.match(detail, new RegExp(`${db}\\.uk_nullable \\(its unique keys allow NULL\\)`));
    });

    test('db.* over a database without tables fails, naming the database', async () => {
      const { code, output } = await precheck({ objects: [`${emptyDb}.*`], topic: existingTopic });
      assert.equal(code, 1, output);
      const [status, detail] = line(output, 'tables');
      assert.equal(status, 'FAIL');
      assert.match(detail, new RegExp(`${emptyDb}\\.\\* selects no table \\(database ${emptyDb} `));
      assert.equal(line(output, 'primary_keys')[0], 'SKIP');
    });

    test('a user without REPLICATION SLAVE fails the privileges check with the GRANT to run', async () => {
      const name = uniqueName('it_pre_u');
      const account = `'${name}'@'127.0.0.1'`;
      users.push(account);
      // Everything the lab's dts_sync has but REPLICATION SLAVE.
      const grants = SYNC_GRANTS[source.kind].replace('REPLICATION SLAVE, ', '');
      await admin.query(`CREATE USER ${account} IDENTIFIED BY 'pw_${name}'; GRANT ${grants} ON *.* TO ${account}`);
      const { code, output } = await precheck({ objects: [`${db}.with_pk`], topic: existingTopic, user: name, password: `pw_${name}` });
      assert.equal(code, 1, output);
      const [status, detail] = line(output, 'privileges');
      assert.equal(status, 'FAIL');
      assert.match(detail, /lacks REPLICATION SLAVE \(to read the binlog\)/);
      assert.doesNotMatch(detail, new RegExp(`${statusPrivilege} \\(`));
      assert.equal(fixOf(output, 'privileges'), `as an administrator run: GRANT REPLICATION SLAVE ON *.* TO ${account};`);
      assert.equal(line(output, 'binlog_format')[0], 'PASS');
    });

    test('a wrong password fails the connection with the fix, never printing the password', async () => {
      const password = 'Wr0ng-Secret-pw';
      const { code, output } = await precheck({ objects: [`${db}.with_pk`], topic: existingTopic, password });
      assert.equal(code, 1, output);
      const [status, detail] = line(output, 'source_connection');
      assert.equal(status, 'FAIL');
      assert.match(detail, /refused user dts_sync/);
      assert.match(fixOf(output, 'source_connection'), /check source\.user and source\.password/);
      assert.ok(!output.includes(password), output);
      assert.equal(line(output, 'binlog_format')[0], 'SKIP');
      assert.equal(line(output, 'kafka_connection')[0], 'PASS', 'Kafka is checked all the same');
    });

    test('a missing topic fails with createTopics off, passes as "will be created" with it on, and is never created', async () => {
      const topic = uniqueName('it_pre_missing');
      const off = await precheck({ objects: [`${db}.with_pk`], topic });
      assert.equal(off.code, 1, off.output);
      const [status, detail] = line(off.output, 'topics');
      assert.equal(status, 'FAIL');
      assert.match(detail, new RegExp(`${topic} does not exist, and kafka\\.createTopics is off`));
      assert.match(fixOf(off.output, 'topics'), new RegExp(`--create --topic ${topic} .*or set kafka\\.createTopics: true`));

      const on = await precheck({ objects: [`${db}.with_pk`], topic, createTopics: true });
      assert.equal(on.code, 0, on.output);
      assert.match(line(on.output, 'topics')[1], new RegExp(`${topic} will be created \\(kafka\\.createTopics is on`));
      assert.ok(on.ms < 10_000, `took ${on.ms} ms`);
      const topics = await withKafka(kafka39.broker, (a) => a.listTopics());
      assert.ok(!topics.includes(topic), 'the precheck created the topic');
    });

    test('Kafka 1.0.2: its version range passes, and no topic is created there either', async () => {
      const topic = uniqueName('it_pre_k10');
      const { code, output, ms } = await precheck({ objects: [`${db}.with_pk`], topic, broker: kafka10.broker, createTopics: true });
      assert.equal(code, 0, output);
      const [status, detail] = line(output, 'kafka_version');
      assert.equal(status, 'PASS');
      assert.match(detail, /^Kafka 1\.0 \(Produce v5, \d+ APIs\); 0\.10\.1 or newer is supported/);
      assert.ok(ms < 10_000, `took ${ms} ms`);
      const topics = await withKafka(kafka10.broker, (a) => a.listTopics());
      assert.ok(!topics.includes(topic), 'the precheck created the topic');
    });

    test('a bad config still exits 2 with its message', async () => {
      const configFile = writeConfig({ objects: ['no_dot'], topic: existingTopic });
      const { code, output } = await runSyncToExit(['--config', configFile, '--precheck']);
      assert.equal(code, 2, output);
      assert.match(output, /error \[CONFIG_INVALID\]/);
    });
  });
}
