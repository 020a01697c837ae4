/**
 * The consumer and verify on what the real synchronizer produced: a table with every column
 * type (the type zoo's rows), INSERT, UPDATE, DELETE and a DDL record from the binlog, plus
 * INIT records built directly (as the full-data sync writes them) for rows that were never
 * in the binlog. The JSON output must parse and hold the very values MariaDB prints; the
 * text output names every MYSQL_TYPE_*; and verify finds zero differences across all types.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import type { JsonColumn, JsonRecord } from '../../src/consumer/record-format.ts';
import { encodeEvent } from '../../src/dts/encoder.ts';
import { MYSQL_TYPE_NAMES } from '../../src/dts/type-codes.ts';
import type { RowChangeEvent } from '../../src/model/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../src/model/table-schema.ts';
import { readTableSchema } from '../../src/source/schema-reader.ts';
import { adminConnection, ensureLab, kafkaBrokers, uniqueName } from './lab.ts';
import { readTopic, startSync, writeSyncConfig } from './sync-harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const db = uniqueName('it_czoo');
let admin: mysql.Connection;

// The type zoo (test/integration/type-zoo.test.ts): every column type, rows at the extremes.
const COLUMNS: [string, string][] = [
  ['id', 'INT PRIMARY KEY'],
  ['c_tinyint', 'TINYINT'], ['c_tinyint_u', 'TINYINT UNSIGNED'], ['c_smallint', 'SMALLINT'], ['c_smallint_u', 'SMALLINT UNSIGNED'],
  ['c_mediumint', 'MEDIUMINT'], ['c_mediumint_u', 'MEDIUMINT UNSIGNED'], ['c_int', 'INT'], ['c_int_u', 'INT UNSIGNED'],
  ['c_bigint', 'BIGINT'], ['c_bigint_u', 'BIGINT UNSIGNED'],
  ['c_bit1', 'BIT(1)'], ['c_bit13', 'BIT(13)'], ['c_bit64', 'BIT(64)'],
  ['c_dec', 'DECIMAL(65,30)'], ['c_dec2', 'DECIMAL(12,2)'], ['c_dec0', 'DECIMAL(10,0)'],
  ['c_float', 'FLOAT'], ['c_float_ps', 'FLOAT(7,3)'], ['c_double', 'DOUBLE'],
  ['c_date', 'DATE'], ['c_time', 'TIME'], ['c_time1', 'TIME(1)'], ['c_time4', 'TIME(4)'], ['c_time6', 'TIME(6)'],
  ['c_dt', 'DATETIME'], ['c_dt2', 'DATETIME(2)'], ['c_dt3', 'DATETIME(3)'], ['c_dt5', 'DATETIME(5)'], ['c_dt6', 'DATETIME(6)'],
  ['c_ts', 'TIMESTAMP NULL'], ['c_ts3', 'TIMESTAMP(3) NULL'], ['c_ts6', 'TIMESTAMP(6) NULL'], ['c_year', 'YEAR'],
  ['c_char', 'CHAR(10) CHARACTER SET utf8mb4'], ['c_varchar', 'VARCHAR(64) CHARACTER SET utf8mb4'],
  ['c_latin1', 'VARCHAR(20) CHARACTER SET latin1'], ['c_gbk', 'VARCHAR(20) CHARACTER SET gbk'],
  ['c_utf8mb3', 'VARCHAR(20) CHARACTER SET utf8mb3'], ['c_char_latin1', 'CHAR(4) CHARACTER SET latin1'],
  ['c_binary', 'BINARY(8)'], ['c_varbinary', 'VARBINARY(16)'],
  ['c_tinytext', 'TINYTEXT'], ['c_text', 'TEXT'], ['c_mediumtext', 'MEDIUMTEXT'], ['c_longtext', 'LONGTEXT'], ['c_text_gbk', 'TEXT CHARACTER SET gbk'],
  ['c_tinyblob', 'TINYBLOB'], ['c_blob', 'BLOB'], ['c_mediumblob', 'MEDIUMBLOB'], ['c_longblob', 'LONGBLOB'],
  ['c_enum', "ENUM('a','b,c','d')"], ['c_set', "SET('x','y','z')"], ['c_json', 'JSON'],
  ['c_geometry', 'GEOMETRY'], ['c_point', 'POINT'], ['c_linestring', 'LINESTRING'], ['c_polygon', 'POLYGON'],
  ['c_multipoint', 'MULTIPOINT'], ['c_multilinestring', 'MULTILINESTRING'], ['c_multipolygon', 'MULTIPOLYGON'], ['c_geomcollection', 'GEOMETRYCOLLECTION'],
  ['c_uuid', 'UUID'], ['c_inet6', 'INET6'], ['c_inet4', 'INET4'],
];

const g = (wkt: string, srid = 0) => `ST_GeomFromText('${wkt}', ${srid})`;

const ROWS: Record<string, string>[] = [
  {
    id: '1', c_tinyint: '127', c_tinyint_u: '255', c_smallint: '32767', c_smallint_u: '65535', c_mediumint: '8388607', c_mediumint_u: '16777215',
    c_int: '2147483647', c_int_u: '4294967295', c_bigint: '9223372036854775807', c_bigint_u: '18446744073709551615',
    c_bit1: "b'1'", c_bit13: "b'1111111111111'", c_bit64: "b'1111111111111111111111111111111111111111111111111111111111111111'",
    c_dec: '99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '9999999999.99', c_dec0: '9999999999',
    c_float: '3.40282e38', c_float_ps: '9999.999', c_double: '1.7976931348623157e308',
    c_date: "'9999-12-31'", c_time: "'838:59:59'", c_time1: "'838:59:59.9'", c_time4: "'838:59:59.9999'", c_time6: "'838:59:59.000000'",
    c_dt: "'9999-12-31 23:59:59'", c_dt2: "'9999-12-31 23:59:59.99'", c_dt3: "'9999-12-31 23:59:59.999'", c_dt5: "'9999-12-31 23:59:59.99999'", c_dt6: "'9999-12-31 23:59:59.999999'",
    c_ts: "'2038-01-19 03:14:07'", c_ts3: "'2038-01-19 03:14:07.999'", c_ts6: "'2038-01-19 03:14:07.999999'", c_year: '2155',
    c_char: "'a😀b'", c_varchar: "'héllo wörld 😀 中文'", c_latin1: "'café €'", c_gbk: "'中文字符'", c_utf8mb3: "'ünïcödé'", c_char_latin1: "'ÿ'",
    c_binary: "x'0102030405060708'", c_varbinary: "x'00ff00ff'", c_tinytext: "'tiny 😀'", c_text: "'text é\nline 2'", c_mediumtext: "REPEAT('m', 70000)",
    c_longtext: "'long 中'", c_text_gbk: "'汉字'", c_tinyblob: "x'00'", c_blob: "x'deadbeef'", c_mediumblob: "x'ff00'", c_longblob: "REPEAT(x'ab', 100000)",
    c_enum: "'d'", c_set: "'x,y,z'", c_json: `'{"a": [1, 2.5, "é", null, true], "big": 18446744073709551615}'`,
    c_geometry: g('POLYGON((0 0,10 0,10 10,0 10,0 0))', 4326), c_point: g('POINT(1.5 -2.25)'), c_linestring: g('LINESTRING(0 0,1 1,2 2)'),
    c_polygon: g('POLYGON((0 0,4 0,4 4,0 0),(1 1,2 1,2 2,1 1))'), c_multipoint: g('MULTIPOINT(1 1,2 2)'),
    c_multilinestring: g('MULTILINESTRING((0 0,1 1),(2 2,3 3))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'),
    c_uuid: "'123e4567-e89b-12d3-a456-426655440000'", c_inet6: "'2001:db8::ff00:42:8329'", c_inet4: "'255.255.255.255'",
  },
  {
    id: '2', c_tinyint: '-128', c_tinyint_u: '0', c_smallint: '-32768', c_smallint_u: '0', c_mediumint: '-8388608', c_mediumint_u: '0',
    c_int: '-2147483648', c_int_u: '0', c_bigint: '-9223372036854775808', c_bigint_u: '0', c_bit1: "b'0'", c_bit13: "b'0'", c_bit64: "b'0'",
    c_dec: '-99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '-9999999999.99', c_dec0: '-9999999999',
    c_float: '-3.40282e38', c_float_ps: '-9999.999', c_double: '-1.7976931348623157e308',
    c_date: "'1000-01-01'", c_time: "'-838:59:59'", c_time1: "'-838:59:59.9'", c_time4: "'-00:00:00.0001'", c_time6: "'-00:00:01.500000'",
    c_dt: "'1000-01-01 00:00:00'", c_dt2: "'1000-01-01 00:00:00.01'", c_dt3: "'1000-01-01 00:00:00.001'", c_dt5: "'1000-01-01 00:00:00.00001'", c_dt6: "'1000-01-01 00:00:00.000001'",
    c_ts: "'1970-01-01 00:00:01'", c_ts3: "'1970-01-01 00:00:01.001'", c_ts6: "'1970-01-01 00:00:01.000001'", c_year: '1901',
    c_char: "''", c_varchar: "''", c_latin1: "''", c_gbk: "''", c_utf8mb3: "''", c_char_latin1: "''", c_binary: "x''", c_varbinary: "x''",
    c_tinytext: "''", c_text: "''", c_mediumtext: "''", c_longtext: "''", c_text_gbk: "''", c_tinyblob: "x''", c_blob: "x''", c_mediumblob: "x''", c_longblob: "x''",
    c_enum: "'a'", c_set: "''", c_json: "'[]'",
    c_geometry: g('POINT(0 0)'), c_point: g('POINT(-180 -90)'), c_linestring: g('LINESTRING(-1 -1,1 1)'), c_polygon: g('POLYGON((0 0,1 0,1 1,0 0))'),
    c_multipoint: g('MULTIPOINT(0 0)'), c_multilinestring: g('MULTILINESTRING((0 0,1 1))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(0 0))'), c_uuid: "'00000000-0000-0000-0000-000000000000'", c_inet6: "'::'", c_inet4: "'0.0.0.0'",
  },
  { id: '3' },
  {
    id: '4', c_tinyint: '0', c_bigint_u: '9223372036854775808', c_bit64: "b'1000000000000000000000000000000000000000000000000000000000000000'",
    c_dec: '0.000000000000000000000000000001', c_dec2: '0.05', c_dec0: '0', c_float: '1.1', c_float_ps: '0.001', c_double: '4.9e-324',
    c_date: "'0000-00-00'", c_time: "'00:00:00'", c_time1: "'-00:00:00.1'", c_time4: "'100:00:00.5'", c_time6: "'-00:00:00.000001'",
    c_dt: "'0000-00-00 00:00:00'", c_dt3: "'0000-00-00 00:00:00.000'", c_dt6: "'2024-02-29 12:34:56.000100'",
    c_ts: "'0000-00-00 00:00:00'", c_ts6: "'2024-03-31 01:30:00.5'", c_year: '0',
    c_char: "'  x'", c_varchar: "'trailing  '", c_latin1: "x'80818d8f909dff'", c_char_latin1: "'ab '", c_binary: "x'01'", c_varbinary: "x'0000'",
    c_enum: "'nope'", c_set: "'z,x'", c_json: `'"just a string"'`, c_geometry: g('GEOMETRYCOLLECTION EMPTY'),
    c_uuid: "'ffffffff-ffff-ffff-ffff-ffffffffffff'", c_inet6: "'::ffff:1.2.3.4'", c_inet4: "'10.0.0.1'",
  },
];

function insertSql(table: string, row: Record<string, string>): string {
  const names = Object.keys(row);
  return `INSERT INTO ${db}.${table} (${names.join(', ')}) VALUES (${names.map((n) => row[n]).join(', ')})`;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** How the server prints a column, in the consumer's conventions (type-zoo.test.ts). */
