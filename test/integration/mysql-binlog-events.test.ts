/**
 * Binlog events beyond the plain ones, through the real `sync` command on each lab source:
 * - compressed binlogs (MySQL's TRANSACTION_PAYLOAD_EVENT with binlog_transaction_compression,
 *   MariaDB's per-event log_bin_compress) give exactly the records an uncompressed binlog
 *   gives for the same workload, and the checkpoint lands on the end of the last compressed
 *   transaction;
 * - a partial JSON update (MySQL, binlog_row_value_options=PARTIAL_JSON) stops the sync with
 *   exit code 2 and SOURCE_EVENT_UNSUPPORTED naming the variable, without a retry and with
 *   the checkpoint before that transaction.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { adminConnection, ensureLab, kafkaBrokers, type LabSource, labSources, uniqueName } from './lab.ts';
import { readTopic, type RunningSync, startSync, type TopicMessage, writeSyncConfig } from './sync-harness.ts';

before(async () => {
  await ensureLab();
});

const TABLE = `(id INT PRIMARY KEY, big BIGINT UNSIGNED, price DECIMAL(20,6), name VARCHAR(64) CHARACTER SET utf8mb4,
  at DATETIME(6), ts TIMESTAMP(3) NULL, j JSON, data LONGBLOB)`;
/** rows in the large transaction, 8 KiB of incompressible bytes each: ~18 MB, a payload event over 16 MiB (several protocol packets) */
const LARGE_ROWS = 2_200;

/** Deterministic bytes (xorshift32), so both tables get the same values and the same records. */
function bytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2 + 1) | 0; // odd, never 0, one stream per seed
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The same changes on `table`: a multi-row transaction, single statements, a large transaction. */
async function workload(conn: mysql.Connection, table: string): Promise<void> {
  const row = (i: number) => [i, `${18446744073709551615n - BigInt(i)}`, `${i}.${String(i * 7).padStart(6, '0')}`, `név ${i} ✓`,
    `2024-02-29 23:59:59.${String(i).padStart(6, '0')}`, i % 3 ? `2001-02-03 04:05:06.${String(i % 1000).padStart(3, '0')}` : null,
    JSON.stringify({ i, tags: ['a', i], nested: { ok: i % 2 === 0 } }), bytes(i, 1 + (i % 300))];
  const values = (rows: unknown[][]) => rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  const multi = Array.from({ length: 50 }, (_, k) => row(k + 1));
  await conn.query('BEGIN');
  await conn.query(`INSERT INTO ${table} VALUES ${values(multi)}`, multi.flat());
  await conn.query(`UPDATE ${table} SET price = price * 2, name = CONCAT(name, '!'), j = JSON_SET(j, '$.i', 0) WHERE id <= 10`);
  await conn.query(`DELETE FROM ${table} WHERE id IN (3, 7)`);
  await conn.query('COMMIT');
  await conn.query(`INSERT INTO ${table} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, row(100));
  await conn.query(`UPDATE ${table} SET data = NULL, ts = NULL WHERE id = 100`);
  await conn.query('BEGIN');
  for (let at = 0; at < LARGE_ROWS; at += 250) {
    const chunk = Array.from({ length: Math.min(250, LARGE_ROWS - at) }, (_, k) => {
      const r = row(1000 + at + k);
      r[7] = bytes(1000 + at + k, 8192);
      return r;
    });
    await conn.query(`INSERT INTO ${table} VALUES ${values(chunk)}`, chunk.flat());
  }
  await conn.query(`UPDATE ${table} SET big = 0 WHERE id >= 1000 AND id < 1100`);
  await conn.query('COMMIT');
}

/** What a record says about the row change, without where and when it was written. */
function content(m: TopicMessage): unknown {
  return { operation: m.record.operation, database: m.record.database, columns: m.record.columns };
}

async function binlogEnd(conn: mysql.Connection, source: LabSource): Promise<{ file: string; position: number }> {
  const [rows] = await conn.query(source.kind === 'mysql' ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS');
  const r = (rows as { File: string; Position: string | number }[])[0]!;
  return { file: r.File, position: Number(r.Position) };
}

interface ListedEvent { type: string; pos: number; end: number; size: number }

/** The events the binlog holds from `from` to its end (lab_admin may read them). */
async function binlogEvents(conn: mysql.Connection, from: { file: string; position: number }): Promise<ListedEvent[]> {
  const [rows] = await conn.query(`SHOW BINLOG EVENTS IN '${from.file}' FROM ${from.position}`);
  return (rows as { Event_type: string; Pos: number | string; End_log_pos: number | string }[])
    .map((r) => ({ type: r.Event_type, pos: Number(r.Pos), end: Number(r.End_log_pos), size: Number(r.End_log_pos) - Number(r.Pos) }));
}

/** How many records the topic holds (the sum of its partitions' high watermarks). */
async function topicSize(broker: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'it-size', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the checkpoint file is at or past `target` (the sync writes it every 200 ms;
 * others' transactions on the lab may move it further).
 */
async function checkpointReaches(file: string, target: { file: string; position: number }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'none';
  while (Date.now() < deadline) {
    try {
      const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as { binlog: { file: string; position: number } | null };
      if (cp.binlog) {
        seen = `${cp.binlog.file}:${cp.binlog.position}`;
        if (cp.binlog.file > target.file || (cp.binlog.file === target.file && Number(cp.binlog.position) >= target.position)) return;
      }
    } catch {
      // being replaced right now
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the checkpoint did not reach ${target.file}:${target.position} within ${timeoutMs} ms (last: ${seen})`);
}

