/**
 * The codec's proof against the real server: a table with every column type, rows at the
 * extremes, read from the real binlog through zongji, normalised, encoded as DTS records,
 * decoded and rendered; every column of every image must equal what MariaDB itself prints
 * for that value (CAST(... AS CHAR), HEX(...), HEX(ST_AsBinary(...)) as fits).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type mysql from 'mysql2/promise';
import mysql2 from 'mysql2/promise';
import type { ColumnValue } from '../../src/model/column-value.ts';
import { rawRow } from '../../src/snapshot/chunk-query.ts';
import { prepareSnapshotConnection, readChunk, readChunkTable } from '../../src/snapshot/snapshot-source.ts';
import { decodeRecord, renderRecord } from '../../src/dts/decoder.ts';
import { encodeEvent } from '../../src/dts/encoder.ts';
import type { RowChangeEvent } from '../../src/model/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../src/model/table-schema.ts';
import { BinlogReader, type BinlogRowsEvent } from '../../src/source/binlog-reader.ts';
import { normalizeRow } from '../../src/source/row-normalizer.ts';
import { resolveTableSchema } from '../../src/source/table-schema-resolver.ts';
import { readTableSchema } from '../../src/source/schema-reader.ts';
import type { RawValue } from '../../src/source/zongji-exact-rows.ts';
import { adminConnection, ensureLab, LAB_SYNC_USER, labPorts, uniqueName } from './lab.ts';

const db = uniqueName('it_zoo');
let admin: mysql.Connection;

const COLUMNS: [string, string][] = [
  ['id', 'INT PRIMARY KEY'],
  ['c_tinyint', 'TINYINT'], ['c_tinyint_u', 'TINYINT UNSIGNED'],
  ['c_smallint', 'SMALLINT'], ['c_smallint_u', 'SMALLINT UNSIGNED'],
  ['c_mediumint', 'MEDIUMINT'], ['c_mediumint_u', 'MEDIUMINT UNSIGNED'],
  ['c_int', 'INT'], ['c_int_u', 'INT UNSIGNED'],
  ['c_bigint', 'BIGINT'], ['c_bigint_u', 'BIGINT UNSIGNED'],
  ['c_bit1', 'BIT(1)'], ['c_bit13', 'BIT(13)'], ['c_bit64', 'BIT(64)'],
  ['c_dec', 'DECIMAL(65,30)'], ['c_dec2', 'DECIMAL(12,2)'], ['c_dec0', 'DECIMAL(10,0)'],
  ['c_float', 'FLOAT'], ['c_float_ps', 'FLOAT(7,3)'], ['c_double', 'DOUBLE'],
  ['c_date', 'DATE'],
  ['c_time', 'TIME'], ['c_time1', 'TIME(1)'], ['c_time4', 'TIME(4)'], ['c_time6', 'TIME(6)'],
  ['c_dt', 'DATETIME'], ['c_dt2', 'DATETIME(2)'], ['c_dt3', 'DATETIME(3)'], ['c_dt5', 'DATETIME(5)'], ['c_dt6', 'DATETIME(6)'],
  ['c_ts', 'TIMESTAMP NULL'], ['c_ts3', 'TIMESTAMP(3) NULL'], ['c_ts6', 'TIMESTAMP(6) NULL'],
  ['c_year', 'YEAR'],
  ['c_char', 'CHAR(10) CHARACTER SET utf8mb4'], ['c_varchar', 'VARCHAR(64) CHARACTER SET utf8mb4'],
  ['c_latin1', 'VARCHAR(20) CHARACTER SET latin1'], ['c_gbk', 'VARCHAR(20) CHARACTER SET gbk'],
  ['c_utf8mb3', 'VARCHAR(20) CHARACTER SET utf8mb3'], ['c_char_latin1', 'CHAR(4) CHARACTER SET latin1'],
  ['c_binary', 'BINARY(8)'], ['c_varbinary', 'VARBINARY(16)'],
  ['c_tinytext', 'TINYTEXT'], ['c_text', 'TEXT'], ['c_mediumtext', 'MEDIUMTEXT'], ['c_longtext', 'LONGTEXT'],
  ['c_text_gbk', 'TEXT CHARACTER SET gbk'],
  ['c_tinyblob', 'TINYBLOB'], ['c_blob', 'BLOB'], ['c_mediumblob', 'MEDIUMBLOB'], ['c_longblob', 'LONGBLOB'],
  ['c_enum', "ENUM('a','b,c','d')"], ['c_set', "SET('x','y','z')"], ['c_json', 'JSON'],
  ['c_geometry', 'GEOMETRY'], ['c_point', 'POINT'], ['c_linestring', 'LINESTRING'], ['c_polygon', 'POLYGON'],
  ['c_multipoint', 'MULTIPOINT'], ['c_multilinestring', 'MULTILINESTRING'], ['c_multipolygon', 'MULTIPOLYGON'],
  ['c_geomcollection', 'GEOMETRYCOLLECTION'],
  ['c_uuid', 'UUID'], ['c_inet6', 'INET6'], ['c_inet4', 'INET4'],
];

const g = (wkt: string, srid = 0) => `ST_GeomFromText('${wkt}', ${srid})`;

// Each row: column -> SQL literal. Columns left out are NULL.
const ROWS: Record<string, string>[] = [
  { // the maxima
    id: '1', c_tinyint: '127', c_tinyint_u: '255', c_smallint: '32767', c_smallint_u: '65535',
    c_mediumint: '8388607', c_mediumint_u: '16777215', c_int: '2147483647', c_int_u: '4294967295',
    c_bigint: '9223372036854775807', c_bigint_u: '18446744073709551615',
    c_bit1: "b'1'", c_bit13: "b'1111111111111'", c_bit64: "b'1111111111111111111111111111111111111111111111111111111111111111'",
    c_dec: '99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '9999999999.99', c_dec0: '9999999999',
    c_float: '3.40282e38', c_float_ps: '9999.999', c_double: '1.7976931348623157e308',
    c_date: "'9999-12-31'", c_time: "'838:59:59'", c_time1: "'838:59:59.9'", c_time4: "'838:59:59.9999'", c_time6: "'838:59:59.000000'",
    c_dt: "'9999-12-31 23:59:59'", c_dt2: "'9999-12-31 23:59:59.99'", c_dt3: "'9999-12-31 23:59:59.999'",
    c_dt5: "'9999-12-31 23:59:59.99999'", c_dt6: "'9999-12-31 23:59:59.999999'",
    c_ts: "'2038-01-19 03:14:07'", c_ts3: "'2038-01-19 03:14:07.999'", c_ts6: "'2038-01-19 03:14:07.999999'", c_year: '2155',
    c_char: "'a😀b'", c_varchar: "'héllo wörld 😀 中文'", c_latin1: "'café €'", c_gbk: "'中文字符'", c_utf8mb3: "'ünïcödé'",
    c_char_latin1: "'ÿ'", c_binary: "x'0102030405060708'", c_varbinary: "x'00ff00ff'",
    c_tinytext: "'tiny 😀'", c_text: "'text é'", c_mediumtext: "REPEAT('m', 70000)", c_longtext: "'long 中'", c_text_gbk: "'汉字'",
    c_tinyblob: "x'00'", c_blob: "x'deadbeef'", c_mediumblob: "x'ff00'", c_longblob: 'REPEAT(x\'ab\', 100000)',
    c_enum: "'d'", c_set: "'x,y,z'", c_json: `'{"a": [1, 2.5, "é", null, true], "big": 18446744073709551615}'`,
    c_geometry: g('POLYGON((0 0,10 0,10 10,0 10,0 0))', 4326), c_point: g('POINT(1.5 -2.25)'), c_linestring: g('LINESTRING(0 0,1 1,2 2)'),
    c_polygon: g('POLYGON((0 0,4 0,4 4,0 0),(1 1,2 1,2 2,1 1))'), c_multipoint: g('MULTIPOINT(1 1,2 2)'),
    c_multilinestring: g('MULTILINESTRING((0 0,1 1),(2 2,3 3))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'),
    c_uuid: "'123e4567-e89b-12d3-a456-426655440000'", c_inet6: "'2001:db8::ff00:42:8329'", c_inet4: "'255.255.255.255'",
  },
  { // the minima
    id: '2', c_tinyint: '-128', c_tinyint_u: '0', c_smallint: '-32768', c_smallint_u: '0',
    c_mediumint: '-8388608', c_mediumint_u: '0', c_int: '-2147483648', c_int_u: '0',
    c_bigint: '-9223372036854775808', c_bigint_u: '0', c_bit1: "b'0'", c_bit13: "b'0'", c_bit64: "b'0'",
    c_dec: '-99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '-9999999999.99', c_dec0: '-9999999999',
    c_float: '-3.40282e38', c_float_ps: '-9999.999', c_double: '-1.7976931348623157e308',
    c_date: "'1000-01-01'", c_time: "'-838:59:59'", c_time1: "'-838:59:59.9'", c_time4: "'-00:00:00.0001'", c_time6: "'-00:00:01.500000'",
    c_dt: "'1000-01-01 00:00:00'", c_dt2: "'1000-01-01 00:00:00.01'", c_dt3: "'1000-01-01 00:00:00.001'",
    c_dt5: "'1000-01-01 00:00:00.00001'", c_dt6: "'1000-01-01 00:00:00.000001'",
    c_ts: "'1970-01-01 00:00:01'", c_ts3: "'1970-01-01 00:00:01.001'", c_ts6: "'1970-01-01 00:00:01.000001'", c_year: '1901',
    c_char: "''", c_varchar: "''", c_latin1: "''", c_gbk: "''", c_utf8mb3: "''", c_char_latin1: "''",
    c_binary: "x''", c_varbinary: "x''", c_tinytext: "''", c_text: "''", c_mediumtext: "''", c_longtext: "''", c_text_gbk: "''",
    c_tinyblob: "x''", c_blob: "x''", c_mediumblob: "x''", c_longblob: "x''",
    c_enum: "'a'", c_set: "''", c_json: "'[]'",
    c_geometry: g('POINT(0 0)'), c_point: g('POINT(-180 -90)'), c_linestring: g('LINESTRING(-1 -1,1 1)'),
    c_polygon: g('POLYGON((0 0,1 0,1 1,0 0))'), c_multipoint: g('MULTIPOINT(0 0)'),
    c_multilinestring: g('MULTILINESTRING((0 0,1 1))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(0 0))'),
    c_uuid: "'00000000-0000-0000-0000-000000000000'", c_inet6: "'::'", c_inet4: "'0.0.0.0'",
  },
  { id: '3' }, // NULL in every column
  { // zero dates, the invalid ENUM value, YEAR 0000 and other oddities (non-strict sql_mode)
    id: '4', c_tinyint: '0', c_bigint_u: '9223372036854775808', c_bit64: "b'1000000000000000000000000000000000000000000000000000000000000000'",
    c_dec: '0.000000000000000000000000000001', c_dec2: '0.05', c_dec0: '0',
    c_float: '1.1', c_float_ps: '0.001', c_double: '4.9e-324',
    c_date: "'0000-00-00'", c_time: "'00:00:00'", c_time1: "'-00:00:00.1'", c_time4: "'100:00:00.5'", c_time6: "'-00:00:00.000001'",
    c_dt: "'0000-00-00 00:00:00'", c_dt3: "'0000-00-00 00:00:00.000'", c_dt6: "'2024-02-29 12:34:56.000100'",
    c_ts: "'0000-00-00 00:00:00'", c_ts6: "'2024-03-31 01:30:00.5'", c_year: '0',
    c_char: "'  x'", c_varchar: "'trailing  '", c_latin1: "x'80818d8f909dff'", c_char_latin1: "'ab '",
    c_binary: "x'01'", c_varbinary: "x'0000'", c_enum: "'nope'", c_set: "'z,x'",
    c_json: `'"just a string"'`, c_geometry: g('GEOMETRYCOLLECTION EMPTY'),
    c_uuid: "'ffffffff-ffff-ffff-ffff-ffffffffffff'", c_inet6: "'::ffff:1.2.3.4'", c_inet4: "'10.0.0.1'",
  },
];

function insertSql(row: Record<string, string>): string {
  const names = Object.keys(row);
  return `INSERT INTO ${db}.zoo (${names.join(', ')}) VALUES (${names.map((n) => row[n]).join(', ')})`;
}

/** The SQL that makes the server print a column the way the decoder renders it. */
function printExpr(col: ColumnSchema): string {
  const c = `\`${col.name}\``;
  switch (col.type) {
    case 'bit': return `CAST(${c} + 0 AS CHAR)`;
    case 'float': return `CAST(CAST(${c} AS DOUBLE) AS CHAR)`;
    case 'binary': case 'varbinary': case 'tinyblob': case 'blob': case 'mediumblob': case 'longblob': return `HEX(${c})`;
    case 'geometry': case 'point': case 'linestring': case 'polygon': case 'multipoint':
    case 'multilinestring': case 'multipolygon': case 'geometrycollection': return `HEX(ST_AsBinary(${c}))`;
    case 'char': case 'varchar': case 'tinytext': case 'text': case 'mediumtext': case 'longtext':
      return `CONCAT(HEX(${c}), '|', CAST(${c} AS CHAR CHARACTER SET utf8mb4))`;
    default: return `CAST(${c} AS CHAR)`;
  }
}

