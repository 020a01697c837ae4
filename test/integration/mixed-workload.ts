/**
 * The mixed workload and the end-of-run check shared by the crash and outage tests: a
 * seeded mix of multi-row INSERTs, UPDATEs and DELETEs on two tables, and the comparison
 * of the last record per key in Kafka with the source.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import kafkajs from 'kafkajs';
import type mysql from 'mysql2/promise';
import { binlogStatus } from '../../src/source/source-inspector.ts';
import { adminConnection, type LabSource, uniqueName } from './lab.ts';
import { image, readTopic, type TopicMessage } from './sync-harness.ts';

const { Kafka, logLevel } = kafkajs;

export const B_BASE = 10_000_000_000n;

/** The workload's tables a and b, in a database that exists. */
export async function createWorkloadTables(admin: mysql.Connection, db: string): Promise<void> {
  await admin.query(`CREATE TABLE \`${db}\`.a (id INT PRIMARY KEY, v INT, s VARCHAR(40), d DECIMAL(12,2))`);
  await admin.query(`CREATE TABLE \`${db}\`.b (id BIGINT PRIMARY KEY, n VARCHAR(20), t DATETIME(3))`);
}

/**
 * A fresh database on `source` with the workload's tables a and b (dropped by the caller),
 * and a connection that uses it. `admin` is a lab_admin connection to that source.
 */
export async function createWorkloadDatabase(admin: mysql.Connection, source: LabSource, prefix: string): Promise<{ db: string; conn: mysql.Connection }> {
  const db = uniqueName(prefix);
  await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  await createWorkloadTables(admin, db);
  return { db, conn: await adminConnection(db, source) };
}

export class Workload {
  changes = 0;
  inserts = 0;
  updates = 0;
  deletes = 0;
  transactions = 0;
  private readonly conn: mysql.Connection;
  private readonly rng: () => number;
  private statement = 0;
  private readonly live = { a: new KeySet(), b: new KeySet() };
  private readonly deleted = { a: new KeySet(), b: new KeySet() };
  private readonly nextId = { a: 1, b: 1 };

  constructor(conn: mysql.Connection, rng: () => number) {
    this.conn = conn;
    this.rng = rng;
  }

  /** Keys deleted and not inserted again, as `table\0id`. */
  deletedKeys(): Set<string> {
    const out = new Set<string>();
    for (const t of ['a', 'b'] as const) for (const id of this.deleted[t].values()) out.add(`${t}\0${keyText(t, id)}`);
    return out;
  }

  /** Inserts `n` rows into `table` before the workload (not counted as changes), 5,000 a statement. */
  async prefill(table: 'a' | 'b', n: number): Promise<void> {
    const cols = table === 'a' ? '(id, v, s, d)' : '(id, n, t)';
    for (let done = 0; done < n;) {
      const ids = Array.from({ length: Math.min(5_000, n - done) }, () => this.nextId[table]++);
      await this.conn.query(`INSERT INTO ${table} ${cols} VALUES ?`, [ids.map((id) => (table === 'a' ? this.aRow(id) : this.bRow(id)))]);
      for (const id of ids) this.live[table].add(id);
      done += ids.length;
    }
  }

  /** Runs transactions until `total` row changes, at about `rate` changes per second. `gate` may hold it. */
  async run(total: number, rate: number, gate?: (changes: number) => Promise<void>): Promise<void> {
    const start = Date.now();
    while (this.changes < total) {
      await gate?.(this.changes);
      await this.transaction(Math.min(total - this.changes, this.transactionSize()));
      const ahead = (this.changes / rate) * 1000 - (Date.now() - start);
      if (ahead > 0) await sleep(ahead);
    }
  }

  /** 1 to ~500 rows: mostly small, some large. */
  private transactionSize(): number {
    const r = this.rng();
    if (r < 0.4) return 1 + Math.floor(this.rng() * 10);
    if (r < 0.8) return 10 + Math.floor(this.rng() * 90);
    return 100 + Math.floor(this.rng() * 401);
  }

