/**
 * Authentication to Kafka against the lab's real Kafka 3.9 (issue "Operations"): its
 * SASL_PLAINTEXT listener with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and its SSL listener
 * (a throwaway CA, scripts/lab.d/kafka.sh). Each syncs end to end: rows written to the
 * source arrive as records. A wrong password or an untrusted certificate stops the start
 * with a clear error and exit code 2, at once (no retries). No password of the runs ever
 * shows in their output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaAuthLab, LAB_SYNC_USER, labPorts, labSources, uniqueName } from './lab.ts';
import { writeOpsConfig } from './ops-harness.ts';
import { image, readTopic, runSyncToExit, startSync } from './sync-harness.ts';

const auth = kafkaAuthLab();
const PLAINTEXT = `127.0.0.1:${labPorts().KAFKA39_PORT}`;
const WRONG_PASSWORD = 'not-the-pw-7f3a9c';

before(async () => {
  await ensureLab({ kafka: true, kafkaAuth: true });
});

// Kafka's authentication is the point here; the rows come from each source all the same.
for (const source of labSources()) {
  describe(`Kafka authentication, syncing from ${source.label}`, () => {
    let admin: mysql.Connection;
    const databases: string[] = [];
    /** Everything every run printed, for the password check at the end. */
    const outputs: string[] = [];

    before(async () => {
      admin = await adminConnection(undefined, source);
    });

    after(async () => {
      for (const db of databases) await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    async function freshTable(): Promise<string> {
      const db = uniqueName('it_auth');
      databases.push(db);
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
      return db;
    }

    /** Syncs one table through `broker` with `kafka` options, and checks that three rows arrive. */
    async function syncThrough(broker: string, kafka: Record<string, unknown>): Promise<void> {
      const db = await freshTable();
      const topic = uniqueName('it_auth');
      const { configFile } = writeOpsConfig({ broker, objects: [`${db}.t`], defaultTopic: topic, source }, (doc) => Object.assign(doc.kafka, kafka));
      const sync = await startSync(configFile);
      try {
        await admin.query(`INSERT INTO ${db}.t VALUES (1, 'a'), (2, 'b')`);
        await admin.query(`UPDATE ${db}.t SET v = 'c' WHERE id = 2`);
        const records = await readTopic(PLAINTEXT, topic, (m) => m.length >= 3);
        assert.deepEqual(records.map((m) => [m.record.operation, image(m.record).id, image(m.record).v]), [
          ['INSERT', '1', 'a'], ['INSERT', '2', 'b'], ['UPDATE', '2', 'c'],
        ]);
      } finally {
        const code = await sync.stop();
        outputs.push(sync.output());
        assert.equal(code, 0, sync.output());
      }
      // What every start logs: the configuration (secrets masked), the precheck result, where it starts.
      const lines = sync.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; config?: { kafka: { sasl?: { password: string } } } });
      const config = lines.find((l) => l.msg === 'configuration')?.config;
      assert.ok(config, 'the configuration is logged');
      if (kafka.sasl) assert.equal(config.kafka.sasl?.password, '***');
      assert.ok(lines.some((l) => /^precheck passed: \d+ checks/.test(l.msg)), 'the precheck result is logged');
      assert.ok(lines.some((l) => l.msg === 'starting binlog stream'), 'the start position is logged');
    }

    describe('SASL on the SASL_PLAINTEXT listener', () => {
      for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
        test(`${mechanism}: sync end to end, records arrive`, async () => {
          await syncThrough(auth.saslBroker, { sasl: { mechanism, username: auth.user, password: auth.password } });
        });
      }

      for (const mechanism of ['scram-sha-256', 'plain'] as const) {
        test(`${mechanism} with a wrong password: a clear error, exit 2, no retries`, async () => {
          const db = await freshTable();
          const { configFile } = writeOpsConfig({ broker: auth.saslBroker, objects: [`${db}.t`], defaultTopic: uniqueName('it_auth'), source }, (doc) => {
            doc.kafka.sasl = { mechanism, username: auth.user, password: WRONG_PASSWORD };
          });
          const began = Date.now();
          const { code, output } = await runSyncToExit(['--config', configFile]);
          const seconds = (Date.now() - began) / 1000;
          outputs.push(output);
          assert.equal(code, 2, output);
          assert.match(output, /error \[PRECHECK_FAILED\]: .*kafka_connection: .*refused SASL .*authentication as lab_sasl/s);
          assert.match(output, /check kafka\.sasl\.username, kafka\.sasl\.password and kafka\.sasl\.mechanism/);
          assert.doesNotMatch(output, /sync interrupted; resuming/, 'a refused login is not retried');
          assert.ok(seconds < 20, `it took ${seconds.toFixed(1)} s to give up`);
        });
      }

    });

    describe('TLS on the SSL listener', () => {
      test('trusting the lab CA: sync end to end, records arrive', async () => {
        await syncThrough(auth.sslBroker, { tls: { enabled: true, ca: auth.caFile } });
      });

      test('without the CA (system CAs only): a clear error naming the certificate, exit 2', async () => {
        const db = await freshTable();
        const { configFile } = writeOpsConfig({ broker: auth.sslBroker, objects: [`${db}.t`], defaultTopic: uniqueName('it_auth'), source }, (doc) => {
          doc.kafka.tls = { enabled: true };
        });
        const { code, output } = await runSyncToExit(['--config', configFile]);
        outputs.push(output);
        assert.equal(code, 2, output);
        assert.match(output, /kafka_connection: .*self-signed certificate/s);
      });
    });

    test('no password of these runs (SASL, wrong SASL, the source) appears in their output', () => {
      assert.ok(outputs.length >= 6, `only ${outputs.length} runs recorded`);
      const all = outputs.join('\n');
      assert.match(all, /"password":"\*\*\*"/, 'the configuration line shows masked passwords');
      for (const secret of [auth.password, WRONG_PASSWORD, LAB_SYNC_USER.password]) {
        assert.ok(!all.includes(secret), `the output holds the password ${secret}`);
      }
    });
  });
}