/** What the server printed, in the decoder's conventions (six fraction digits or none). */
function normalizeServerText(col: ColumnSchema, text: string | null): string | null {
  if (text === null) return null;
  if (col.type === 'time' || col.type === 'datetime' || col.type === 'timestamp') {
    const m = /^(.*)\.(\d+)$/.exec(text);
    if (!m) return text;
    return /^0+$/.test(m[2]!) ? m[1]! : `${m[1]}.${m[2]!.padEnd(6, '0')}`;
  }
  return text;
}

/** The decoder's rendering of one column in the server's conventions, for comparison. */
function decodedText(col: ColumnSchema, rendered: string | null, bytes: Buffer | null): string | null {
  if (rendered === null) return null;
  switch (col.type) {
    case 'char': case 'varchar': case 'tinytext': case 'text': case 'mediumtext': case 'longtext':
      return `${bytes!.toString('hex').toUpperCase()}|${rendered}`;
    default: return rendered;
  }
}

function isTextObject(col: ColumnSchema): boolean {
  return ['tinytext', 'text', 'mediumtext', 'longtext'].includes(col.type);
}

async function serverImages(schema: TableSchema): Promise<Map<string, (string | null)[]>> {
  const [rows] = await admin.query(`SELECT ${schema.columns.map(printExpr).join(', ')} FROM ${db}.zoo`);
  const out = new Map<string, (string | null)[]>();
  for (const r of rows as Record<string, string | null>[]) {
    const values = Object.values(r).map((v, i) => normalizeServerText(schema.columns[i]!, v));
    out.set(values[0]!, values);
  }
  return out;
}

