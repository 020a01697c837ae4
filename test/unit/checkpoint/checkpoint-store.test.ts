import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readCheckpoint, writeCheckpoint } from '../../../src/checkpoint/checkpoint-store.ts';

const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-')), 'sub', 'checkpoint.json');

test('a missing checkpoint reads as null; a written one reads back', () => {
  const file = tmp();
  assert.equal(readCheckpoint(file), null);
  writeCheckpoint(file, { binlog: { file: 'mysql-bin.000003', position: 1234, gtid: '0-1-9' }, idReservedUntil: '2000001', snapshot: null });
  const c = readCheckpoint(file)!;
  assert.deepEqual(c.binlog, { file: 'mysql-bin.000003', position: 1234, gtid: '0-1-9' });
  assert.equal(c.idReservedUntil, '2000001');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['checkpoint.json'], 'no temporary file is left behind');
});

test('a truncated or corrupt checkpoint is a clear error, never a start from elsewhere', () => {
  const file = tmp();
  writeCheckpoint(file, { binlog: { file: 'mysql-bin.000003', position: 1234, gtid: null }, idReservedUntil: '1', snapshot: null });
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, text.length / 2));
  assert.throws(() => readCheckpoint(file), (e: Error & { code?: string }) => e.code === 'CHECKPOINT_CORRUPT' && /not valid JSON/.test(e.message) && /--start-position/.test(e.message));
  fs.writeFileSync(file, JSON.stringify({ version: 1, binlog: { file: 'mysql-bin.000003', position: 'x', gtid: null }, idReservedUntil: '1', snapshot: null }));
  assert.throws(() => readCheckpoint(file), /binlog.position is not a position/);
  fs.writeFileSync(file, JSON.stringify({ version: 7 }));
  assert.throws(() => readCheckpoint(file), /unknown version 7/);
});
