/**
 * Which database and table a DDL statement is about, read from its text as far as the
 * synchronizer needs it: to refresh schemas, to route a DDL record, and to warn when a
 * synced table is renamed. Not a SQL parser: statements it does not recognise name their
 * default database only. Pure.
 */
export interface TableName {
  readonly database: string;
  readonly table: string;
}

export interface TableRename {
  readonly from: TableName;
  readonly to: TableName;
}

export interface DdlTarget {
  /** the database the statement is about (a rename: the first pair's new database) */
  readonly database: string;
  /** the table it is about (a rename: the first pair's new name); null for database DDL */
  readonly table: string | null;
  /** RENAME TABLE (every `a TO b` pair, in order) or ALTER TABLE ... RENAME; empty otherwise */
  readonly renames: readonly TableRename[];
}

const IDENT = '(?:`(?:[^`]|``)+`|[\\w$\\u0080-\\uffff]+)';
const QUALIFIED = `(${IDENT})(?:\\s*\\.\\s*(${IDENT}))?`;
const COMMENTS = '(?:/\\*.*?\\*/\\s*)*';
const TABLE_DDL = new RegExp(
  `^\\s*${COMMENTS}(?:CREATE(?:\\s+OR\\s+REPLACE)?(?:\\s+TEMPORARY)?|ALTER(?:\\s+ONLINE|\\s+IGNORE)*|DROP(?:\\s+TEMPORARY)?|TRUNCATE|RENAME)\\s+TABLE\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?${QUALIFIED}`,
  'is',
);
/** RENAME TABLE[S] [IF EXISTS] [WAIT n | NOWAIT]: the pairs follow */
const RENAME_TABLE = new RegExp(`^\\s*${COMMENTS}RENAME\\s+TABLES?\\s+(?:IF\\s+EXISTS\\s+)?(?:WAIT\\s+\\d+\\s+|NOWAIT\\s+)?`, 'is');
/** one `a TO b` pair, at the sticky position, after an optional comma */
const RENAME_PAIR = new RegExp(`\\s*,?\\s*${QUALIFIED}\\s+TO\\s+${QUALIFIED}`, 'iys');
/** ALTER TABLE t ... RENAME [TO|AS] u */
const ALTER = new RegExp(`^\\s*${COMMENTS}ALTER\\b`, 'is');
const ALTER_RENAME = new RegExp(`\\bRENAME\\s+(?:(?:TO|AS)\\s+)?${QUALIFIED}`, 'is');
const DATABASE_DDL = new RegExp(`^\\s*(?:CREATE|ALTER|DROP)\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(${IDENT})`, 'is');

function unquote(id: string): string {
  return id.startsWith('`') ? id.slice(1, -1).replace(/``/g, '`') : id;
}

/** The name matched by QUALIFIED at groups a (database or table) and b (table). */
function nameOf(m: RegExpExecArray, a: number, defaultDatabase: string): TableName {
  const qualified = m[a + 1] !== undefined;
  return { database: qualified ? unquote(m[a]!) : defaultDatabase, table: unquote(qualified ? m[a + 1]! : m[a]!) };
}

/** Every `a TO b` pair of a RENAME TABLE statement, in order; empty when it is not one. */
function renamePairs(sql: string, defaultDatabase: string): TableRename[] {
  const head = RENAME_TABLE.exec(sql);
  if (!head) return [];
  const pairs: TableRename[] = [];
  RENAME_PAIR.lastIndex = head[0].length;
  for (let m = RENAME_PAIR.exec(sql); m; m = RENAME_PAIR.exec(sql)) {
    pairs.push({ from: nameOf(m, 1, defaultDatabase), to: nameOf(m, 3, defaultDatabase) });
  }
  return pairs;
}

export function ddlTarget(sql: string, defaultDatabase: string): DdlTarget | null {
  const renames = renamePairs(sql, defaultDatabase);
  if (renames.length > 0) {
    const first = renames[0]!.to;
    return first.database ? { database: first.database, table: first.table, renames } : null;
  }
  const t = TABLE_DDL.exec(sql);
  if (t) {
    const name = nameOf(t, 1, defaultDatabase);
    if (ALTER.test(t[0])) {
      // After the table name: `RENAME [TO|AS] new` (not RENAME COLUMN / INDEX / KEY).
      const rest = sql.slice(t.index + t[0].length).replace(/\bRENAME\s+(?:COLUMN|INDEX|KEY)\b/gi, '');
      const r = ALTER_RENAME.exec(rest);
      if (r) {
        const to = nameOf(r, 1, defaultDatabase);
        return to.database ? { database: to.database, table: to.table, renames: [{ from: name, to }] } : null;
      }
    }
    return name.database ? { database: name.database, table: name.table, renames: [] } : null;
  }
  const d = DATABASE_DDL.exec(sql);
  if (d) return { database: unquote(d[1]!), table: null, renames: [] };
  return defaultDatabase ? { database: defaultDatabase, table: null, renames: [] } : null;
}

/** The databases a DDL touches: its own and, for renames, each pair's old and new database. */
export function ddlDatabases(target: DdlTarget): string[] {
  const out = new Set([target.database]);
  for (const r of target.renames) {
    out.add(r.from.database);
    out.add(r.to.database);
  }
  return [...out];
}
