/**
 * Which database and table a DDL statement is about, read from its text as far as the
 * synchronizer needs it: to refresh schemas, to route a DDL record, and to warn when a
 * synced table is renamed. Not a SQL parser: statements it does not recognise name their
 * default database only. Pure.
 */
export interface DdlTarget {
  readonly database: string;
  readonly table: string | null;
  /** for RENAME TABLE / ALTER TABLE ... RENAME: the old name */
  readonly renamedFrom: { readonly database: string; readonly table: string } | null;
}

const IDENT = '(?:`(?:[^`]|``)+`|[\\w$\\u0080-\\uffff]+)';
const QUALIFIED = `(${IDENT})(?:\\s*\\.\\s*(${IDENT}))?`;
const TABLE_DDL = new RegExp(
  `^\\s*(?:/\\*.*?\\*/\\s*)*(?:CREATE(?:\\s+OR\\s+REPLACE)?(?:\\s+TEMPORARY)?|ALTER(?:\\s+ONLINE|\\s+IGNORE)*|DROP(?:\\s+TEMPORARY)?|TRUNCATE|RENAME)\\s+TABLE\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?${QUALIFIED}`,
  'is',
);
const RENAME_TO = new RegExp(`(?:^\\s*RENAME\\s+TABLE\\s+\\S+\\s+TO|\\bRENAME\\s+(?:TO|AS)?)\\s+${QUALIFIED}`, 'is');
const DATABASE_DDL = new RegExp(`^\\s*(?:CREATE|ALTER|DROP)\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(${IDENT})`, 'is');

function unquote(id: string): string {
  return id.startsWith('`') ? id.slice(1, -1).replace(/``/g, '`') : id;
}

export function ddlTarget(sql: string, defaultDatabase: string): DdlTarget | null {
  const t = TABLE_DDL.exec(sql);
  if (t) {
    const database = t[2] ? unquote(t[1]!) : defaultDatabase;
    const table = unquote(t[2] ?? t[1]!);
    const isRename = /^\s*RENAME\s+TABLE/i.test(sql) || /^\s*ALTER\b[^;]*\bRENAME\s+(?:TO|AS\s|`|\w)/i.test(sql);
    if (isRename) {
      const r = RENAME_TO.exec(sql);
      if (r) {
        const newDb = r[2] ? unquote(r[1]!) : defaultDatabase;
        const newTable = unquote(r[2] ?? r[1]!);
        return { database: newDb, table: newTable, renamedFrom: { database, table } };
      }
    }
    return database ? { database, table, renamedFrom: null } : null;
  }
  const d = DATABASE_DDL.exec(sql);
  if (d) return { database: unquote(d[1]!), table: null, renamedFrom: null };
  return defaultDatabase ? { database: defaultDatabase, table: null, renamedFrom: null } : null;
}
