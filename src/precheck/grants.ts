/**
 * Reads the lines of `SHOW GRANTS FOR CURRENT_USER()` as MariaDB (10.x, 11.x) and MySQL (5.7,
 * 8.x) print them into plain data, so that the privilege check is a question about data
 * rather than about text. Pure.
 *
 * Forms understood:
 * - `GRANT SELECT, REPLICATION SLAVE ON *.* TO ...` (global), `` ON `db`.* `` (database),
 *   `` ON `db`.`t` `` (table), `ON TABLE ...`; column privileges `SELECT (`a`, `b`)`;
 *   `ALL [PRIVILEGES]`; MySQL 8's dynamic privileges (`GRANT BACKUP_ADMIN,XA_RECOVER_ADMIN ON *.*`);
 * - `REVOKE ... ON `db`.* FROM ...` (MySQL's partial revokes, which subtract from a global grant);
 * - role grants (`` GRANT `r1`@`%` TO ... ``, MariaDB's `` GRANT `r1` TO ... ``), which are
 *   reported, not followed;
 * - routine and proxy grants and `SET DEFAULT ROLE`, which grant nothing the synchronizer needs.
 */

export type GrantTarget =
  | { readonly level: 'global' }
  /** `database` is the name as written: a LIKE pattern (`_`, `%`, `\` escapes), as MySQL reads database-level grants. */
  | { readonly level: 'database'; readonly database: string }
  | { readonly level: 'table'; readonly database: string; readonly table: string }
  /** routines, proxies: nothing the synchronizer needs */
  | { readonly level: 'other' };

export interface PrivilegeGrant {
  /** upper case, words separated by one space: `REPLICATION SLAVE`; `ALL` is given as `ALL PRIVILEGES` */
  readonly privilege: string;
  /** the columns of a column privilege; null for the whole object */
  readonly columns: readonly string[] | null;
}

export interface GrantStatement {
  readonly kind: 'grant' | 'revoke';
  readonly privileges: readonly PrivilegeGrant[];
  readonly on: GrantTarget;
  readonly withGrantOption: boolean;
}

export interface ParsedGrants {
  readonly statements: readonly GrantStatement[];
  /** roles granted to the account, as printed (`r1`, `r1@%`) */
  readonly roles: readonly string[];
  /** lines this parser did not understand, as they were */
  readonly unparsed: readonly string[];
}

export type GrantLine =
  | { readonly type: 'privileges'; readonly statement: GrantStatement }
  | { readonly type: 'roles'; readonly roles: readonly string[] }
  | { readonly type: 'ignored' }
  | { readonly type: 'unparsed' };

type Token =
  | { readonly t: 'word'; readonly v: string }
  | { readonly t: 'name'; readonly v: string }
  | { readonly t: 'punct'; readonly v: string };

/** Splits a line into words, quoted names (`...`, '...', "..." with doubled quotes) and punctuation. */
function tokenize(line: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '`' || c === "'" || c === '"') {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= line.length) return null;
        if (line[j] === c) {
          if (line[j + 1] === c) {
            v += c;
            j += 2;
            continue;
          }
          break;
        }
        // Backslash escapes exist in quoted strings (passwords, hosts), not in backtick names.
        if (c !== '`' && line[j] === '\\' && j + 1 < line.length) {
          v += line[j + 1];
          j += 2;
          continue;
        }
        v += line[j];
        j += 1;
      }
      out.push({ t: 'name', v });
      i = j + 1;
    } else if ('(),.*@;='.includes(c)) {
      out.push({ t: 'punct', v: c });
      i += 1;
    } else {
      let j = i;
      while (j < line.length && !/\s/.test(line[j]!) && !'(),.*@;=`\'"'.includes(line[j]!)) j += 1;
      out.push({ t: 'word', v: line.slice(i, j) });
      i = j;
    }
  }
  return out;
}

const isWord = (tok: Token | undefined, ...words: string[]): boolean =>
  tok !== undefined && tok.t === 'word' && words.includes(tok.v.toUpperCase());

/** Index of the first top-level (outside parentheses) word among `words`, or -1. */
function findWord(tokens: readonly Token[], from: number, ...words: string[]): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.t === 'punct' && tok.v === '(') depth += 1;
    else if (tok.t === 'punct' && tok.v === ')') depth -= 1;
    else if (depth === 0 && isWord(tok, ...words)) return i;
  }
  return -1;
}

