/**
 * The bucket pass: for each bucket, the topic file's last image per key is held in memory
 * (one entry per distinct key of the bucket), then the source file is streamed against it.
 * A bucket whose files are bigger than the budget is split into 16 on the next digest bytes
 * first (spill.ts), so memory stays near `maxBucketBytes` × a small factor whatever the
 * table sizes.
 */
import path from 'node:path';
import { differingColumns } from './canonical.ts';
import { example, type TableReport } from './report.ts';
import { fileSize, readLines, splitFile } from './spill.ts';
import { compareSeq, type Seq } from './topic-ops.ts';
import type { VerifiedTable } from './verified-table.ts';

export interface CompareContext {
  readonly tables: readonly VerifiedTable[];
  readonly reports: readonly TableReport[];
  readonly truncates: ReadonlyMap<number, Seq>;
  readonly maxBucketBytes: number;
  readonly examples: number;
  /** counts buckets split again */
  splits: number;
}

interface KeyState {
  seq: Seq;
  /** null: the key is gone (DELETE, or a key-changing UPDATE) */
  row: string | null;
  columns: string;
  where: string;
  /** indexes of the schema's columns the record lacks (written before they were added) */
  absent: readonly number[];
}

const SPLIT_FANOUT = 16;
/** The digest has 16 bytes: 4 levels of 4 bytes. */
const MAX_LEVEL = 3;

/** Compares one bucket (its topic and source files), splitting it first when it is too big. */
export async function compareBucket(topicFile: string, sourceFile: string, level: number, ctx: CompareContext): Promise<void> {
  if (level < MAX_LEVEL && fileSize(topicFile) + fileSize(sourceFile) > ctx.maxBucketBytes) {
    ctx.splits++;
    const dir = path.dirname(topicFile);
    const stem = `${path.basename(topicFile, '.topic')}`;
    const parts = Array.from({ length: SPLIT_FANOUT }, (_, i) => `${stem}-${i}`);
    await splitFile(topicFile, parts.map((p) => path.join(dir, `${p}.topic`)), level + 1);
    await splitFile(sourceFile, parts.map((p) => path.join(dir, `${p}.source`)), level + 1);
    for (const p of parts) await compareBucket(path.join(dir, `${p}.topic`), path.join(dir, `${p}.source`), level + 1, ctx);
    return;
  }
  await compareContents(topicFile, sourceFile, ctx);
}

/** Per bucket, what the topic's records leave: the last image per key, and the multiset counts of keyless tables. */
interface TopicState {
  readonly last: Map<string, KeyState>;
  readonly counts: Map<string, { count: number; where: string }>;
}

async function compareContents(topicFile: string, sourceFile: string, ctx: CompareContext): Promise<void> {
  const topic = await readTopicState(topicFile, ctx);
  const sourceCounts = new Map<string, { count: number; preview: string }>();
  for await (const line of readLines(sourceFile)) {
    const f = line.split('\t');
    if (f[0] === 'K') compareSourceRow(f, topic.last, ctx);
    else if (f[0] === 'M') {
      // M digest table row preview
      const id = `${f[2]}\t${f[3]}`;
      const entry = sourceCounts.get(id) ?? { count: 0, preview: JSON.parse(f[4]!) as string };
      entry.count++;
      sourceCounts.set(id, entry);
    }
  }
  for (const [id, state] of topic.last) {
    if (state.row === null) continue;
    const tableIndex = Number(id.slice(0, id.indexOf('\t')));
    const report = ctx.reports[tableIndex]!;
    report.topicRows++;
    report.extra++;
    example(report.examples.extra, ctx.examples, () => `key ${id.slice(id.indexOf('\t') + 1)}: not in the source; last record ${state.where}`);
  }
  compareCounts(topic.counts, sourceCounts, ctx);
}