  private async transaction(size: number): Promise<void> {
    await this.conn.query('BEGIN');
    let done = 0;
    while (done < size) {
      const table = this.rng() < 0.55 ? 'a' : 'b';
      const n = 1 + Math.floor(this.rng() * (size - done));
      const op = this.rng();
      const live = this.live[table];
      if (op < 0.45 || live.size < n + 50) done += await this.insert(table, n);
      else if (op < 0.8) done += await this.update(table, n);
      else done += await this.remove(table, n);
    }
    await this.conn.query('COMMIT');
    this.transactions++;
    this.changes += done;
  }

  private async insert(table: 'a' | 'b', n: number): Promise<number> {
    const ids: number[] = [];
    const deleted = this.deleted[table];
    for (let i = 0; i < n; i++) {
      // Now and then a key that was deleted comes back.
      if (deleted.size > 0 && this.rng() < 0.1) {
        const id = deleted.random(this.rng);
        deleted.delete(id);
        ids.push(id);
      } else {
        ids.push(this.nextId[table]++);
      }
    }
    const rows = ids.map((id) => (table === 'a' ? this.aRow(id) : this.bRow(id)));
    const cols = table === 'a' ? '(id, v, s, d)' : '(id, n, t)';
    const [res] = await this.conn.query(`INSERT INTO ${table} ${cols} VALUES ?`, [rows]);
    assert.equal((res as { affectedRows: number }).affectedRows, n);
    for (const id of ids) this.live[table].add(id);
    this.inserts += n;
    return n;
  }

  private async update(table: 'a' | 'b', n: number): Promise<number> {
    const ids = this.live[table].sample(n, this.rng);
    const tag = `u${++this.statement}`;
    const [res] = table === 'a'
      ? await this.conn.query(
        'UPDATE a SET v = COALESCE(v, 0) + ?, s = IF(? < 0.1, NULL, CONCAT(?, \'-\', id)), d = ? WHERE id IN (?)',
        [1 + Math.floor(this.rng() * 1000), this.rng(), `${tag}-${randomText(this.rng, 8)}`, randomDecimal(this.rng), ids],
      )
      : await this.conn.query('UPDATE b SET n = ?, t = ? WHERE id IN (?)', [`${tag}-${randomText(this.rng, 4)}`, randomDatetime(this.rng), ids.map((id) => String(B_BASE + BigInt(id)))]);
    assert.equal((res as { affectedRows: number }).affectedRows, n, 'every updated row changes');
    this.updates += n;
    return n;
  }

  private async remove(table: 'a' | 'b', n: number): Promise<number> {
    const ids = this.live[table].sample(n, this.rng);
    const keys = table === 'a' ? ids : ids.map((id) => String(B_BASE + BigInt(id)));
    const [res] = await this.conn.query(`DELETE FROM ${table} WHERE id IN (?)`, [keys]);
    assert.equal((res as { affectedRows: number }).affectedRows, n);
    for (const id of ids) {
      this.live[table].delete(id);
      this.deleted[table].add(id);
    }
    this.deletes += n;
    return n;
  }

  private aRow(id: number): unknown[] {
    const r = this.rng;
    return [id, r() < 0.05 ? null : Math.floor(r() * 4_000_000_000) - 2_000_000_000, r() < 0.05 ? null : randomText(r, Math.floor(r() * 40)), r() < 0.05 ? null : randomDecimal(r)];
  }

  private bRow(id: number): unknown[] {
    const r = this.rng;
    return [String(B_BASE + BigInt(id)), r() < 0.05 ? null : randomText(r, 1 + Math.floor(r() * 19)), r() < 0.05 ? null : randomDatetime(r)];
  }
}

/** A set of ints with O(1) random pick. */
export class KeySet {
  private readonly items: number[] = [];
  private readonly index = new Map<number, number>();

  get size(): number {
    return this.items.length;
  }

