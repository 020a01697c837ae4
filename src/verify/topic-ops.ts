/**
 * The topic side of verify: every DML record of a verified table becomes spill lines that
 * say what the record did to a key ("set to this row" or "gone"), stamped with the record's
 * place in the source's history, so that the bucket pass can keep each key's last image
 * whatever the partition and offset order.
 *
 * The order is (binlog file, position, record id): commit order across partitions, and
 * within one rows event the order the synchronizer produced the rows in. A record produced
 * again after a crash repeats the same position and image, so it changes nothing. INIT
 * records carry their table's low watermark, below every change streamed after them.
 *
 * - INSERT, INIT: the key is set to the after image.
 * - UPDATE: the after image's key is set; when the key changed, the before image's key is gone.
 * - DELETE: the before image's key is gone.
 * - a TRUNCATE TABLE DDL record: every key of the table written before it is gone.
 *
 * Tables without a usable key are compared as multisets: INSERT/INIT add one row image,
 * DELETE removes one, UPDATE both. A record produced again after a crash is recognised by
 * its position and its place among the rows of its event (consecutive ids), and counted once.
 */
import { createHash } from 'node:crypto';
import type { ConsumedRecord } from '../consumer/consumer.ts';
import type { DecodedRecord } from '../dts/record-render.ts';
import { ABSENT, type Canonical, canonicalFromRecord, keyText, rowDigest } from './canonical.ts';
import type { BucketWriter } from './spill.ts';
import { tableId, type VerifiedTable } from './verified-table.ts';

/** A record's place in the source's history. */
export interface Seq {
  readonly file: number;
  readonly pos: number;
  readonly id: bigint;
}