async function readTopicState(topicFile: string, ctx: CompareContext): Promise<TopicState> {
  const last = new Map<string, KeyState>();
  const counts = new Map<string, { count: number; where: string }>();
  const seen = new Set<string>();
  for await (const line of readLines(topicFile)) {
    const f = line.split('\t');
    if (f[0] === 'K') {
      // K digest table file pos id kind row columns where key absent
      const seq: Seq = { file: Number(f[3]), pos: Number(f[4]), id: BigInt(f[5]!) };
      const id = `${f[2]}\t${f[10]}`;
      const prev = last.get(id);
      if (prev !== undefined && compareSeq(seq, prev.seq) < 0) continue;
      last.set(id, { seq, row: f[6] === 'S' ? f[7]! : null, columns: f[8]!, where: f[9]!, absent: f[11] && f[11] !== '-' ? f[11].split(',').map(Number) : [] });
    } else if (f[0] === 'M') {
      // M digest table file pos change delta row where
      const truncated = ctx.truncates.get(Number(f[2]));
      if (truncated !== undefined && compareSeq({ file: Number(f[3]), pos: Number(f[4]), id: -1n }, truncated) < 0) continue;
      const change = `${f[2]}\t${f[5]}\t${f[7]}`;
      if (seen.has(change)) continue; // the same change produced again after a crash
      seen.add(change);
      const id = `${f[2]}\t${f[7]}`;
      const delta = Number(f[6]);
      const entry = counts.get(id) ?? { count: 0, where: f[8]! };
      entry.count += delta;
      if (delta > 0) entry.where = f[8]!;
      counts.set(id, entry);
    }
  }
  for (const [id, state] of last) {
    const truncated = ctx.truncates.get(Number(id.slice(0, id.indexOf('\t'))));
    if (truncated !== undefined && compareSeq(state.seq, truncated) < 0) state.row = null;
  }
  return { last, counts };
}

/** One source row of a keyed table against the topic's last image of its key. */
function compareSourceRow(f: readonly string[], last: Map<string, KeyState>, ctx: CompareContext): void {
  // K digest table row columns key
  const tableIndex = Number(f[2]);
  const report = ctx.reports[tableIndex]!;
  const key = f[5]!;
  const id = `${f[2]}\t${key}`;
  const state = last.get(id);
  last.delete(id);
  report.sourceRows++;
  if (state === undefined || state.row === null) {
    report.missing++;
    example(report.examples.missing, ctx.examples, () =>
      `key ${key}${state === undefined ? ': no record of it in the topic' : `: the topic's last record of it removes it (${state.where})`}`);
    return;
  }
  report.topicRows++;
  if (state.row === f[3]) {
    report.matching++;
    return;
  }
  report.different++;
  const names = ctx.tables[tableIndex]!.schema.columns.map((c) => c.name);
  const differing = differingColumns(names, state.columns, f[4]!);
  const lacking = new Set(state.absent.map((i) => names[i]!));
  // Only the columns the record predates differ: the row was last written before an ALTER TABLE.
  const layoutOnly = lacking.size > 0 && differing.length > 0 && differing.every((n) => lacking.has(n));
  if (layoutOnly) report.layoutOnly++;
  example(report.examples.different, ctx.examples, () =>
    layoutOnly
      ? `key ${key}: layout only: the last record predates column(s) ${differing.join(', ')} (written before an ALTER TABLE added them); every column it has matches; last record ${state.where}`
      : `key ${key}: ${differing.join(', ') || 'values'} differ; last record ${state.where}`);
}

/** Keyless tables: the topic's multiset of rows against the source's. */
function compareCounts(
  topic: ReadonlyMap<string, { count: number; where: string }>,
  source: ReadonlyMap<string, { count: number; preview: string }>,
  ctx: CompareContext,
): void {
  for (const id of new Set([...topic.keys(), ...source.keys()])) {
    const tableIndex = Number(id.slice(0, id.indexOf('\t')));
    const report = ctx.reports[tableIndex]!;
    // A DELETE of a row the topic never had an INSERT for leaves a negative count: nothing.
    const inTopic = Math.max(0, topic.get(id)?.count ?? 0);
    const s = source.get(id);
    const inSource = s?.count ?? 0;
    report.sourceRows += inSource;
    report.topicRows += inTopic;
    report.matching += Math.min(inTopic, inSource);
    if (inSource > inTopic) {
      report.missing += inSource - inTopic;
      example(report.examples.missing, ctx.examples, () => `${inSource - inTopic} × row ${s!.preview}`);
    } else if (inTopic > inSource) {
      report.extra += inTopic - inSource;
      example(report.examples.extra, ctx.examples, () => `${inTopic - inSource} × a row not in the source; last record ${topic.get(id)!.where}`);
    }
  }
}
