/**
 * What integration tests need of the local lab: its ports, a way to make sure it runs,
 * and unique names so that tests never share a database or a topic.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LabPorts {
  MARIADB_PORT: number;
  MYSQL_PORT: number;
  KAFKA39_PORT: number;
  KAFKA39_CONTROLLER_PORT: number;
  /** Kafka 3.9's SASL_PLAINTEXT listener: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 */
  KAFKA39_SASL_PORT: number;
  /** Kafka 3.9's SSL listener */
  KAFKA39_SSL_PORT: number;
  KAFKA10_PORT: number;
  ZOOKEEPER10_PORT: number;
}

/** The ports of ports.env; `LAB_<NAME>` in the environment overrides one, as in scripts/lab.d/common.sh (a second lab). */
export function labPorts(): LabPorts {
  const text = readFileSync(`${ROOT}scripts/lab.d/ports.env`, 'utf8');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(\d+)\s*$/.exec(line);
    if (m) out[m[1]!] = Number(process.env[`LAB_${m[1]}`] || m[2]);
  }
  return out as unknown as LabPorts;
}

/** The lab's folder (data, logs, generated certificates): `.lab`, or LAB_DIR as scripts/lab takes it. */
export function labDir(): string {
  return process.env.LAB_DIR || `${ROOT}.lab`;
}

/** Kafka 3.9's authenticated listeners and their account (scripts/lab.d/kafka.sh). */
export function kafkaAuthLab(): { saslBroker: string; sslBroker: string; user: string; password: string; caFile: string } {
  const p = labPorts();
  return {
    saslBroker: `127.0.0.1:${p.KAFKA39_SASL_PORT}`,
    sslBroker: `127.0.0.1:${p.KAFKA39_SSL_PORT}`,
    user: 'lab_sasl',
    password: 'lab_sasl_pw',
    caFile: `${labDir()}/kafka-3.9/tls/ca.pem`,
  };
}

export const LAB_SYNC_USER = { user: 'dts_sync', password: 'dts_sync_pw' };
export const LAB_ADMIN_USER = { user: 'lab_admin', password: 'lab_admin_pw' };

export type SourceKind = 'mariadb' | 'mysql';

/** One source server of the lab. Every test that touches the source runs against each. */
export interface LabSource {
  readonly kind: SourceKind;
  /** for test names: `MariaDB 10.11`, `MySQL 9.7` */
  readonly label: string;
  readonly port: number;
  /** the CA that signed the server's TLS certificate (scripts/lab.d/common.sh, source_tls) */
  readonly caFile: string;
}

/**
 * What the lab grants dts_sync on each kind of source (scripts/lab.d/mariadb.sh, mysql.sh): the
 * binlog (REPLICATION SLAVE), its status (BINLOG MONITOR, MariaDB's name for REPLICATION
 * CLIENT), rows and schemas (SELECT), and on MySQL the lock-free consistent position (BACKUP_ADMIN).
 */
export const SYNC_GRANTS: Record<SourceKind, string> = {
  mariadb: 'SELECT, REPLICATION SLAVE, BINLOG MONITOR',
  mysql: 'SELECT, REPLICATION SLAVE, REPLICATION CLIENT, BACKUP_ADMIN',
};

/** The lab's sources: MariaDB 10.11 and MySQL 9.7 (scripts/lab.d/mariadb.sh, mysql.sh). */
export function labSources(): LabSource[] {
  const p = labPorts();
  return [
    { kind: 'mariadb', label: 'MariaDB 10.11', port: p.MARIADB_PORT, caFile: `${labDir()}/mariadb/tls/ca.pem` },
    { kind: 'mysql', label: 'MySQL 9.7', port: p.MYSQL_PORT, caFile: `${labDir()}/mysql/tls/ca.pem` },
  ];
}

/** Kafka brokers of the lab, by the version label tests use in their names. */
export function kafkaBrokers(): { version: '3.9' | '1.0'; broker: string }[] {
  const p = labPorts();
  return [
    { version: '3.9', broker: `127.0.0.1:${p.KAFKA39_PORT}` },
    { version: '1.0', broker: `127.0.0.1:${p.KAFKA10_PORT}` },
  ];
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts the lab when a server the test needs does not answer. `scripts/lab up` is
 * harmless when things already run, and the test runner (scripts/run-tests.mjs) stops
 * what it started; a test never skips for a missing server: if the lab cannot start, it
 * throws.
 */
export async function ensureLab(needs: { kafka: boolean; kafkaAuth?: boolean } = { kafka: true }): Promise<void> {
  const p = labPorts();
  const ports = needs.kafka ? [p.MARIADB_PORT, p.MYSQL_PORT, p.KAFKA39_PORT, p.KAFKA10_PORT] : [p.MARIADB_PORT, p.MYSQL_PORT];
  const open = await Promise.all(ports.map(portOpen));
  if (!open.every(Boolean)) {
    const args = needs.kafka ? ['up'] : ['up', '--kafka', 'none'];
    execFileSync('bash', [`${ROOT}scripts/lab`, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (needs.kafkaAuth && !(await portOpen(p.KAFKA39_SASL_PORT) && await portOpen(p.KAFKA39_SSL_PORT))) {
    // A Kafka 3.9 started by a lab from before these listeners: restarting it here would pull
    // it from under whoever else uses it, so say what to do instead.
    throw new Error(
      `the lab's Kafka 3.9 has no SASL listener on ${p.KAFKA39_SASL_PORT} or no SSL listener on ${p.KAFKA39_SSL_PORT}: ` +
        'it was started before they were added; restart it: bash scripts/lab down --kafka 3.9 && bash scripts/lab up --kafka 3.9',
    );
  }
}

/** A name no other test run uses: `prefix_1a2b3c4d`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** lab_admin on `source`, for setting up tables and workloads. */
export function adminConnection(database: string | undefined, source: LabSource): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: source.port,
    ...LAB_ADMIN_USER,
    database,
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}