export function compareSeq(a: Seq, b: Seq): number {
  return a.file !== b.file ? a.file - b.file : a.pos !== b.pos ? a.pos - b.pos : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** `72469@78` → file 78, position 72469; anything else sorts first. */
export function parsePosition(sourcePosition: string): { file: number; pos: number } {
  const m = /^(\d+)@(\d+)$/.exec(sourcePosition);
  return m ? { file: Number(m[2]), pos: Number(m[1]) } : { file: 0, pos: 0 };
}

export function digestOf(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

export interface TopicOpsCounters {
  records: number;
  afterSnapshot: number;
  otherTables: number;
  unkeyable: number;
}

export class TopicOps {
  readonly counters: TopicOpsCounters = { records: 0, afterSnapshot: 0, otherTables: 0, unkeyable: 0 };
  /** per table index, the seq of its last TRUNCATE */
  readonly truncates = new Map<number, Seq>();
  /** examples of records whose key could not be read, per table index */
  readonly unkeyableExamples = new Map<number, string[]>();
  private readonly byName: ReadonlyMap<string, VerifiedTable>;
  private readonly byDatabase: ReadonlyMap<string, VerifiedTable[]>;
  /** keyless tables: the last record per topic partition, to number rows of one event */
  private readonly runs = new Map<string, { position: string; object: string | null; id: bigint; ordinal: number }>();

  constructor(
    tables: readonly VerifiedTable[],
    private readonly writer: BucketWriter,
    /** records after this (binlog file number, position) are left out; null: none */
    private readonly snapshot: { file: number; pos: number } | null,
  ) {
    this.byName = new Map(tables.map((t) => [tableId(t.database, t.table), t]));
    const byDb = new Map<string, VerifiedTable[]>();
    for (const t of tables) byDb.set(t.database, [...(byDb.get(t.database) ?? []), t]);
    this.byDatabase = byDb;
  }

  add(r: ConsumedRecord): void {
    const d = r.record;
    const { file, pos } = parsePosition(d.sourcePosition);
    if (this.snapshot !== null && (file > this.snapshot.file || (file === this.snapshot.file && pos > this.snapshot.pos))) {
      this.counters.afterSnapshot++;
      return;
    }
    const seq: Seq = { file, pos, id: d.id };
    if (d.operation === 'DDL') {
      this.ddl(d, seq);
      return;
    }
    if (!['INSERT', 'INIT', 'UPDATE', 'DELETE'].includes(d.operation)) return;
    const table = d.database !== null && d.table !== null ? this.byName.get(tableId(d.database, d.table)) : undefined;
    if (table === undefined) {
      this.counters.otherTables++;
      return;
    }
    this.counters.records++;
    const where = `${d.operation} at ${r.topic}[${r.partition}]@${r.offset} (position ${d.sourcePosition})`;
    if (table.key === null) this.keyless(table, r, seq, where);
    else this.keyed(table, d, seq, where);
  }

  private keyed(t: VerifiedTable, d: DecodedRecord, seq: Seq, where: string): void {
    const byName = new Map(d.columns.map((c) => [c.name, c]));
    const image = (side: 'before' | 'after') => t.schema.columns.map((col) => canonicalFromRecord(col, byName.get(col.name), side));
    const keyOf = (values: readonly (Canonical | typeof ABSENT)[]): string | null => {
      const parts = t.keyIndexes.map((i) => values[i]!);
      return parts.some((p) => p === ABSENT) ? null : keyText(parts as Canonical[]);
    };
    // Columns of today's schema the record lacks: it was written before they were added.
    const absent = t.schema.columns.flatMap((col, i) => (byName.has(col.name) ? [] : [i])).join(',') || '-';
    const before = d.operation === 'UPDATE' || d.operation === 'DELETE' ? image('before') : null;
    const after = d.operation === 'DELETE' ? null : image('after');
    const beforeKey = before === null ? null : keyOf(before);
    const afterKey = after === null ? null : keyOf(after);
    if ((before !== null && beforeKey === null) || (after !== null && afterKey === null)) {
      this.counters.unkeyable++;
      const list = this.unkeyableExamples.get(t.index) ?? [];
      if (list.length < 5) list.push(`${where} lacks key column(s) ${t.key!.filter((k) => !byName.has(k)).join(', ')}`);
      this.unkeyableExamples.set(t.index, list);
      return;
    }
    if (beforeKey !== null && beforeKey !== afterKey) this.keyedLine(t, beforeKey, seq, null, where, '-');
    if (after !== null) this.keyedLine(t, afterKey!, seq, after, where, absent);
  }

  private keyedLine(t: VerifiedTable, key: string, seq: Seq, values: readonly (Canonical | typeof ABSENT)[] | null, where: string, absent: string): void {
    const digest = digestOf(`${t.index}\0${key}`);
    const rowDigestOrGone = values === null ? null : rowDigest(values);
    const kind = rowDigestOrGone === null ? 'X' : 'S';
    this.writer.add(
      digest,
      ['K', digest, t.index, seq.file, seq.pos, seq.id, kind, rowDigestOrGone?.row ?? '-', rowDigestOrGone?.columns ?? '-', where, key, absent].join('\t'),
    );
  }

  private keyless(t: VerifiedTable, r: ConsumedRecord, seq: Seq, where: string): void {
    const d = r.record;
    const runKey = `${r.topic}\0${r.partition}`;
    const last = this.runs.get(runKey);
    const ordinal = last && last.position === d.sourcePosition && last.object === d.objectName && d.id === last.id + 1n ? last.ordinal + 1 : 0;
    this.runs.set(runKey, { position: d.sourcePosition, object: d.objectName, id: d.id, ordinal });
    const change = `${d.sourcePosition}#${ordinal}`;
    const byName = new Map(d.columns.map((c) => [c.name, c]));
    const image = (side: 'before' | 'after') => rowDigest(t.schema.columns.map((col) => canonicalFromRecord(col, byName.get(col.name), side))).row;
    if (d.operation === 'UPDATE' || d.operation === 'DELETE') this.keylessLine(t, image('before'), seq, `${change}-`, -1, where);
    if (d.operation !== 'DELETE') this.keylessLine(t, image('after'), seq, `${change}+`, 1, where);
  }

  private keylessLine(t: VerifiedTable, row: string, seq: Seq, change: string, delta: 1 | -1, where: string): void {
    const digest = digestOf(`${t.index}\0${row}`);
    this.writer.add(digest, ['M', digest, t.index, seq.file, seq.pos, change, delta, row, where].join('\t'));
  }

  /** TRUNCATE [TABLE] [db.]t: its table loses every row written before it. */
  private ddl(d: DecodedRecord, seq: Seq): void {
    const m = /^\s*TRUNCATE\s+(?:TABLE\s+)?((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?)\s*;?\s*$/i.exec(d.ddl ?? '');
    if (!m || d.database === null) return;
    const parts = m[1]!.split(/\s*\.\s*(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map((p) => (p.startsWith('`') ? p.slice(1, -1).replaceAll('``', '`') : p));
    const [database, table] = parts.length === 2 ? [parts[0]!, parts[1]!] : [d.database, parts[0]!];
    const t = this.byName.get(tableId(database, table)) ?? this.byDatabase.get(database)?.find((x) => x.table === table);
    if (t === undefined) return;
    const previous = this.truncates.get(t.index);
    if (previous === undefined || compareSeq(seq, previous) > 0) this.truncates.set(t.index, seq);
  }
}
