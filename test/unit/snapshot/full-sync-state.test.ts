import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotState } from '../../../src/checkpoint/checkpoint-store.ts';
import { reconcileTables } from '../../../src/snapshot/full-sync.ts';
import { renderBar } from '../../../src/snapshot/progress.ts';

const start = { file: 'mysql-bin.000001', position: 4, gtid: null };

test('a resumed plan keeps the progress of tables still selected, adds new ones, drops the rest', () => {
  const state: SnapshotState = {
    start,
    done: false,
    tables: [
      { database: 'd', table: 'a', lowWatermark: start, schemaSent: true, lastKey: ['31'], rows: 10, done: false },
      { database: 'd', table: 'gone', lowWatermark: null, schemaSent: false, lastKey: null, rows: 0, done: false },
    ],
  };
  const next = reconcileTables(state, [['d', 'a'], ['d', 'new']]);
  assert.deepEqual(next.tables.map((t) => [t.table, t.rows, t.lastKey]), [['a', 10, ['31']], ['new', 0, null]]);
  assert.equal(next.start, start);
});

test('the progress bar shows share, counts, rate and ETA', () => {
  const line = renderBar({ name: 'd.a', estimate: 200_000, done: 50_000, startedAt: Date.now() - 1_000, startRows: 0, finished: false });
  assert.match(line, /^d\.a  \[#{8}\.{22}\]  25% 50,000\/200,000 rows  \d{2},\d{3} rows\/s  ETA \ds$/);
  assert.match(renderBar({ name: 'd.b', estimate: 10, done: 12, startedAt: Date.now(), startRows: 0, finished: true }), /100% 12\/12 rows .* done$/);
});
