/**
 * Regenerates mysql-json.fixtures.json: each document of json-cases below is written into a
 * JSON column of the lab MySQL, its bytes taken from the binlog rows event (zongji's row
 * reader replaced by one that copies the column), and stored with the text the server
 * prints for it. Run: npx tsx test/unit/source/capture-mysql-json.mts (needs the lab MySQL).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import mysql2 from 'mysql2/promise';
import { BinlogReader } from '../../../src/source/binlog-reader.ts';



const u = (s: string) => `CONVERT(${s} USING utf8mb4)`;
const CASES: [string, string][] = [
  ['literal null', "CAST('null' AS JSON)"],
  ['literal true', "CAST('true' AS JSON)"],
  ['literal false', "CAST('false' AS JSON)"],
  ['top int16', "CAST('5' AS JSON)"],
  ['top int16 negative', "CAST('-32768' AS JSON)"],
  ['top int32', "CAST('2147483647' AS JSON)"],
  ['top int32 negative', "CAST('-2147483648' AS JSON)"],
  ['top int64 min', "CAST('-9223372036854775808' AS JSON)"],
  ['top int64 max', "CAST('9223372036854775807' AS JSON)"],
  ['top uint64 max', "CAST('18446744073709551615' AS JSON)"],
  ['top uint from unsigned', 'CAST(CAST(65535 AS UNSIGNED) AS JSON)'],
  ['top uint32', 'CAST(CAST(4294967295 AS UNSIGNED) AS JSON)'],
  ['top uint above 2^53', 'CAST(CAST(9007199254740993 AS UNSIGNED) AS JSON)'],
  ['top double 1e300', "CAST('1e300' AS JSON)"],
  ['top double -0', "CAST('-0.0' AS JSON)"],
  ['top double 1.0', "CAST('1.0' AS JSON)"],
  ['top string', "CAST('\"hello\"' AS JSON)"],
  ['top empty string', "CAST('\"\"' AS JSON)"],
  ['empty object', "CAST('{}' AS JSON)"],
  ['empty array', "CAST('[]' AS JSON)"],
  ['doubles', "JSON_ARRAY(1e300, -1.5e-7, 0.1, 1e15, 1e16, 1e14, 100.0e0, 1e-15, 1e-16, 5e-324, 1.7976931348623157e308, -2.5e-300, 1234567890123456.7, 12345678901234567890e0, 3.0, -0e0, 2.2250738585072014e-308)"],
  ['ints inline and not', "JSON_ARRAY(0, -1, 32767, -32768, 32768, -32769, 2147483647, -2147483648, 2147483648, -2147483649, 9223372036854775807, -9223372036854775808, 9223372036854775808, 18446744073709551615, 9007199254740993)"],
  ['literals in array', 'JSON_ARRAY(true, false, NULL)'],
  ['object key order', "JSON_OBJECT('bbb', 1, 'a', 2, 'cc', 3, 'aa', 4, '', 5)"],
  ['nested', `CAST('{"a": {"b": [1, {"c": [[], {}, [null]]}, "x"], "d": {"e": {"f": {"g": "deep"}}}}, "z": [1.5, -2, "s"]}' AS JSON)`],
  ['unicode', `JSON_OBJECT(${u("'ключ'")}, ${u("'значение 中文 😀 é'")}, ${u("'😀'")}, ${u("'𝄞'")})`],
  ['escapes', `JSON_ARRAY(${u("'quote\" backslash\\\\ slash/'")}, ${u("CONCAT('nl', CHAR(10), 'cr', CHAR(13), 'tab', CHAR(9), 'bs', CHAR(8), 'ff', CHAR(12))")}, ${u("CONCAT(CHAR(0), CHAR(1), CHAR(30), CHAR(31), CHAR(127), '~')")})`],
  ['escaped keys', `JSON_OBJECT(${u("CONCAT('k', CHAR(10), '\"')")}, 1)`],
  ['long strings', `JSON_ARRAY(REPEAT('a', 127), REPEAT('b', 128), REPEAT('c', 16383), REPEAT('d', 16384), ${u("REPEAT('é', 100)")})`],
  ['opaque date', "CAST(CAST('2020-01-02' AS DATE) AS JSON)"],
  ['opaque object', "JSON_OBJECT('d', CAST('2020-01-02' AS DATE), 'n', CAST(1.50 AS DECIMAL(5,2)), 'b', x'00ff', 't', CAST('12:34:56.789' AS TIME(3)), 'dt', CAST('2020-01-02 03:04:05.5' AS DATETIME(1)))"],
  ['opaque temporal', "JSON_ARRAY(CAST('2020-01-02 03:04:05' AS DATETIME), CAST('-01:02:03' AS TIME), CAST('838:59:59' AS TIME), CAST('-838:59:58.999999' AS TIME(6)), CAST('-00:00:00.5' AS TIME(1)), CAST('9999-12-31 23:59:59.999999' AS DATETIME(6)), CAST('1000-01-01' AS DATE), TIMESTAMP'2038-01-19 03:14:07.123456', CAST('0001-01-01 00:00:00' AS DATETIME))"],
  ['opaque decimals', "JSON_ARRAY(CAST(-0.00 AS DECIMAL(5,2)), CAST(123 AS DECIMAL(10,0)), CAST(-1e-30 AS DECIMAL(65,30)), CAST('99999999999999999999999999999999999.999999999999999999999999999999' AS DECIMAL(65,30)), CAST(-12345.678 AS DECIMAL(20,3)), CAST(0.5 AS DECIMAL(1,1)))"],
  ['opaque binary', "JSON_ARRAY(x'', x'00', x'00ff', CAST('abc' AS BINARY(5)), b'101', REPEAT(x'ff', 100), REPEAT(x'01', 57), REPEAT(x'02', 58))"],
  ['opaque top binary', "CAST(x'00ff' AS JSON)"],
  ['year and geometry', "JSON_ARRAY(CAST(2024 AS YEAR), ST_GeomFromText('POINT(1 2)'))"],
  ['large object', "JSON_OBJECT('a', REPEAT('x', 70000), 'b', 1, 'c', 70000, 'd', -2147483648, 'e', true, 'f', CAST(1.5 AS DECIMAL(2,1)), 'g', JSON_ARRAY(1, 2))"],
  ['large array', "JSON_ARRAY(REPEAT('y', 66000), 1, -1, 65536, 2147483647, 4294967295, false, NULL, 1.25, JSON_OBJECT('k', 'v'))"],
  ['large nested in small', "JSON_OBJECT('outer', JSON_ARRAY(REPEAT('z', 66000), 7))"],
  ['text cast 1e300', `CAST('{"x": 1e300, "y": 1E+2, "z": -0.0, "w": 12345678901234567890}' AS JSON)`],
];
const UPDATES: [string, string, string][] = [
  ['partial update leaves a gap', `CAST('{"a": "${'long'.repeat(50)}", "b": [1, 2, 3]}' AS JSON)`, "JSON_SET(j, '$.a', 'short')"],
  ['partial replace in array', `CAST('[1, "${'x'.repeat(100)}", 3]' AS JSON)`, "JSON_REPLACE(j, '$[1]', 'y', '$[2]', 4)"],
];

const port = Number(process.env.LAB_MYSQL_PORT ?? 13307);
const admin = await mysql2.createConnection({ host: '127.0.0.1', port, user: 'lab_admin', password: 'lab_admin_pw', multipleStatements: true, charset: 'utf8mb4' });
await admin.query("SET time_zone = '+00:00'; DROP DATABASE IF EXISTS probe_json; CREATE DATABASE probe_json; CREATE TABLE probe_json.t (id INT NOT NULL PRIMARY KEY, j JSON NULL)");
const images: Buffer[] = [];
const reader = new BinlogReader({
  connection: { host: '127.0.0.1', port, user: 'dts_sync', password: 'dts_sync_pw' },
  serverId: 7778, startAt: 'end', include: { probe_json: ['t'] },
  onEvent: () => {}, onError: (e) => { console.error('ERR', e); },
});
await reader.start();
const index = createRequire(import.meta.url).resolve('@vlasky/zongji');
const rows = await import(pathToFileURL(path.join(path.dirname(index), 'lib', 'rows_event.js')).href);
const proto = Object.getPrototypeOf(rows.WriteRows.prototype);
function one(parser: { _buffer: Buffer; _offset: number }): Buffer {
  const b = parser._buffer;
  let o = parser._offset;
  const nulls = b[o]!; o += 1 + 4;
  let data = Buffer.alloc(0);
  if ((nulls & 2) === 0) { const n = b.readUInt32LE(o); data = Buffer.from(b.subarray(o + 4, o + 4 + n)); o += 4 + n; }
  parser._offset = o;
  images.push(data);
  return data;
}
proto._fetchOneRow = function (p: never) { return one(p); };
rows.UpdateRows.prototype._fetchOneRow = function (p: never) { one(p); return one(p); };
const out: { name: string; binary: string; text: string }[] = [];
let id = 0;
for (const [name, expr] of CASES) {
  id++;
  await admin.query(`INSERT INTO probe_json.t VALUES (${id}, ${expr})`);
  const [r] = await admin.query(`SELECT CAST(j AS CHAR CHARACTER SET utf8mb4) AS t FROM probe_json.t WHERE id = ${id}`) as [{ t: string }[], unknown];
  while (images.length < out.length + 1) await new Promise((res) => setTimeout(res, 20));
  out.push({ name, binary: deflateSync(images[out.length]!).toString('base64'), text: r[0]!.t });
}
for (const [name, from, set] of UPDATES) {
  id++;
  await admin.query(`INSERT INTO probe_json.t VALUES (${id}, ${from})`);
  await admin.query(`UPDATE probe_json.t SET j = ${set} WHERE id = ${id}`);
  const [r] = await admin.query(`SELECT CAST(j AS CHAR CHARACTER SET utf8mb4) AS t FROM probe_json.t WHERE id = ${id}`) as [{ t: string }[], unknown];
  // the insert's image, then the update's before and after
  while (images.length < out.length + 3) await new Promise((res) => setTimeout(res, 20));
  images.splice(out.length, 2);
  out.push({ name, binary: deflateSync(images[out.length]!).toString('base64'), text: r[0]!.t });
}
reader.stop();
await admin.query('DROP DATABASE probe_json');
await admin.end();
writeFileSync(new URL('./mysql-json.fixtures.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`captured ${out.length}`);