function printExpr(col: ColumnSchema): string {
  const c = `\`${col.name}\``;
  switch (col.type) {
    case 'bit': return `CAST(${c} + 0 AS CHAR)`;
    case 'float': return `CAST(CAST(${c} AS DOUBLE) AS CHAR)`;
    case 'binary': case 'varbinary': case 'tinyblob': case 'blob': case 'mediumblob': case 'longblob': return `HEX(${c})`;
    case 'geometry': case 'point': case 'linestring': case 'polygon': case 'multipoint':
    case 'multilinestring': case 'multipolygon': case 'geometrycollection': return `HEX(ST_AsBinary(${c}))`;
    default: return TEXT_TYPES.has(col.type) ? `CONCAT(HEX(${c}), '|', CAST(${c} AS CHAR CHARACTER SET utf8mb4))` : `CAST(${c} AS CHAR)`;
  }
}

function normalizeServerText(col: ColumnSchema, text: string | null): string | null {
  if (text === null || !['time', 'datetime', 'timestamp'].includes(col.type)) return text;
  const m = /^(.*)\.(\d+)$/.exec(text);
  if (!m) return text;
  return /^0+$/.test(m[2]!) ? m[1]! : `${m[1]}.${m[2]!.padEnd(6, '0')}`;
}

async function serverRow(schema: TableSchema, id: string): Promise<(string | null)[]> {
  const [rows] = await admin.query({ sql: `SELECT ${schema.columns.map(printExpr).join(', ')} FROM ${db}.zoo WHERE id = ${id}`, rowsAsArray: true });
  return (rows as (string | null)[][])[0]!.map((v, i) => normalizeServerText(schema.columns[i]!, v));
}