  add(id: number): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.items.length);
    this.items.push(id);
  }

  delete(id: number): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    const lastItem = this.items.pop()!;
    if (lastItem !== id) {
      this.items[i] = lastItem;
      this.index.set(lastItem, i);
    }
    this.index.delete(id);
  }

  random(rng: () => number): number {
    return this.items[Math.floor(rng() * this.items.length)]!;
  }

  /** n distinct members. */
  sample(n: number, rng: () => number): number[] {
    const out = new Set<number>();
    while (out.size < n) out.add(this.random(rng));
    return [...out];
  }

  values(): readonly number[] {
    return this.items;
  }
}

export function keyText(table: 'a' | 'b', id: number): string {
  return table === 'a' ? String(id) : String(B_BASE + BigInt(id));
}

export const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-éü中😀';

export function randomText(rng: () => number, length: number): string {
  const chars = [...CHARS];
  let s = '';
  for (let i = 0; i < length; i++) s += chars[Math.floor(rng() * chars.length)];
  return s;
}

export function randomDecimal(rng: () => number): string {
  const cents = Math.floor(rng() * (2e12 - 1)) - (1e12 - 1); // DECIMAL(12,2): |x| <= 9999999999.99
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function randomDatetime(rng: () => number): string {
  const ms = Date.UTC(1990, 0, 1) + Math.floor(rng() * 40 * 365 * 86_400_000);
  const d = new Date(ms);
  // a third of the values without milliseconds, so that both renderings are compared
  const frac = rng() < 0.33 ? '000' : String(d.getUTCMilliseconds()).padStart(3, '0');
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

// ---------------------------------------------------------------------------------------------
// Catch-up and comparison

/** The source's binlog end now (SHOW MASTER STATUS, or SHOW BINARY LOG STATUS on MySQL 8.2+). */
export async function binlogEndOf(conn: mysql.Connection): Promise<{ file: string; position: number }> {
  const { file, position } = await binlogStatus(conn);
  return { file, position };
}

/** Waits until the checkpoint file has reached the source's binlog end as of now. */
export async function waitForCheckpoint(conn: mysql.Connection, checkpointFile: string, timeoutMs: number): Promise<void> {
  const target = await binlogEndOf(conn);
  const deadline = Date.now() + timeoutMs;
  let seen = 'none';
  while (Date.now() < deadline) {
    try {
      const cp = JSON.parse(fs.readFileSync(checkpointFile, 'utf8')) as { binlog: { file: string; position: number } | null };
      if (cp.binlog) {
        seen = `${cp.binlog.file}:${cp.binlog.position}`;
        if (comparePosition(cp.binlog, target) >= 0) return;
      }
    } catch {
      // being replaced right now
    }
    await sleep(100);
  }
  throw new Error(`the checkpoint did not reach ${target.file}:${target.position} within ${timeoutMs} ms (last: ${seen})`);
}

export function comparePosition(x: { file: string; position: number }, y: { file: string; position: number }): number {
  const fx = Number(/\.(\d+)$/.exec(x.file)![1]);
  const fy = Number(/\.(\d+)$/.exec(y.file)![1]);
  return fx !== fy ? fx - fy : x.position - y.position;
}

/** Every record of the topic, by the high watermarks after the producer stopped. */
export async function readWholeTopic(broker: string, name: string): Promise<TopicMessage[]> {
  const kafka = new Kafka({ clientId: 'it-offsets', brokers: [broker], logLevel: logLevel.NOTHING });
  const kadmin = kafka.admin();
  await kadmin.connect();
  let total = 0;
  try {
    for (const p of await kadmin.fetchTopicOffsets(name)) total += Number(p.high) - Number(p.low);
  } finally {
    await kadmin.disconnect();
  }
  const messages = await readTopic(broker, name, (m) => m.length >= total, 90_000);
  assert.equal(messages.length, total, 'read the whole topic');
  return messages;
}

/** The source's text for DATETIME(3) as the decoder renders it: six fraction digits, or none. */
export function normaliseDatetime(v: string | null): string | null {
  if (v === null) return null;
  const m = /^(.*?)(?:\.(\d+))?$/.exec(v)!;
  const frac = (m[2] ?? '').padEnd(6, '0');
  return /^0*$/.test(frac) ? m[1]! : `${m[1]}.${frac}`;
}

export interface Comparison {
  lost: number;
  /** records counted once per (sourcePosition, key, operation) */
  distinct: number;
  repeated: number;
  keysChecked: number;
  problems: string[];
}

/**
 * `deletedMayBeAbsent`: a deleted key may also have no record at all (an initial snapshot
 * that ran after the delete neither copies the row nor streams its changes), as long as it
 * is not live in Kafka.
 */
/** compareWithSource over a connection of its own to `database` on `source`, closed afterwards. */
export async function compareWithDatabase(source: LabSource, database: string, messages: TopicMessage[], deletedKeys: Set<string>, deletedMayBeAbsent = false): Promise<Comparison> {
  const conn = await adminConnection(database, source);
  try {
    return await compareWithSource(conn, database, messages, deletedKeys, deletedMayBeAbsent);
  } finally {
    await conn.end();
  }
}

export async function compareWithSource(conn: mysql.Connection, database: string, messages: TopicMessage[], deletedKeys: Set<string>, deletedMayBeAbsent = false): Promise<Comparison> {
  const lastByKey = new Map<string, TopicMessage>();
  const seen = new Set<string>();
  let repeated = 0;
  for (const m of messages) {
    const r = m.record;
    assert.equal(r.database, database);
    const id = image(r).id;
    assert.ok(id !== null && id !== undefined, `record ${r.id} has no id column`);
    const key = `${r.table}\0${id}`;
    lastByKey.set(key, m);
    const occurrence = `${r.sourcePosition}\0${key}\0${r.operation}`;
    if (seen.has(occurrence)) repeated++;
    else seen.add(occurrence);
  }

  const source = new Map<string, Record<string, string | null>>();
  const [aRows] = await conn.query('SELECT CAST(id AS CHAR) id, CAST(v AS CHAR) v, CAST(s AS CHAR) s, CAST(d AS CHAR) d FROM a');
  for (const row of aRows as Record<string, string | null>[]) source.set(`a\0${row.id}`, row);
  const [bRows] = await conn.query('SELECT CAST(id AS CHAR) id, CAST(n AS CHAR) n, CAST(t AS CHAR) t FROM b');
  for (const row of bRows as Record<string, string | null>[]) source.set(`b\0${row.id}`, { ...row, t: normaliseDatetime(row.t!) });

  const problems: string[] = [];
  let lost = 0;
  const show = (k: string) => k.replace('\0', '.');
  for (const [key, row] of source) {
    const m = lastByKey.get(key);
    if (!m) { lost++; problems.push(`${show(key)}: in the source, no record in Kafka`); continue; }
    if (m.record.operation === 'DELETE') { lost++; problems.push(`${show(key)}: in the source, last record is a DELETE (id ${m.record.id})`); continue; }
    const img = image(m.record);
    const differs = Object.keys(row).filter((c) => img[c] !== row[c]);
    if (differs.length > 0) {
      lost++;
      problems.push(`${show(key)}: last record (${m.record.operation}, id ${m.record.id}) has ${differs.map((c) => `${c}=${JSON.stringify(img[c])}`).join(', ')}; the source ${differs.map((c) => `${c}=${JSON.stringify(row[c])}`).join(', ')}`);
    }
  }
  for (const key of deletedKeys) {
    if (source.has(key)) { problems.push(`${show(key)}: the workload deleted it, the source has it`); continue; }
    const m = lastByKey.get(key);
    if (!m && deletedMayBeAbsent) continue;
    if (!m || m.record.operation !== 'DELETE') {
      lost++;
      problems.push(`${show(key)}: deleted in the source, last record ${m ? `is ${m.record.operation} (id ${m.record.id})` : 'missing'}`);
    }
  }
  for (const [key, m] of lastByKey) {
    if (!source.has(key) && m.record.operation !== 'DELETE') {
      lost++;
      problems.push(`${show(key)}: not in the source, live in Kafka (${m.record.operation}, id ${m.record.id})`);
    }
  }
  return { lost, distinct: seen.size, repeated, keysChecked: new Set([...source.keys(), ...deletedKeys, ...lastByKey.keys()]).size, problems };
}

// ---------------------------------------------------------------------------------------------

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
