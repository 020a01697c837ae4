/**
 * TLS to the source (issue "Operations"): the synchronizer's ordinary connections and its
 * binlog connection both use source.tls. Against a real MariaDB with TLS: the lab's, when
 * it runs with TLS (scripts/lab.d/mariadb.sh turns it on at start), else a throwaway one
 * this test starts with the same script in a folder and on a port of its own, and stops.
 * Accounts that REQUIRE SSL and REQUIRE X509 (mutual TLS) sync end to end; without TLS, or
 * without trusting the CA, the start stops at once with a clear error and exit code 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { ensureLab, LAB_ADMIN_USER, labDir, labPorts, uniqueName } from './lab.ts';
import { freePort, writeOpsConfig } from './ops-harness.ts';
import { image, readTopic, runSyncToExit, startSync } from './sync-harness.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BROKER = `127.0.0.1:${labPorts().KAFKA39_PORT}`;
const TLS_PASSWORD = 'tls-user-pw-5d1e';

interface TlsSource {
  readonly port: number;
  /** the folder with ca.pem, client.pem and client.key */
  readonly tlsDir: string;
  readonly throwaway: boolean;
  stop(): Promise<void>;
}

let source: TlsSource;
let admin: mysql.Connection;
const db = uniqueName('it_tls');
const users = [uniqueName('tls_ssl'), uniqueName('tls_x509')];
const outputs: string[] = [];

async function adminOn(port: number): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port, ...LAB_ADMIN_USER, multipleStatements: true });
}

/** The lab's MariaDB when it has TLS on; otherwise a throwaway one made by scripts/lab itself. */
async function tlsSource(): Promise<TlsSource> {
  const lab = await adminOn(labPorts().MARIADB_PORT);
  try {
    const [rows] = await lab.query<mysql.RowDataPacket[]>('SELECT @@have_ssl AS s');
    if (rows[0]?.s === 'YES') {
      return { port: labPorts().MARIADB_PORT, tlsDir: `${labDir()}/mariadb/tls`, throwaway: false, stop: async () => {} };
    }
  } finally {
    await lab.end();
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'it-tls-mariadb-'));
  const port = await freePort();
  const env = { ...process.env, LAB_DIR: dir, LAB_MARIADB_PORT: String(port) };
  const lab2 = (cmd: string) => execFileAsync('bash', [`${ROOT}scripts/lab`, cmd, '--kafka', 'none'], { cwd: ROOT, env, maxBuffer: 16 << 20 });
  const stop = async () => {
    // `down` without --kafka also stops that lab's MariaDB (and no broker: it started none).
    await execFileAsync('bash', [`${ROOT}scripts/lab`, 'down'], { cwd: ROOT, env }).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stderr } = await lab2('up');
    assert.match(stderr, /TLS on/, stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, tlsDir: `${dir}/mariadb/tls`, throwaway: true, stop };
}

before(async () => {
  await ensureLab({ kafka: true });
  source = await tlsSource();
  console.log(`TLS source: ${source.throwaway ? 'a throwaway MariaDB' : "the lab's MariaDB"} on port ${source.port}`);
  admin = await adminOn(source.port);
  const grants = 'SELECT, REPLICATION SLAVE, BINLOG MONITOR';
  await admin.query(`
    CREATE DATABASE ${db};
    CREATE TABLE ${db}.t (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE USER '${users[0]}'@'127.0.0.1' IDENTIFIED BY '${TLS_PASSWORD}' REQUIRE SSL;
    CREATE USER '${users[1]}'@'127.0.0.1' IDENTIFIED BY '${TLS_PASSWORD}' REQUIRE X509;
    GRANT ${grants} ON *.* TO '${users[0]}'@'127.0.0.1', '${users[1]}'@'127.0.0.1';`);
});

after(async () => {
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${db}; DROP USER IF EXISTS '${users[0]}'@'127.0.0.1', '${users[1]}'@'127.0.0.1'`).catch(() => {});
    await admin.end().catch(() => {});
  }
  await source?.stop();
});

function config(user: string, tls: Record<string, unknown> | null, topic: string) {
  return writeOpsConfig({ broker: BROKER, objects: [`${db}.t`], defaultTopic: topic }, (doc) => {
    doc.source = { ...doc.source, port: source.port, user, password: TLS_PASSWORD, ...(tls ? { tls } : {}) };
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
    await syncsOver(users[0]!, { enabled: true, ca: `${source.tlsDir}/ca.pem` });
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
    await syncsOver(users[1]!, { enabled: true, ca: `${source.tlsDir}/ca.pem`, cert: `${source.tlsDir}/client.pem`, key: `${source.tlsDir}/client.key` });
  });

  test('without a client certificate: refused, exit 2', async () => {
    await refused(users[1]!, { enabled: true, ca: `${source.tlsDir}/ca.pem` }, /error \[PRECHECK_FAILED\]: .*source_connection: .*refused user/s);
  });
});

test('the TLS users\' password appears in no output', () => {
  assert.equal(outputs.length, 5);
  for (const o of outputs) assert.ok(!o.includes(TLS_PASSWORD), o);
});
