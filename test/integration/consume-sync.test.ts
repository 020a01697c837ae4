/**
 * The consumer and verify on what the real synchronizer produced: a table with every column
 * type (the type zoo's rows), INSERT, UPDATE, DELETE and a DDL record from the binlog, plus
 * INIT records built directly (as the full-data sync writes them) for rows that were never
 * in the binlog. The JSON output must parse and hold the very values the server prints; the
 * text output names every MYSQL_TYPE_*; and verify finds zero differences across all types.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import type { JsonColumn, JsonRecord } from '../../src/consumer/record-format.ts';
import { encodeEvent } from '../../src/dts/encoder.ts';
import { MYSQL_TYPE_NAMES } from '../../src/dts/type-codes.ts';
import type { RowChangeEvent } from '../../src/model/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../src/model/table-schema.ts';
import { readTableSchema } from '../../src/source/schema-reader.ts';
import { adminConnection, ensureLab, kafkaBrokers, type LabSource, labSources, uniqueName } from './lab.ts';
import { binlogEndOf } from './mixed-workload.ts';
import { readTopic, startSync, writeSyncConfig } from './sync-harness.ts';
import { insertSql, normalizeServerText, printExpr, TEXT_TYPES, zooColumns, zooRows } from './type-zoo-cases.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The type zoo's rows (type-zoo-cases.ts); row 1's TEXT with a line break, which the text output escapes. */
function rowsOf(source: LabSource): Record<string, string>[] {
  return zooRows(source.kind).map((r) => (r.id === '1' ? { ...r, c_text: "'text é\\nline 2'" } : r));
}





async function serverRow(admin: mysql.Connection, source: LabSource, db: string, schema: TableSchema, id: string): Promise<(string | null)[]> {
  const [rows] = await admin.query({ sql: `SELECT ${schema.columns.map((c) => printExpr(c, source.kind)).join(', ')} FROM ${db}.zoo WHERE id = ${id}`, rowsAsArray: true });
  return (rows as (string | null)[][])[0]!.map((v, i) => normalizeServerText(schema.columns[i]!, v));
}

/** The consumer's JSON value of a column, in the server's conventions above. */
function consumedText(col: ColumnSchema, c: JsonColumn, side: 'before' | 'after'): string | null {
  const text = c[side];
  if (text === null) return null;
  // No hex beside the text: the text is the hex itself (a TEXT value that is not UTF-8).
  if (TEXT_TYPES.includes(col.type)) return `${c[side === 'before' ? 'beforeHex' : 'afterHex'] ?? text}|${text}`;
  return text;
}

function assertColumns(schema: TableSchema, record: JsonRecord, side: 'before' | 'after', want: (string | null)[], where: string): void {
  assert.deepEqual(record.columns.map((c) => c.name), schema.columns.map((c) => c.name), where);
  schema.columns.forEach((col, i) => {
    const c = record.columns[i]!;
    const got = consumedText(col, c, side);
    const expected = want[i] ?? null;
    const at = `${where} ${col.name} (${col.type}, ${c.type})`;
    if (got !== null && expected !== null && TEXT_TYPES.includes(col.type) && !col.charset?.startsWith('utf8') && col.type.endsWith('text')) {
      // A DTS BinaryObject carries no charset: for a non-UTF-8 TEXT the bytes are what must survive.
      assert.equal(got.split('|')[0], expected.split('|')[0], at);
    } else if (col.type === 'float' && got !== null && expected !== null) {
      assert.equal(Math.fround(Number(got)), Math.fround(Number(expected)), at);
    } else {
      assert.equal(got, expected, at);
    }
  });
}