/** The consumer's JSON value of a column, in the server's conventions above. */
function consumedText(col: ColumnSchema, c: JsonColumn, side: 'before' | 'after'): string | null {
  const text = c[side];
  if (text === null) return null;
  if (TEXT_TYPES.has(col.type)) return `${c[side === 'before' ? 'beforeHex' : 'afterHex'] ?? ''}|${text}`;
  return text;
}

function assertColumns(schema: TableSchema, record: JsonRecord, side: 'before' | 'after', want: (string | null)[], where: string): void {
  assert.deepEqual(record.columns.map((c) => c.name), schema.columns.map((c) => c.name), where);
  schema.columns.forEach((col, i) => {
    const c = record.columns[i]!;
    const got = consumedText(col, c, side);
    const expected = want[i] ?? null;
    const at = `${where} ${col.name} (${col.type}, ${c.type})`;
    if (got !== null && expected !== null && TEXT_TYPES.has(col.type) && !col.charset?.startsWith('utf8') && col.type.endsWith('text')) {
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
  admin = await adminConnection();
  await admin.query(`SET time_zone = '+00:00', sql_mode = ''`);
  await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.zoo (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')}) CHARACTER SET utf8mb4`);
  await admin.query(`CREATE TABLE ${db}.plain (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4, amount DECIMAL(10,2))`);
});

after(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
  await admin?.end();
});

test('consume prints every operation and column type the synchronizer produced; verify finds no difference', async () => {
  const [{ broker }] = kafkaBrokers();
  const topic = uniqueName('it_czoo');
  const { configFile } = writeSyncConfig({ broker: broker!, objects: [`${db}.zoo`, `${db}.plain`], defaultTopic: topic, ddlEmit: true });
  const sync = await startSync(configFile);
  try {
    const schema = await readTableSchema(admin, db, 'zoo');
    const inserted = new Map<string, (string | null)[]>();
    for (const row of ROWS) {
      await admin.query(insertSql('zoo', row));
      inserted.set(row.id!, await serverRow(schema, row.id!));
    }
    await admin.query(`UPDATE ${db}.zoo SET c_int = c_int - 1, c_varchar = 'changed', c_dt6 = '2001-02-03 04:05:06.070809', c_point = NULL WHERE id = 1`);
    const updated = await serverRow(schema, '1');
    await admin.query(`DELETE FROM ${db}.zoo WHERE id = 2`);
    await admin.query(`ALTER TABLE ${db}.plain COMMENT 'touched'`);

    await readTopic(broker!, topic, (m) => m.length >= ROWS.length + 3);
    // INIT records, as the full-data sync writes them, for rows that never were in the binlog.
    await admin.query(`SET SESSION sql_log_bin = 0; INSERT INTO ${db}.plain VALUES (1, 'snap one', 1.50), (2, 'snap two', NULL); SET SESSION sql_log_bin = 1`);
    const plain = await readTableSchema(admin, db, 'plain');
    const [[status]] = (await admin.query('SHOW MASTER STATUS')) as unknown as [{ File: string; Position: string }[]];
    const low = { file: status!.File, position: Number(status!.Position) };
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
        value: Buffer.from(encodeEvent(e, { id: 10_000_000n + BigInt(i), sourceVersion: '10.11', readerTimestampMs: now * 1000 })),
        timestamp: String(now * 1000),
      })),
    });
    await producer.disconnect();
    await readTopic(broker!, topic, (m) => m.length >= ROWS.length + 5);

    // JSON: one object per line, every line parses.
    const json = await runCli('src/cli/consume-main.ts', ['--brokers', broker!, '--topic', topic, '--group', uniqueName('g'), '--checkpoint-file', 'none', '--format', 'json', '--exit-at-end']);
    assert.equal(json.code, 0, json.stderr);
    const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonRecord);
    assert.deepEqual(records.map((r) => r.operation), ['INSERT', 'INSERT', 'INSERT', 'INSERT', 'UPDATE', 'DELETE', 'DDL', 'INIT', 'INIT']);
    const zoo = records.filter((r) => r.table === 'zoo');
    zoo.slice(0, 4).forEach((r, i) => assertColumns(schema, r, 'after', inserted.get(ROWS[i]!.id!)!, `INSERT id ${ROWS[i]!.id}`));
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
