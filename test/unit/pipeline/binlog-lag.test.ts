import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesBehind } from '../../../src/pipeline/binlog-lag.ts';

const files = [
  { name: 'mysql-bin.000001', size: 1000 },
  { name: 'mysql-bin.000002', size: 500 },
  { name: 'mysql-bin.000003', size: 300 },
];

test('bytes behind: the rest of the file read, then every later file', () => {
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000003', position: 300 }), 0);
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000003', position: 120 }), 180);
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000002', position: 400 }), 100 + 300);
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000001', position: 4 }), 996 + 500 + 300);
});

test('a file the source no longer lists is unknown, and a position past a file end counts 0 for it', () => {
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000000', position: 4 }), null);
  assert.equal(bytesBehind(files, { file: 'mysql-bin.000003', position: 999 }), 0);
});
