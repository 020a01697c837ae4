/**
 * Encode throughput: buildRecord + Avro encoding of INSERTs of a 10-column row, on one core.
 *
 *   npx tsx scripts/bench-encode.ts [--rows N] [--runs R] [--pool P]
 *
 * Rows are built up front (a pool of P varied rows, cycled), so the timed loop measures
 * buildRecord + encodeRecord only (encodeEvent). Target: >= 250,000 rows/s.
 *
 * In the pipeline a row reaches the codec straight from the binlog parser that just made
 * it, so its values are in the CPU caches. The default pool (1,000 rows, about 1.5 MB)
 * stays in the caches too; a pool far larger (--pool 4096, about 6 MB) times the wait for
 * memory as well, which the pipeline does not have: see docs/benchmarks.md for both.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { RowChangeEvent } from '../src/model/change-event.ts';
import type { ColumnValue } from '../src/model/column-value.ts';
import type { TableSchema } from '../src/model/table-schema.ts';
import { encodeEvent } from '../src/dts/output-format.ts';
import { ordersSchema } from './bench-orders.ts';

const TARGET_ROWS_PER_SECOND = 250_000;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    runs: { type: 'string', default: '3' },
    pool: { type: 'string', default: '1000' },
  },
});
const rows = Number(args.rows);
const runs = Number(args.runs);
const poolSize = Number(args.pool);
if (![rows, runs, poolSize].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('usage: npx tsx scripts/bench-encode.ts [--rows N] [--runs R] [--pool P]');
  process.exit(2);
}


const table: TableSchema = ordersSchema('shop');

// A small deterministic generator: the same rows on every run and machine.
let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
function int(max: number): number {
  return Math.floor(random() * max);
}

const NAMES = ['Ana Lima', 'Björn Åström', '王小明', 'Zoë Ñúñez', 'Oluwaseun Adeyemi', 'Jean-Luc Picard', 'Ελένη'];
const NOTES = ['', 'leave at the door', 'gift wrap, please 🎁', 'call before delivery; the bell is broken', 'x'.repeat(300)];

function uuid(): string {
  const h = () => int(0x1_0000).toString(16).padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}

function makeRow(i: number): RowChangeEvent {
  const cents = int(10_000_000);
  const values: ColumnValue[] = [
    BigInt(1_000_000 + i),
    int(5) === 0 ? null : BigInt(int(2_000_000_000)),
    BigInt(cents) * 1000n,
    Buffer.from(`${NAMES[int(NAMES.length)]} ${i}`, 'utf8'),
    `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    {
      kind: 'temporal', negative: false, year: 2020 + int(6), month: 1 + int(12), day: 1 + int(28),
      hour: int(24), minute: int(60), second: int(60), micros: int(1000) * 1000,
    },
    random() * 1000,
    BigInt(int(10)),
    int(3) === 0 ? null : Buffer.from(NOTES[int(NOTES.length)], 'utf8'),
    Buffer.from(uuid(), 'latin1'),
  ];
  const file = `mysql-bin.${String(78 + Math.floor(i / 5000)).padStart(6, '0')}`;
  const position = 4 + (i % 5000) * 700;
  return {
    kind: 'row',
    operation: 'INSERT',
    table,
    before: null,
    after: values,
    source: {
      position: { file, position: position + 650 },
      transactionStart: { file, position },
      commitTimestamp: 1_700_000_000 + Math.floor(i / 100),
      serverId: 1,
      threadId: 42 + (i % 8),
      gtid: `0-1-${i}`,
    },
  };
}

const pool = Array.from({ length: Math.min(poolSize, rows) }, (_, i) => makeRow(i));
const sourceVersion = '10.11.19-MariaDB-log';

/**
 * Wall-clock time, and CPU time of the whole process (GC threads included, so never less
 * than the work of the one core that encodes). On a shared machine the CPU figure is the
 * codec's own speed; the wall figure also counts the time other processes held the core.
 */
function run(count: number): { wallSeconds: number; cpuSeconds: number; bytes: number } {
  let bytes = 0;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    // The reader stamps rows with its clock in milliseconds, so rows arriving together
    // share a stamp; 100 rows per millisecond is a reader at 100,000 rows/s.
    const ctx = { id: BigInt(i), sourceVersion, readerTimestampMs: 1_700_000_000_000 + Math.floor(i / 100) };
    bytes += encodeEvent(pool[i % pool.length], ctx).length;
  }
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytes };
}

run(Math.min(rows, 100_000)); // warm-up: lets V8 optimise the hot paths first

const wallRates: number[] = [];
const cpuRates: number[] = [];
let bytesPerRow = 0;
for (let r = 0; r < runs; r++) {
  const { wallSeconds, cpuSeconds, bytes } = run(rows);
  wallRates.push(rows / wallSeconds);
  cpuRates.push(rows / cpuSeconds);
  bytesPerRow = bytes / rows;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
function summary(rates: number[]): { median: number; text: string } {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { median, text: `median ${fmt(median)}, min ${fmt(sorted[0])}, max ${fmt(sorted[sorted.length - 1])}` };
}
const wall = summary(wallRates);
const cpu = summary(cpuRates);

const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, node ${process.version}, ${os.platform()} ${os.arch()}, load average ${load}`);
console.log(`rows: ${fmt(rows)} x ${runs} runs, a pool of ${fmt(pool.length)} rows, ${bytesPerRow.toFixed(0)} bytes/record`);
console.log(`rows/s (wall clock): ${wall.text}`);
console.log(`rows/s (CPU time):   ${cpu.text}`);
console.log(`target ${fmt(TARGET_ROWS_PER_SECOND)} rows/s on one core: ${cpu.median >= TARGET_ROWS_PER_SECOND ? 'met' : 'NOT met'} (CPU time)` +
  `${wall.median >= TARGET_ROWS_PER_SECOND ? '' : '; wall clock below it: other processes shared the core'}`);