function parsePrivileges(tokens: readonly Token[]): PrivilegeGrant[] | null {
  const out: PrivilegeGrant[] = [];
  let i = 0;
  while (i < tokens.length) {
    const words: string[] = [];
    while (i < tokens.length && tokens[i]!.t === 'word') words.push(tokens[i++]!.v.toUpperCase());
    if (words.length === 0) return null;
    let columns: string[] | null = null;
    if (tokens[i]?.t === 'punct' && tokens[i]!.v === '(') {
      columns = [];
      i += 1;
      while (i < tokens.length && !(tokens[i]!.t === 'punct' && tokens[i]!.v === ')')) {
        const tok = tokens[i]!;
        if (tok.t !== 'punct') columns.push(tok.v);
        i += 1;
      }
      if (i >= tokens.length) return null;
      i += 1;
    }
    const privilege = words.join(' ');
    out.push({ privilege: privilege === 'ALL' ? 'ALL PRIVILEGES' : privilege, columns });
    if (i < tokens.length) {
      if (!(tokens[i]!.t === 'punct' && tokens[i]!.v === ',')) return null;
      i += 1;
    }
  }
  return out.length > 0 ? out : null;
}

function parseTarget(tokens: readonly Token[]): GrantTarget | null {
  let rest = tokens;
  if (isWord(rest[0], 'FUNCTION', 'PROCEDURE', 'PACKAGE')) return { level: 'other' };
  if (isWord(rest[0], 'TABLE')) rest = rest.slice(1);
  if (rest.some((t) => t.t === 'punct' && t.v === '@')) return { level: 'other' }; // PROXY ON ''@'%'
  const star = (t: Token | undefined) => t?.t === 'punct' && t.v === '*';
  const dot = (t: Token | undefined) => t?.t === 'punct' && t.v === '.';
  const name = (t: Token | undefined): string | null => (t !== undefined && t.t !== 'punct' ? t.v : null);
  if (rest.length === 1 && star(rest[0])) return { level: 'global' };
  if (rest.length !== 3 || !dot(rest[1])) return null;
  if (star(rest[0]) && star(rest[2])) return { level: 'global' };
  const database = name(rest[0]);
  if (database === null) return null;
  if (star(rest[2])) return { level: 'database', database };
  const table = name(rest[2]);
  return table === null ? null : { level: 'table', database, table };
}

/** One line of SHOW GRANTS. */
export function parseGrantLine(line: string): GrantLine {
  const text = line.trim().replace(/;$/, '');
  if (/^SET\s+DEFAULT\s+ROLE\b/i.test(text)) return { type: 'ignored' };
  const tokens = tokenize(text);
  if (tokens === null || tokens.length < 3) return { type: 'unparsed' };
  const kind = isWord(tokens[0], 'GRANT') ? 'grant' : isWord(tokens[0], 'REVOKE') ? 'revoke' : null;
  if (kind === null) return { type: 'unparsed' };
  const to = findWord(tokens, 1, kind === 'grant' ? 'TO' : 'FROM');
  if (to < 0) return { type: 'unparsed' };
  const on = findWord(tokens, 1, 'ON');
  if (on < 0 || on > to) {
    if (kind === 'revoke') return { type: 'unparsed' };
    // A role grant: names (with @host on MySQL) separated by commas.
    const roles: string[] = [];
    let current = '';
    for (const tok of tokens.slice(1, to)) {
      if (tok.t === 'punct' && tok.v === ',') {
        if (current) roles.push(current);
        current = '';
      } else {
        current += tok.v;
      }
    }
    if (current) roles.push(current);
    return roles.length > 0 ? { type: 'roles', roles } : { type: 'unparsed' };
  }
  const privileges = parsePrivileges(tokens.slice(1, on));
  const target = parseTarget(tokens.slice(on + 1, to));
  if (privileges === null || target === null) return { type: 'unparsed' };
  const tail = tokens.slice(to + 1).map((t) => t.v.toUpperCase()).join(' ');
  return { type: 'privileges', statement: { kind, privileges, on: target, withGrantOption: / WITH GRANT OPTION\b/.test(` ${tail}`) } };
}

/** Every line of SHOW GRANTS. */
export function parseGrants(lines: readonly string[]): ParsedGrants {
  const statements: GrantStatement[] = [];
  const roles: string[] = [];
  const unparsed: string[] = [];
  for (const line of lines) {
    const parsed = parseGrantLine(line);
    if (parsed.type === 'privileges') statements.push(parsed.statement);
    else if (parsed.type === 'roles') roles.push(...parsed.roles);
    else if (parsed.type === 'unparsed') unparsed.push(line);
  }
  return { statements, roles, unparsed };
}

/** Whether `name` matches a database-level grant's name, read as MySQL does: `%` any run, `_` one character, `\` escapes. */
export function matchesGrantDatabase(pattern: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRegExp(pattern[++i]!);
    } else if (c === '%') {
      re += '[\\s\\S]*';
    } else if (c === '_') {
      re += '[\\s\\S]';
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp(`^${re}$`, 'u').test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
