import { SyncError } from '../errors.ts';

/**
 * One entry of `objects` (or a key of `topics.mapping`): a table `db.table`, or every table of
 * a database `db.*` (then `table` is `'*'`). Names are compared exactly (case-sensitively), as
 * MySQL does on Linux with the default `lower_case_table_names=0`.
 */
export interface ObjectPattern {
  readonly database: string;
  /** A table name, or `'*'` for every table of the database. */
  readonly table: string | '*';
}

/** MySQL's limit for database and table names, in characters. */
const MAX_NAME_LENGTH = 64;
/** What MySQL accepts in an unquoted identifier: ASCII letters, digits, `$`, `_`, and U+0080 onwards. */
const PLAIN_NAME = /^[A-Za-z0-9_$\u0080-\uFFFF]+$/;

type Part = { ok: true; name: string; quoted: boolean; end: number } | { ok: false; reason: string };

/** Reads one name (plain or in backticks, where a doubled backtick is a literal one) starting at `start`. */
function readName(s: string, start: number, which: 'database' | 'table'): Part {
  if (s[start] === '`') {
    let name = '';
    let i = start + 1;
    for (;;) {
      if (i >= s.length) return { ok: false, reason: `the backtick that opens the ${which} name is never closed` };
      if (s[i] === '`') {
        if (s[i + 1] === '`') {
          name += '`';
          i += 2;
          continue;
        }
        break;
      }
      name += s[i];
      i += 1;
    }
    if (name === '') return { ok: false, reason: `the ${which} name in backticks is empty` };
    return { ok: true, name, quoted: true, end: i + 1 };
  }
  const dot = s.indexOf('.', start);
  const end = dot < 0 ? s.length : dot;
  const name = s.slice(start, end);
  if (name === '') return { ok: false, reason: `the ${which} name is empty` };
  return { ok: true, name, quoted: false, end };
}

function checkPlain(name: string, which: 'database' | 'table', example: string): string | null {
  if (name === '*' && which === 'database') {
    return 'the database must be named: * works only as the whole table part (db.*)';
  }
  if (/[*?%]/.test(name)) {
    return `${which} name ${name} has a wildcard; only a whole * table part (db.*) is supported: list the tables one by one, or use db.*`;
  }
  if (!PLAIN_NAME.test(name)) {
    return `${which} name ${name} has characters that need backticks; write it as ${example}`;
  }
  return null;
}

/**
 * Parses `db.table`, `db.*` or the backticked forms (`` `my.db`.`my table` ``) into its parts,
 * or returns what is wrong with it (a reason without the pattern itself).
 */
export function checkObjectPattern(s: string): { ok: true; pattern: ObjectPattern } | { ok: false; reason: string } {
  if (s.trim() === '') return { ok: false, reason: 'it is empty; write db.table or db.*' };
  const db = readName(s, 0, 'database');
  if (!db.ok) return db;
  if (db.end >= s.length) {
    return { ok: false, reason: `it has no table part; write ${quoteName(db.name)}.* for every table of that database, or ${quoteName(db.name)}.<table>` };
  }
  if (s[db.end] !== '.') {
    return { ok: false, reason: 'the closing backtick of the database name must be followed by a dot and the table (`db`.table)' };
  }
  const tableStart = db.end + 1;
  const wildcard = s.slice(tableStart) === '*';
  const table: Part = wildcard ? { ok: true, name: '*', quoted: false, end: s.length } : readName(s, tableStart, 'table');
  if (!table.ok) return table;
  if (table.end < s.length) {
    return {
      ok: false,
      reason: table.quoted
        ? 'there is text after the closing backtick of the table name'
        : 'it has more than one dot; a name that contains a dot goes in backticks, e.g. `my.db`.orders or shop.`my.table`',
    };
  }
  if (!db.quoted) {
    const problem = checkPlain(db.name, 'database', `${quoteName(db.name, true)}.${wildcard ? '*' : quoteName(table.name)}`);
    if (problem) return { ok: false, reason: problem };
  }
  if (!table.quoted && !wildcard) {
    const problem = checkPlain(table.name, 'table', `${quoteName(db.name)}.${quoteName(table.name, true)}`);
    if (problem) return { ok: false, reason: problem };
  }
  if (table.quoted && table.name === '*') {
    return { ok: false, reason: 'a table named * in backticks is ambiguous; write db.* for every table of the database' };
  }
  for (const [which, name] of [['database', db.name], ['table', table.name]] as const) {
    if ([...name].length > MAX_NAME_LENGTH) {
      return { ok: false, reason: `the ${which} name is longer than ${MAX_NAME_LENGTH} characters, MySQL's limit` };
    }
  }
  return { ok: true, pattern: { database: db.name, table: table.name } };
}

/**
 * Parses one object pattern: `db.table`, `db.*`, or with backticks around a name that holds a
 * dot or other odd characters (`` `my.db`.`my table` ``; a doubled backtick is a literal one).
 * Pure; throws `SyncError('CONFIG_INVALID')` saying what is wrong.
 */
export function parseObjectPattern(s: string): ObjectPattern {
  const result = checkObjectPattern(s);
  if (!result.ok) {
    throw new SyncError('CONFIG_INVALID', `${JSON.stringify(s)} is not a valid object pattern: ${result.reason}`);
  }
  return result.pattern;
}

function quoteName(name: string, force = false): string {
  return !force && PLAIN_NAME.test(name) ? name : `\`${name.replaceAll('`', '``')}\``;
}

/** The canonical text of a pattern: names in backticks only where they need them. */
export function formatObjectPattern(p: ObjectPattern): string {
  return `${quoteName(p.database)}.${p.table === '*' ? '*' : quoteName(p.table)}`;
}

/** Whether table `db`.`table` is selected by any of the patterns (strings are parsed first). */
export function matchesObject(patterns: readonly (string | ObjectPattern)[], db: string, table: string): boolean {
  for (const entry of patterns) {
    const p = typeof entry === 'string' ? parseObjectPattern(entry) : entry;
    if (p.database === db && (p.table === '*' || p.table === table)) return true;
  }
  return false;
}
