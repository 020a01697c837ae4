import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readLocalCheckpoint, writeLocalCheckpoint } from '../../../src/consumer/local-checkpoint.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-ckpt-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('written atomically, read back exactly; none is null', () => {
  const file = path.join(dir, 'sub', 'c.json');
  assert.equal(readLocalCheckpoint(file, 't', 'g'), null);
  const partitions = new Map([[1, { offset: 9_007_199_254_740_993n, timestamp: 1714557600 }], [0, { offset: 5n, timestamp: 1 }]]);
  writeLocalCheckpoint(file, { topic: 't', group: 'g', partitions });
  const back = readLocalCheckpoint(file, 't', 'g')!;
  assert.deepEqual([...back.partitions].sort((a, b) => a[0] - b[0]), [[0, { offset: 5n, timestamp: 1 }], [1, { offset: 9_007_199_254_740_993n, timestamp: 1714557600 }]]);
  const text = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(text.partitions['1'], { offset: '9007199254740993', timestamp: 1714557600 });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['c.json']);
});

test('a corrupt file or one of another topic or group is an error, never a silent start', () => {
  const file = path.join(dir, 'bad.json');
  fs.writeFileSync(file, '{"version":1');
  assert.throws(() => readLocalCheckpoint(file, 't', 'g'), /CHECKPOINT_CORRUPT|not valid JSON/);
  fs.writeFileSync(file, JSON.stringify({ version: 1, topic: 't', group: 'g', partitions: { 0: { offset: 5, timestamp: 1 } } }));
  assert.throws(() => readLocalCheckpoint(file, 't', 'g'), /partitions\.0\.offset is not a decimal string/);
  writeLocalCheckpoint(file, { topic: 't', group: 'g', partitions: new Map() });
  assert.throws(() => readLocalCheckpoint(file, 't', 'other'), /belongs to topic t and group g, not topic t and group other/);
});
