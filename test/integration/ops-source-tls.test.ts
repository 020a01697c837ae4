/**
 * TLS to the source (issue "Operations"), on each lab source: the synchronizer's ordinary
 * connections and its binlog connection both use source.tls. Against the lab's server, which
 * runs with TLS (scripts/lab.d/common.sh, source_tls), or, when the lab's runs without (no
 * openssl at its start), a throwaway one made by the same script (throwaway-source.ts), which
 * this test stops. Accounts that REQUIRE SSL and REQUIRE X509 (mutual TLS) sync end to end;
 * without TLS, or without trusting the CA, the start stops at once with a clear error and
 * exit code 2.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, type LabSource, labPorts, labSources, SYNC_GRANTS, uniqueName } from './lab.ts';
import { writeOpsConfig } from './ops-harness.ts';
import { image, readTopic, runSyncToExit, startSync } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const BROKER = `127.0.0.1:${labPorts().KAFKA39_PORT}`;
const TLS_PASSWORD = 'tls-user-pw-5d1e';

before(async () => {
  await ensureLab({ kafka: true });
});

/** The lab's server when it has TLS on; otherwise a throwaway one with TLS. */
async function tlsSource(labSource: LabSource): Promise<{ source: LabSource; throwaway: ThrowawaySource | null }> {
  const lab = await adminConnection(undefined, labSource);
  try {
    const [rows] = await lab.query<mysql.RowDataPacket[]>('SELECT @@ssl_ca AS ca');
    if (rows[0]?.ca) return { source: labSource, throwaway: null };
  } finally {
    await lab.end();
  }
  const throwaway = await startThrowawaySource(labSource);
  return { source: throwaway.source, throwaway };
}

for (const labSource of labSources()) {
  describe(`source TLS on ${labSource.label}`, () => {
    let source: LabSource;
    let throwaway: ThrowawaySource | null = null;
    let tlsDir = '';
    let admin: mysql.Connection;
    const db = uniqueName('it_tls');
    const users = [uniqueName('tls_ssl'), uniqueName('tls_x509')];
    const outputs: string[] = [];

    before(async () => {
      ({ source, throwaway } = await tlsSource(labSource));
      tlsDir = path.dirname(source.caFile);
      console.log(`TLS source: ${throwaway ? 'a throwaway' : "the lab's"} ${labSource.label} on port ${source.port}`);
      admin = await adminConnection(undefined, source);
      await admin.query(`
        CREATE DATABASE ${db};
        CREATE TABLE ${db}.t (id INT PRIMARY KEY, v VARCHAR(20));
        CREATE USER '${users[0]}'@'127.0.0.1' IDENTIFIED BY '${TLS_PASSWORD}' REQUIRE SSL;
        CREATE USER '${users[1]}'@'127.0.0.1' IDENTIFIED BY '${TLS_PASSWORD}' REQUIRE X509;
        GRANT ${SYNC_GRANTS[source.kind]} ON *.* TO '${users[0]}'@'127.0.0.1', '${users[1]}'@'127.0.0.1';`);
    });

    after(async () => {
      if (admin) {
        await admin.query(`DROP DATABASE IF EXISTS ${db}; DROP USER IF EXISTS '${users[0]}'@'127.0.0.1', '${users[1]}'@'127.0.0.1'`).catch(() => {});
        await admin.end().catch(() => {});
      }
      await throwaway?.destroy();
    });

    function config(user: string, tls: Record<string, unknown> | null, topic: string) {
      return writeOpsConfig({ broker: BROKER, objects: [`${db}.t`], defaultTopic: topic, source, user, password: TLS_PASSWORD }, (doc) => {
        if (tls) doc.source = { ...doc.source, tls };
      }).configFile;
    }

    let nextId = 1;
    async function syncsOver(user: string, tls: Record<string, unknown>): Promise<void> {
      const topic = uniqueName('it_tls');
      const sync = await startSync(config(user, tls, topic));
      try {
        const id = nextId++;
        await admin.query(`INSERT INTO ${db}.t VALUES (?, 'x')`, [id]);
        await admin.query(`UPDATE ${db}.t SET v = 'y' WHERE id = ?`, [id]);
        const records = await readTopic(BROKER, topic, (m) => m.length >= 2);
        assert.deepEqual(records.map((m) => [m.record.operation, image(m.record).id, image(m.record).v]), [['INSERT', String(id), 'x'], ['UPDATE', String(id), 'y']]);
      } finally {
        const code = await sync.stop();
        outputs.push(sync.output());
        assert.equal(code, 0, sync.output());
      }
    }

    async function refused(user: string, tls: Record<string, unknown> | null, expected: RegExp): Promise<void> {
      const began = Date.now();
      const { code, output } = await runSyncToExit(['--config', config(user, tls, uniqueName('it_tls'))]);
      outputs.push(output);
      assert.equal(code, 2, output);
      assert.match(output, expected);
      assert.doesNotMatch(output, /sync interrupted; resuming/);
      assert.ok(Date.now() - began < 20_000, 'gave up at once');
    }

    describe('a user that REQUIRE SSL', () => {
      test('with source.tls and the CA: syncs end to end (the binlog connection too)', async () => {
        await syncsOver(users[0]!, { enabled: true, ca: `${tlsDir}/ca.pem` });
      });

      test('without TLS: refused, exit 2', async () => {
        await refused(users[0]!, null, /error \[PRECHECK_FAILED\]: .*source_connection: .*refused user/s);
      });

      test('with TLS but without the CA (system CAs only): a clear certificate error, exit 2, not retried', async () => {
        await refused(users[0]!, { enabled: true }, /source_connection: TLS to 127\.0\.0\.1:\d+ failed .*self-signed certificate.*fix: set source\.tls\.ca/s);
      });
    });

    describe('a user that REQUIRE X509 (mutual TLS)', () => {
      test('with the client certificate and key: syncs end to end', async () => {
        await syncsOver(users[1]!, { enabled: true, ca: `${tlsDir}/ca.pem`, cert: `${tlsDir}/client.pem`, key: `${tlsDir}/client.key` });
      });

      test('without a client certificate: refused, exit 2', async () => {
        await refused(users[1]!, { enabled: true, ca: `${tlsDir}/ca.pem` }, /error \[PRECHECK_FAILED\]: .*source_connection: .*refused user/s);
      });
    });

    test('the TLS users\' password appears in no output', () => {
      assert.equal(outputs.length, 5);
      for (const o of outputs) assert.ok(!o.includes(TLS_PASSWORD), o);
    });
  });
}
