/**
 * A table verify compares: its current schema on the source, the key it compares rows by
 * (the synchronizer's: primary key, else a NOT NULL unique key; none: compared as a
 * multiset of rows), and its topic.
 */
import type { Connection } from 'mysql2/promise';
import { matchesObject, topicFor, type SyncConfig } from '../config/index.ts';
import { rowKey, type TableSchema } from '../model/table-schema.ts';
import { readTableSchema } from '../source/schema-reader.ts';
import { tablesOf } from '../source/source-inspector.ts';

export interface VerifiedTable {
  /** position in the list; spill lines name tables by it */
  readonly index: number;
  readonly database: string;
  readonly table: string;
  readonly topic: string;
  readonly schema: TableSchema;
  /** key column names, or null: no usable key, compared as a multiset of rows */
  readonly key: readonly string[] | null;
  /** indexes of the key columns in schema.columns */
  readonly keyIndexes: readonly number[];
}

/** The tables the config selects that exist on the source, `db.*` expanded, in config order. */
export async function verifiedTables(conn: Connection, config: SyncConfig, only: readonly string[] = []): Promise<VerifiedTable[]> {
  const names: [string, string][] = [];
  const seen = new Set<string>();
  for (const o of config.objects) {
    const tables = o.table === '*' ? await tablesOf(conn, o.database) : [o.table];
    for (const t of tables) {
      const k = `${o.database}\0${t}`;
      if (seen.has(k)) continue;
      seen.add(k);
      if (only.length > 0 && !matchesObject(only, o.database, t)) continue;
      names.push([o.database, t]);
    }
  }
  const out: VerifiedTable[] = [];
  for (const [database, table] of names) {
    const schema = await readTableSchema(conn, database, table);
    const key = rowKey(schema);
    const keyIndexes = key ? key.columns.map((c) => schema.columns.findIndex((col) => col.name === c)) : [];
    out.push({
      index: out.length,
      database,
      table,
      topic: topicFor(config, database, table),
      schema,
      key: key && keyIndexes.every((i) => i >= 0) ? key.columns : null,
      keyIndexes,
    });
  }
  return out;
}

export function tableId(database: string, table: string): string {
  return `${database}\0${table}`;
}
