import type { Connection } from 'mysql2/promise';
import type { SyncConfig } from '../config/index.ts';
import { tablesOf } from '../source/source-inspector.ts';

/** The tables the configured objects name, `db.*` expanded, in config order. */
export async function selectedTables(conn: Connection, config: SyncConfig): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  const add = (d: string, t: string) => {
    const k = `${d}\0${t}`;
    if (!seen.has(k)) { seen.add(k); out.push([d, t]); }
  };
  for (const o of config.objects) {
    if (o.table === '*') for (const t of await tablesOf(conn, o.database)) add(o.database, t);
    else add(o.database, o.table);
  }
  return out;
}