before(async () => {
  await ensureLab({ kafka: false });
  admin = await adminConnection();
  await admin.query(`SET time_zone = '+00:00', sql_mode = ''`);
  await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.zoo (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')}) CHARACTER SET utf8mb4`);
});

after(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
  await admin?.end();
});

test('every column type survives binlog → DTS record → decoder exactly as MariaDB prints it', async () => {
  const schema = await readTableSchema(admin, db, 'zoo');
  assert.equal(schema.columns.length, COLUMNS.length);
  assert.equal(schema.columns.find((c) => c.name === 'c_json')!.type, 'json');

  const events: BinlogRowsEvent[] = [];
  const reader = new BinlogReader({
    connection: { host: '127.0.0.1', port: labPorts().MARIADB_PORT, ...LAB_SYNC_USER },
    serverId: 4100 + Math.floor(Math.random() * 1000),
    startAt: 'end',
    include: { [db]: ['zoo'] },
    onEvent: (e) => { if (e.kind === 'rows') events.push(e); },
    onError: (e) => { throw e; },
  });
  await reader.start();

  // The statements, and what the server printed for each image at that moment.
  const expected: { operation: string; before: (string | null)[] | null; after: (string | null)[] | null }[] = [];
  try {
    for (const row of ROWS) {
      await admin.query(insertSql(row));
      expected.push({ operation: 'INSERT', before: null, after: (await serverImages(schema)).get(row.id!)! });
    }
    const beforeUpdate = (await serverImages(schema)).get('1')!;
    await admin.query(`UPDATE ${db}.zoo SET c_int = c_int - 1, c_varchar = 'changed', c_dt6 = '2001-02-03 04:05:06.070809', c_point = NULL WHERE id = 1`);
    expected.push({ operation: 'UPDATE', before: beforeUpdate, after: (await serverImages(schema)).get('1')! });
    const beforeDelete = (await serverImages(schema)).get('2')!;
    await admin.query(`DELETE FROM ${db}.zoo WHERE id = 2`);
    expected.push({ operation: 'DELETE', before: beforeDelete, after: null });

    const deadline = Date.now() + 20_000;
    while (events.reduce((n, e) => n + e.rows.length, 0) < expected.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    reader.stop();
  }

  const changes: RowChangeEvent[] = events.flatMap((e) => e.rows.map((r): RowChangeEvent => {
    // The schema in force at the event, from its TableMap (FULL metadata) and the table's current entry.
    const inForce = resolveTableSchema(e.tableMap, schema);
    assert.deepEqual(inForce, schema);
    const images = e.operation === 'UPDATE' ? (r as { before: RawValue[]; after: RawValue[] }) : null;
    const raw = r as RawValue[];
    return {
      kind: 'row',
      operation: e.operation,
      table: schema,
      before: e.operation === 'INSERT' ? null : normalizeRow(schema, images ? images.before : raw),
      after: e.operation === 'DELETE' ? null : normalizeRow(schema, images ? images.after : raw),
      source: { position: e.position, transactionStart: e.transaction.start, commitTimestamp: e.transaction.commitTimestamp, serverId: 1, threadId: 0, gtid: e.transaction.gtid },
    };
  }));
  assert.deepEqual(changes.map((c) => c.operation), expected.map((x) => x.operation));

  let compared = 0;
  changes.forEach((change, i) => {
    const decoded = renderRecord(decodeRecord(encodeEvent(change, { id: BigInt(i + 1), sourceVersion: '10.11', readerTimestampMs: Date.now() })));
    assert.equal(decoded.operation, expected[i]!.operation);
    assert.equal(decoded.columns.length, schema.columns.length);
    schema.columns.forEach((col, j) => {
      const d = decoded.columns[j]!;
      assert.equal(d.name, col.name);
      for (const side of ['before', 'after'] as const) {
        const want = expected[i]![side]?.[j] ?? null;
        const got = decodedText(col, d[side], side === 'before' ? d.beforeBytes : d.afterBytes);
        const where = `${change.operation} id=${expected[i]![side === 'before' ? 'before' : 'after']?.[0]} ${side} ${col.name} (${col.type})`;
        if (isTextObject(col) && !col.charset?.startsWith('utf8') && want !== null && got !== null) {
          // A DTS BinaryObject carries no charset, so only a UTF-8 TEXT renders as text;
          // for the others the bytes are what must survive.
          assert.equal(got.split('|')[0], want.split('|')[0], where);
        } else if (col.type === 'float' && want !== null && got !== null) {
          // The server prints FLOAT with 6 digits; compare the float32 values themselves.
          assert.equal(Math.fround(Number(got)), Math.fround(Number(want)), where);
        } else {
          assert.equal(got, want, where);
        }
        if (expected[i]![side]) compared++;
      }
    });
  });
  // 4 inserts + update (2 images) + delete = 7 images, every column of each.
  assert.equal(compared, 7 * COLUMNS.length);
});

test('the full-data sync reads every column type to the very values the binlog gives', async () => {
  await admin.query(`DELETE FROM ${db}.zoo`);
  for (const row of ROWS) await admin.query(insertSql(row));
  const snap = await mysql2.createConnection({ host: '127.0.0.1', port: labPorts().MARIADB_PORT, ...LAB_SYNC_USER, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
  const fromSnapshot = new Map<string, ColumnValue[]>();
  let chunks = 0;
  try {
    await prepareSnapshotConnection(snap);
    const table = await readChunkTable(snap, db, 'zoo');
    // Two rows a chunk, so that paging over the key is exercised too.
    let after: readonly string[] | null = null;
    for (;;) {
      const chunk = await readChunk(snap, table, after, 2);
      if (chunk.rows.length === 0) break;
      chunks++;
      for (const fields of chunk.rows) {
        const values = normalizeRow(table.schema, rawRow(table.schema, fields));
        fromSnapshot.set(String(values[0]), values);
      }
      after = chunk.lastKey;
    }
  } finally {
    await snap.end();
  }
  assert.equal(fromSnapshot.size, ROWS.length);
  assert.ok(chunks >= 2, 'read in several chunks');

  // The binlog's images of the same rows: the DELETE's before images.
  const events: BinlogRowsEvent[] = [];
  const reader = new BinlogReader({
    connection: { host: '127.0.0.1', port: labPorts().MARIADB_PORT, ...LAB_SYNC_USER },
    serverId: 5100 + Math.floor(Math.random() * 1000),
    startAt: 'end',
    include: { [db]: ['zoo'] },
    onEvent: (e) => { if (e.kind === 'rows') events.push(e); },
    onError: (e) => { throw e; },
  });
  await reader.start();
  try {
    await admin.query(`DELETE FROM ${db}.zoo`);
    const deadline = Date.now() + 20_000;
    while (events.reduce((n, e) => n + e.rows.length, 0) < ROWS.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    reader.stop();
  }
  const schema = await readTableSchema(admin, db, 'zoo');
  const fromBinlog = events.flatMap((e) => e.rows.map((r) => normalizeRow(schema, r as RawValue[])));
  assert.equal(fromBinlog.length, ROWS.length);
  for (const values of fromBinlog) {
    const id = String(values[0]);
    const snapped = fromSnapshot.get(id);
    assert.ok(snapped, `row ${id} read by the snapshot`);
    schema.columns.forEach((col, j) => assert.deepEqual(snapped[j], values[j], `row ${id} column ${col.name} (${col.type})`));
  }
});