function runCli(script: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

before(async () => {
  await ensureLab();
});

for (const source of labSources()) {
  describe(`consume and verify on what was synced from ${source.label}`, () => {
    const db = uniqueName('it_czoo');
    const rows = rowsOf(source);
    let admin: mysql.Connection;

    before(async () => {
      admin = await adminConnection(undefined, source);
      await admin.query(`SET time_zone = '+00:00', sql_mode = ''`);
      await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.zoo (${zooColumns(source.kind).map(([n, t]) => `${n} ${t}`).join(', ')}) CHARACTER SET utf8mb4`);
      await admin.query(`CREATE TABLE ${db}.plain (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4, amount DECIMAL(10,2))`);
    });

    after(async () => {
      await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin?.end();
    });

    test('consume prints every operation and column type the synchronizer produced; verify finds no difference', async () => {
      const [{ broker }] = kafkaBrokers();
      const topic = uniqueName('it_czoo');
      const { configFile } = writeSyncConfig({ broker: broker!, objects: [`${db}.zoo`, `${db}.plain`], defaultTopic: topic, ddlEmit: true, source });
      const sync = await startSync(configFile);
      try {
        const schema = await readTableSchema(admin, db, 'zoo');
        const inserted = new Map<string, (string | null)[]>();
        for (const row of rows) {
          await admin.query(insertSql(db, 'zoo', row));
          inserted.set(row.id!, await serverRow(admin, source, db, schema, row.id!));
        }
        await admin.query(`UPDATE ${db}.zoo SET c_int = c_int - 1, c_varchar = 'changed', c_dt6 = '2001-02-03 04:05:06.070809', c_point = NULL WHERE id = 1`);
        const updated = await serverRow(admin, source, db, schema, '1');
        await admin.query(`DELETE FROM ${db}.zoo WHERE id = 2`);
        await admin.query(`ALTER TABLE ${db}.plain COMMENT 'touched'`);

        await readTopic(broker!, topic, (m) => m.length >= rows.length + 3);
        // INIT records, as the full-data sync writes them, for rows that never were in the binlog.
        await admin.query(`SET SESSION sql_log_bin = 0; INSERT INTO ${db}.plain VALUES (1, 'snap one', 1.50), (2, 'snap two', NULL); SET SESSION sql_log_bin = 1`);
        const plain = await readTableSchema(admin, db, 'plain');
        const low = await binlogEndOf(admin);
        const producer = new Kafka({ clientId: 'it', brokers: [broker!], logLevel: logLevel.NOTHING }).producer();
        await producer.connect();
        const now = Math.floor(Date.now() / 1000);
        const init = (id: bigint, name: string, amount: string | null): RowChangeEvent => ({
          kind: 'row', operation: 'INIT', table: plain, before: null, after: [id, Buffer.from(name), amount],
          source: { position: low, transactionStart: low, commitTimestamp: now, serverId: 1, threadId: 0, gtid: null },
        });
        await producer.send({
          topic,
          messages: [init(1n, 'snap one', '1.50'), init(2n, 'snap two', null)].map((e, i) => ({
            key: JSON.stringify([String(e.after![0])]),
            value: Buffer.from(encodeEvent(e, { id: 10_000_000n + BigInt(i), sourceVersion: source.kind === 'mysql' ? '9.7' : '10.11', readerTimestampMs: now * 1000 })),
            timestamp: String(now * 1000),
          })),
        });
        await producer.disconnect();
        await readTopic(broker!, topic, (m) => m.length >= rows.length + 5);

        // JSON: one object per line, every line parses.
        const json = await runCli('src/cli/consume-main.ts', ['--brokers', broker!, '--topic', topic, '--group', uniqueName('g'), '--checkpoint-file', 'none', '--format', 'json', '--exit-at-end']);
        assert.equal(json.code, 0, json.stderr);
        const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonRecord);
        assert.deepEqual(records.map((r) => r.operation), ['INSERT', 'INSERT', 'INSERT', 'INSERT', 'UPDATE', 'DELETE', 'DDL', 'INIT', 'INIT']);
        const zoo = records.filter((r) => r.table === 'zoo');
        zoo.slice(0, 4).forEach((r, i) => assertColumns(schema, r, 'after', inserted.get(rows[i]!.id!)!, `INSERT id ${rows[i]!.id}`));
        assertColumns(schema, zoo[4]!, 'before', inserted.get('1')!, 'UPDATE before');
        assertColumns(schema, zoo[4]!, 'after', updated, 'UPDATE after');
        assertColumns(schema, zoo[5]!, 'before', inserted.get('2')!, 'DELETE before');
        assert.ok(zoo[5]!.columns.every((c) => c.after === null));
        const ddl = records[6]!;
        assert.equal(ddl.ddl, `ALTER TABLE ${db}.plain COMMENT 'touched'`);
        assert.equal(ddl.objectName, db);
        assert.deepEqual(ddl.columns, []);
        assert.deepEqual(records.slice(7).map((r) => r.columns.map((c) => c.after)), [['1', 'snap one', '1.50'], ['2', 'snap two', null]]);
        for (const r of records.filter((x) => x.operation !== 'DDL')) {
          assert.equal(r.key, JSON.stringify([r.columns[0]![r.operation === 'DELETE' ? 'before' : 'after']]));
          assert.match(r.sourcePosition, /^\d+@\d+$/);
          assert.equal(r.timestamp, r.sourceTimestamp * 1000);
        }
        // Every column type's MYSQL_TYPE_* name is known.
        for (const c of zoo[0]!.columns) assert.ok([...MYSQL_TYPE_NAMES.values()].includes(c.type), `${c.name}: ${c.type}`);

        // Text: readable, one block per record.
        const text = await runCli('src/cli/consume-main.ts', ['--brokers', broker!, '--topic', topic, '--group', uniqueName('g'), '--checkpoint-file', 'none', '--exit-at-end']);
        assert.equal(text.code, 0, text.stderr);
        for (const op of ['INSERT', 'UPDATE', 'DELETE', 'DDL', 'INIT']) assert.match(text.stdout, new RegExp(`^${op} `, 'm'));
        assert.match(text.stdout, /^UPDATE .*\n {2}id \d+ {2}position \d+@\d+ {2}safe \d+@\d+ {2}source \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+\) {2}born \d+$/m);
        assert.match(text.stdout, /^ {2}c_int +MYSQL_TYPE_LONG +2147483647 → 2147483646$/m);
        assert.match(text.stdout, /^ {2}c_point +MYSQL_TYPE_GEOMETRY +0101000000000000000000F83F000000000000[0-9A-F]+ → NULL$/m);
        assert.match(text.stdout, /^ {2}c_text +MYSQL_TYPE_BLOB +text é\\nline 2$/m);
        assert.match(text.stdout, /^ {2}c_mediumtext +MYSQL_TYPE_MEDIUM_BLOB +m{200}… \(70000 characters\)$/m);
        assert.match(text.stdout, new RegExp(`^ {2}ALTER TABLE ${db}\\.plain COMMENT 'touched'$`, 'm'));

        // verify: the topic's last images equal the source, for every type.
        const verify = await runCli('src/cli/verify-main.ts', ['--config', configFile, '--wait-seconds', '30']);
        assert.equal(verify.code, 0, `${verify.stdout}\n${verify.stderr}`);
        assert.match(verify.stdout, new RegExp(`^OK {3}${db}\\.zoo \\(${topic}, key \\(id\\)\\): source 3 rows, topic 3 rows; 0 missing, 0 extra, 0 different$`, 'm'));
        assert.match(verify.stdout, new RegExp(`^OK {3}${db}\\.plain .*source 2 rows, topic 2 rows`, 'm'));
        assert.match(verify.stdout, /verify: every table matches/);
      } finally {
        await sync.stop();
      }
    });
  });
}
