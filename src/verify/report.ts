/** What verify found, and how it is printed. */

export interface TableReport {
  readonly database: string;
  readonly table: string;
  readonly topic: string;
  /** the key rows are compared by; null: none, compared as a multiset of rows */
  readonly key: readonly string[] | null;
  sourceRows: number;
  /** rows in the topic's last images (after the last DELETE / TRUNCATE) */
  topicRows: number;
  matching: number;
  /** in the source, not in the topic */
  missing: number;
  /** in the topic, not in the source */
  extra: number;
  /** in both, with other values */
  different: number;
  /** of `different`: rows whose last record predates columns added since, and matches in every column it has */
  layoutOnly: number;
  readonly examples: { missing: string[]; extra: string[]; different: string[] };
}

export interface VerifyReport {
  readonly tables: TableReport[];
  /** the source snapshot's binlog position (records after it are not counted), when known */
  snapshot: string | null;
  /** DML records of the verified tables read from the topics */
  records: number;
  /** records after the snapshot position: changes the source snapshot does not have yet */
  afterSnapshot: number;
  /** records of tables not verified (other tables sharing the topics) */
  otherTables: number;
  /** records whose key cannot be read (a key column missing from the record) */
  unkeyable: number;
  /** bucket count at the first level, and how many were split again */
  buckets: number;
  splits: number;
  readonly notes: string[];
}

export function emptyTableReport(database: string, table: string, topic: string, key: readonly string[] | null): TableReport {
  return { database, table, topic, key, sourceRows: 0, topicRows: 0, matching: 0, missing: 0, extra: 0, different: 0, layoutOnly: 0, examples: { missing: [], extra: [], different: [] } };
}

export function differences(r: VerifyReport): number {
  return r.tables.reduce((n, t) => n + t.missing + t.extra + t.different, 0) + r.unkeyable;
}

/** Adds an example when fewer than `max` are kept. */
export function example(list: string[], max: number, text: () => string): void {
  if (list.length < max) list.push(text());
}

export function renderReport(r: VerifyReport): string {
  const lines: string[] = [];
  for (const t of r.tables) {
    const diff = t.missing + t.extra + t.different;
    const keyText = t.key === null ? 'no key: compared as a multiset of rows' : `key (${t.key.join(', ')})`;
    lines.push(
      `${diff === 0 ? 'OK  ' : 'DIFF'} ${t.database}.${t.table} (${t.topic}, ${keyText}): source ${t.sourceRows} rows, topic ${t.topicRows} rows; ` +
        `${t.missing} missing, ${t.extra} extra, ${t.different} different` +
        (t.layoutOnly > 0 ? ` (${t.layoutOnly} of them only by layout: last written before an ALTER TABLE added columns; they match once the row is written again)` : ''),
    );
    for (const kind of ['missing', 'extra', 'different'] as const) {
      for (const e of t.examples[kind]) lines.push(`       ${kind.padEnd(9)} ${e}`);
      const more = t[kind] - t.examples[kind].length;
      if (more > 0) lines.push(`       ${kind.padEnd(9)} ... and ${more} more`);
    }
  }
  const total = differences(r);
  lines.push('');
  lines.push(
    `${r.tables.length} tables, ${r.records} records read` +
      (r.snapshot ? `, compared at source binlog position ${r.snapshot}` : '') +
      (r.afterSnapshot > 0 ? ` (${r.afterSnapshot} later records left out)` : '') +
      (r.otherTables > 0 ? `; ${r.otherTables} records of other tables ignored` : '') +
      (r.unkeyable > 0 ? `; ${r.unkeyable} records without their key columns (counted as differences)` : ''),
  );
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push(total === 0 ? 'verify: every table matches' : `verify: ${total} differences`);
  return `${lines.join('\n')}\n`;
}
