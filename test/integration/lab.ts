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
  KAFKA39_PORT: number;
  KAFKA39_CONTROLLER_PORT: number;
  KAFKA10_PORT: number;
  ZOOKEEPER10_PORT: number;
}

export function labPorts(): LabPorts {
  const text = readFileSync(`${ROOT}scripts/lab.d/ports.env`, 'utf8');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(\d+)\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out as unknown as LabPorts;
}

export const LAB_SYNC_USER = { user: 'dts_sync', password: 'dts_sync_pw' };
export const LAB_ADMIN_USER = { user: 'lab_admin', password: 'lab_admin_pw' };

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
export async function ensureLab(needs: { kafka: boolean } = { kafka: true }): Promise<void> {
  const p = labPorts();
  const ports = needs.kafka ? [p.MARIADB_PORT, p.KAFKA39_PORT, p.KAFKA10_PORT] : [p.MARIADB_PORT];
  const open = await Promise.all(ports.map(portOpen));
  if (open.every(Boolean)) return;
  const args = needs.kafka ? ['up'] : ['up', '--kafka', 'none'];
  execFileSync('bash', [`${ROOT}scripts/lab`, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** A name no other test run uses: `prefix_1a2b3c4d`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export function adminConnection(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: labPorts().MARIADB_PORT,
    ...LAB_ADMIN_USER,
    database,
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}
