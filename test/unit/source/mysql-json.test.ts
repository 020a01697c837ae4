/**
 * The binary JSON printer against the real server: every document in the fixture file was
 * captured from MySQL 9.7's binlog (the JSON column's bytes of a rows event) together with
 * what the server printed for it (CAST(j AS CHAR)). The fixture covers every value type:
 * small and large objects and arrays, literals, [u]int16/32/64, doubles, strings of every
 * length-size, opaque DATE/TIME/DATETIME/TIMESTAMP/DECIMAL/binary, and a document with the
 * gap a partial update leaves. capture-mysql-json.mts regenerates it from the lab MySQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { isSyncError } from '../../../src/errors.ts';
import { jsonDouble, mysqlBase64, mysqlJsonText } from '../../../src/source/mysql-json.ts';

interface Captured { readonly name: string; readonly binary: string; readonly text: string }
const CAPTURED: Captured[] = JSON.parse(readFileSync(new URL('./mysql-json.fixtures.json', import.meta.url), 'utf8'));
const bytesOf = (c: Captured) => inflateSync(Buffer.from(c.binary, 'base64'));
const byName = (name: string) => CAPTURED.find((c) => c.name === name)!;

test('every captured document prints exactly as MySQL 9.7 printed it', () => {
  assert.ok(CAPTURED.length >= 40);
  for (const c of CAPTURED) assert.equal(mysqlJsonText(bytesOf(c)), c.text, c.name);
});

test('the fixture holds the formats it claims to cover', () => {
  // type bytes of the top-level values: large object and array, int64, uint64, double, opaque
  assert.equal(bytesOf(byName('large object'))[0], 0x01);
  assert.equal(bytesOf(byName('large array'))[0], 0x03);
  assert.equal(bytesOf(byName('top int64 min'))[0], 0x09);
  assert.equal(bytesOf(byName('top uint from unsigned'))[0], 0x06);
  assert.equal(bytesOf(byName('top uint32'))[0], 0x08);
  assert.equal(bytesOf(byName('top uint64 max'))[0], 0x0a);
  assert.equal(bytesOf(byName('top double 1e300'))[0], 0x0b);
  assert.equal(bytesOf(byName('opaque top binary'))[0], 0x0f);
  assert.equal(byName('top double 1e300').text, '1e300');
  assert.match(byName('opaque object').text, /"n": 1\.50/);
});

test('64-bit integers stay exact beyond 2^53', () => {
  assert.equal(mysqlJsonText(bytesOf(byName('top uint above 2^53'))), '9007199254740993');
  const doc = Buffer.alloc(9);
  doc[0] = 0x0a;
  doc.writeBigUInt64LE(18446744073709551615n, 1);
  assert.equal(mysqlJsonText(doc), '18446744073709551615');
  doc[0] = 0x09;
  doc.writeBigInt64LE(-9007199254740993n, 1);
  assert.equal(mysqlJsonText(doc), '-9007199254740993');
});

test('doubles print as the server prints them, with .0 where the text reads as an integer', () => {
  assert.equal(jsonDouble(1e300), '1e300');
  assert.equal(jsonDouble(1), '1.0');
  assert.equal(jsonDouble(-0), '-0.0');
  assert.equal(jsonDouble(1e14), '100000000000000.0');
  assert.equal(jsonDouble(1e15), '1e15');
  assert.equal(jsonDouble(-1.5e-7), '-0.00000015');
});

test('opaque binary is base64 with a newline every 76 characters, escaped in the string', () => {
  assert.equal(mysqlBase64(Buffer.alloc(57, 1)).length, 76);
  assert.equal(mysqlBase64(Buffer.alloc(58, 2)).split('\n').length, 2);
  const doc = Buffer.concat([Buffer.from([0x0f, 15, 58]), Buffer.alloc(58, 0xff)]);
  assert.match(mysqlJsonText(doc), /^"base64:type15:\/{76}\\n\/{1,}w==?"$/);
});

test('an empty value is the JSON null literal, as the server reads it', () => {
  assert.equal(mysqlJsonText(Buffer.alloc(0)), 'null');
});

test('a corrupt document is DECODE_FAILED, never a wrong text', () => {
  const full = bytesOf(byName('nested'));
  for (const bad of [full.subarray(0, full.length - 3), Buffer.from([0x0c, 0x05, 0x61]), Buffer.from([0x0e, 0]), Buffer.from([0x04, 7])]) {
    assert.throws(() => mysqlJsonText(bad), (e: unknown) => isSyncError(e) && e.code === 'DECODE_FAILED');
  }
});