/**
 * A connection whose binlog writes are compressed: MySQL's binlog_transaction_compression is
 * read into each new session from the global, so the global is set, a session opened, and the
 * global put back at once (others share the lab). MariaDB's log_bin_compress is global only,
 * so it stays on until `restore`.
 */
async function compressingConnection(source: LabSource, db: string): Promise<{ conn: mysql.Connection; restore: () => Promise<void> }> {
  const admin = await adminConnection(db, source);
  if (source.kind === 'mysql') {
    await admin.query('SET GLOBAL binlog_transaction_compression = ON');
    try {
      const conn = await adminConnection(db, source);
      const [[v]] = await conn.query('SELECT @@SESSION.binlog_transaction_compression AS on_') as unknown as [[{ on_: number }]];
      assert.equal(Number(v.on_), 1, 'the new session compresses');
      return { conn, restore: async () => { await admin.end(); } };
    } finally {
      await admin.query('SET GLOBAL binlog_transaction_compression = OFF');
    }
  }
  await admin.query('SET GLOBAL log_bin_compress = ON');
  return {
    conn: admin,
    restore: async () => {
      await admin.query('SET GLOBAL log_bin_compress = OFF').catch(() => {});
    },
  };
}

for (const source of labSources()) {
  describe(`compressed and undecodable binlog events on ${source.label}`, () => {
    const db = uniqueName('it_bev');
    const broker = kafkaBrokers()[0]!.broker;
    let admin: mysql.Connection;
    let sync: RunningSync | undefined;

    before(async () => {
      admin = await adminConnection(undefined, source);
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.query(`CREATE TABLE ${db}.plain ${TABLE}`);
      await admin.query(`CREATE TABLE ${db}.packed ${TABLE}`);
      await admin.query(`USE ${db}`);
    });

    after(async () => {
      if (sync && sync.proc.exitCode === null) await sync.stop();
      await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    const setting = source.kind === 'mysql' ? 'binlog_transaction_compression' : 'log_bin_compress';
    test(`with ${setting}=ON every row arrives exactly as with it OFF, and the checkpoint ends on the last compressed transaction`, { timeout: 240_000 }, async () => {
      const topic = uniqueName('it_bev');
      const { configFile, checkpointFile } = writeSyncConfig({ broker, objects: [`${db}.plain`, `${db}.packed`], defaultTopic: topic, source });
      sync = await startSync(configFile);

      await workload(admin, `${db}.plain`);
      const from = await binlogEnd(admin, source);
      const { conn, restore } = await compressingConnection(source, db);
      try {
        await workload(conn, `${db}.packed`);
      } finally {
        await restore();
        if (conn !== admin) await conn.end();
      }
      // The test proves something only if the binlog really holds compressed events.
      const events = await binlogEvents(admin, from);
      const types = [...new Set(events.map((e) => e.type))].join(', ');
      let large: ListedEvent | undefined;
      if (source.kind === 'mysql') {
        const payloads = events.filter((e) => e.type === 'Transaction_payload');
        assert.ok(payloads.length >= 4, `each of the 4 transactions in one Transaction_payload event, got ${types}`);
        large = payloads.find((e) => e.size > 16 * 1024 * 1024);
        assert.ok(large, `the large transaction's payload spans several protocol packets: ${payloads.map((e) => e.size).join(', ')}`);
      } else {
        assert.ok(events.some((e) => /compressed/i.test(e.type)), `compressed row events expected, got ${types}`);
      }

      const perTable = LARGE_ROWS + 50 + 10 + 2 + 2 + 100;
      const messages = await readTopic(broker, topic, (ms) => ms.filter((m) => m.record.table === 'packed').length >= perTable, 120_000);
      const plain = messages.filter((m) => m.record.table === 'plain').map(content);
      const packed = messages.filter((m) => m.record.table === 'packed').map(content);
      const ops = (t: string) => {
        const n: Record<string, number> = {};
        for (const m of messages) if (m.record.table === t) n[m.record.operation] = (n[m.record.operation] ?? 0) + 1;
        return JSON.stringify(n);
      };
      assert.equal(plain.length, perTable, ops('plain'));
      assert.equal(packed.length, perTable, ops('packed'));
      for (let i = 0; i < plain.length; i++) assert.deepEqual(packed[i], plain[i], `record ${i} of the compressed table differs`);
      if (large) {
        // Every row of the compressed transaction is at the payload event's end, and starts
        // at its GTID event: the transaction's boundaries, as the reader's commit gives them.
        const gtid = events[events.indexOf(large) - 1]!;
        assert.equal(gtid.type, 'Gtid');
        const file = Number(/\.(\d+)$/.exec(from.file)![1]);
        const largeRecords = messages.filter((m) => m.record.table === 'packed' && Number(m.record.columns[0]!.after ?? m.record.columns[0]!.before) >= 1000);
        assert.equal(largeRecords.length, LARGE_ROWS + 100);
        for (const m of largeRecords) {
          assert.equal(m.record.sourcePosition, `${large.end}@${file}`);
          assert.equal(m.record.safeSourcePosition, `${gtid.pos}@${file}`);
        }
        await checkpointReaches(checkpointFile, { file: from.file, position: large.end }, 30_000);
      } else {
        await checkpointReaches(checkpointFile, await binlogEnd(admin, source), 30_000);
      }
      assert.doesNotMatch(sync.output(), /SOURCE_UNREACHABLE|SOURCE_EVENT_UNSUPPORTED|retrying/);
    });

    if (source.kind !== 'mysql') return;

    test('a partial JSON update (binlog_row_value_options=PARTIAL_JSON) stops the sync with exit 2 naming the variable, not retried', { timeout: 120_000 }, async () => {
      if (sync && sync.proc.exitCode === null) await sync.stop();
      const topic = uniqueName('it_bev');
      await admin.query(`INSERT INTO ${db}.plain (id, j) VALUES (5000, '{"a": 1, "b": "x"}')`);
      const { configFile, checkpointFile } = writeSyncConfig({ broker, objects: [`${db}.plain`], defaultTopic: topic, source });
      sync = await startSync(configFile);
      // A session variable: only this connection writes partial JSON, others on the lab do not.
      const conn = await adminConnection(db, source);
      let from: { file: string; position: number };
      let partial: ListedEvent;
      let txStart: ListedEvent;
      try {
        await conn.query("SET SESSION binlog_row_value_options = 'PARTIAL_JSON'");
        await conn.query(`INSERT INTO ${db}.plain (id, j) VALUES (5001, '{"a": 2}')`);
        from = await binlogEnd(conn, source);
        await conn.query(`UPDATE ${db}.plain SET j = JSON_SET(j, '$.a', 42) WHERE id = 5000`);
        const events = await binlogEvents(admin, from);
        const at = events.findIndex((e) => e.type === 'Update_rows_partial');
        assert.ok(at > 0, `a partial update event expected, got ${events.map((e) => e.type).join(', ')}`);
        partial = events[at]!;
        txStart = events.slice(0, at).reverse().find((e) => e.type === 'Gtid')!;
      } finally {
        await conn.end();
      }
      const code = await Promise.race([sync.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000))]);
      const out = sync.output();
      assert.equal(code, 2, `sync should exit 2, got ${code}:\n${out.slice(-3000)}`);
      assert.match(out, /error \[SOURCE_EVENT_UNSUPPORTED\]: .*PARTIAL_UPDATE_ROWS_EVENT/);
      assert.ok(out.includes(`at binlog position ${from.file}:${partial.pos} `), `the message names the event's position ${from.file}:${partial.pos}`);
      assert.match(out, /SET GLOBAL binlog_row_value_options=''/);
      assert.doesNotMatch(out, /SOURCE_UNREACHABLE|retrying/, 'the undecodable event is not retried');
      // The process is gone, so the topic is final: nothing of the partial update reached it,
      // and the checkpoint stays at or before its transaction's start, so a restart meets it
      // again rather than skipping it.
      const total = await topicSize(broker, topic);
      const messages = await readTopic(broker, topic, (ms) => ms.length >= total, 30_000);
      assert.equal(messages.length, total);
      assert.ok(!messages.some((m) => m.record.operation === 'UPDATE'));
      const cp = JSON.parse(fs.readFileSync(checkpointFile, 'utf8')) as { binlog: { file: string; position: number } | null };
      assert.ok(cp.binlog && cp.binlog.file === from.file && Number(cp.binlog.position) <= txStart.pos,
        `checkpoint ${JSON.stringify(cp.binlog)} must not pass the partial update's transaction start ${from.file}:${txStart.pos}`);
    });
  });
}
