/**
 * Progress of the full-data sync: per table, rows done against the engine's estimate,
 * rows/s and ETA. On a terminal a block of bars on stderr, redrawn in place; otherwise a
 * log line every 10 s (and one when a table ends), so that a long snapshot is never
 * silent in a log file.
 */
import type { Logger } from '../logger.ts';
import { recordSnapshotDone, recordSnapshotRows, recordSnapshotTable } from '../ops/metrics.ts';

export type ProgressStyle = 'auto' | 'bar' | 'log' | 'off';

interface TableProgress {
  readonly name: string;
  estimate: number;
  done: number;
  /** rows done when this run began on the table (a resumed table starts above 0) */
  readonly startedAt: number;
  readonly startRows: number;
  finished: boolean;
}

export class SnapshotProgress {
  private readonly tables = new Map<string, TableProgress>();
  private readonly style: 'bar' | 'log' | 'off';
  private readonly log: Logger;
  private readonly stream: NodeJS.WriteStream;
  private timer: NodeJS.Timeout | null = null;
  private drawnLines = 0;

  constructor(style: ProgressStyle, log: Logger, stream: NodeJS.WriteStream = process.stderr) {
    this.style = style === 'auto' ? (stream.isTTY ? 'bar' : 'log') : style;
    this.log = log;
    this.stream = stream;
    if (this.style !== 'off') {
      this.timer = setInterval(() => this.tick(), this.style === 'bar' ? 250 : 10_000);
      this.timer.unref();
    }
  }

  begin(name: string, estimate: number, alreadyDone: number): void {
    this.tables.set(name, { name, estimate, done: alreadyDone, startedAt: Date.now(), startRows: alreadyDone, finished: false });
    // The metrics (docs/operations.md) follow whatever style the terminal gets, 'off' included.
    recordSnapshotTable(name, estimate, alreadyDone);
  }

  update(name: string, done: number): void {
    const t = this.tables.get(name);
    if (t) t.done = done;
    recordSnapshotRows(name, done);
  }

  finish(name: string): void {
    const t = this.tables.get(name);
    if (!t) return;
    t.finished = true;
    t.estimate = t.done;
    recordSnapshotDone(name, t.done);
    if (this.style === 'log') this.log.info(this.fields(t), `snapshot of ${name} done`);
    if (this.style === 'bar') this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.style === 'bar') this.draw();
  }

  private tick(): void {
    if (this.style === 'bar') return this.draw();
    for (const t of this.tables.values()) if (!t.finished) this.log.info(this.fields(t), `snapshot of ${t.name}`);
  }

  private fields(t: TableProgress) {
    const rate = rowsPerSecond(t);
    const left = Math.max(0, t.estimate - t.done);
    return { table: t.name, rows: t.done, estimate: t.estimate, rowsPerSecond: Math.round(rate), etaSeconds: rate > 0 && !t.finished ? Math.round(left / rate) : null };
  }

  private draw(): void {
    const lines = [...this.tables.values()].map(renderBar);
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.stream.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    this.drawnLines = lines.length;
  }
}

function rowsPerSecond(t: TableProgress): number {
  const seconds = (Date.now() - t.startedAt) / 1000;
  return seconds > 0 ? (t.done - t.startRows) / seconds : 0;
}

/** `db.t  [#######.....]  52% 104,000/200,000 rows  98,000 rows/s  ETA 1s`. Pure apart from the clock. */
export function renderBar(t: { name: string; estimate: number; done: number; startedAt: number; startRows: number; finished: boolean }): string {
  const estimate = Math.max(t.estimate, t.done, 1);
  const ratio = t.finished ? 1 : Math.min(1, t.done / estimate);
  const width = 30;
  const filled = Math.round(ratio * width);
  const rate = rowsPerSecond(t as TableProgress);
  const eta = t.finished ? 'done' : rate > 0 ? `ETA ${formatSeconds((estimate - t.done) / rate)}` : 'ETA ?';
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `${t.name}  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${n(t.done)}/${n(estimate)} rows  ${n(rate)} rows/s  ${eta}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
