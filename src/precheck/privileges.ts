/**
 * Whether the parsed grants give the synchronizer's user what it needs: REPLICATION SLAVE
 * (the binlog stream), REPLICATION CLIENT / BINLOG MONITOR (SHOW MASTER STATUS, SHOW BINARY
 * LOGS) and SELECT on every selected object (schemas and, later, the full-data sync); on
 * MySQL, when a full-data sync will run, BACKUP_ADMIN (performance_schema.log_status, the
 * lock-free consistent position, 8.0.17+) or RELOAD (the short global read lock): MariaDB
 * reports its snapshot's position itself. Pure.
 *
 * Privileges that come from roles are not followed (the synchronizer's connections do not
 * set a role, so only a default role would apply): when something is missing and the user
 * has roles, the check warns instead of failing.
 */
import { formatObjectPattern, type ObjectPattern } from '../config/object-pattern.ts';
import { type GrantStatement, matchesGrantDatabase, type ParsedGrants } from './grants.ts';
import { fail, listSome, pass, type PrecheckCheck, warn } from './report.ts';
import { atLeast, replicationClientName, type ServerInfo } from '../source/server-version.ts';

export const PRIVILEGES_CHECK = 'privileges';

export interface PrivilegeContext {
  readonly server: ServerInfo;
  /** CURRENT_USER(): `user@host` */
  readonly account: string;
  readonly objects: readonly ObjectPattern[];
  /** a full-data sync will run (mode initial or full): it needs a consistent binlog position */
  readonly snapshot: boolean;
}

function grants(statements: readonly GrantStatement[], kind: 'grant' | 'revoke', privilege: string, where: (s: GrantStatement) => boolean): boolean {
  return statements.some(
    (s) => s.kind === kind && where(s) && s.privileges.some((p) => p.columns === null && (p.privilege === privilege || p.privilege === 'ALL PRIVILEGES')),
  );
}

function hasGlobal(statements: readonly GrantStatement[], ...privileges: string[]): boolean {
  return privileges.some((p) => grants(statements, 'grant', p, (s) => s.on.level === 'global'));
}

function selectOnDatabase(statements: readonly GrantStatement[], database: string): boolean {
  const onDb = (s: GrantStatement) => s.on.level === 'database' && matchesGrantDatabase(s.on.database, database);
  // MySQL's partial revokes: `REVOKE SELECT ON db.*` takes a database out of a global grant.
  if (hasGlobal(statements, 'SELECT') && !grants(statements, 'revoke', 'SELECT', onDb)) return true;
  return grants(statements, 'grant', 'SELECT', onDb);
}

function selectOn(statements: readonly GrantStatement[], o: ObjectPattern): boolean {
  if (selectOnDatabase(statements, o.database)) return true;
  if (o.table === '*') return false; // db.* also reads tables created later: a grant on the database is needed
  return grants(statements, 'grant', 'SELECT', (s) => s.on.level === 'table' && s.on.database === o.database && s.on.table === o.table);
}

/** `'user'@'host'` for a GRANT statement, from CURRENT_USER()'s `user@host`. */
export function accountForGrant(account: string): string {
  const at = account.lastIndexOf('@');
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return at < 0 ? quote(account) : `${quote(account.slice(0, at))}@${quote(account.slice(at + 1))}`;
}

function sqlName(o: ObjectPattern): string {
  const q = (s: string) => `\`${s.replace(/`/g, '``')}\``;
  return `${q(o.database)}.${o.table === '*' ? '*' : q(o.table)}`;
}

/**
 * What a MySQL user lacks for the initial sync's consistent binlog position, if anything.
 * BACKUP_ADMIN is asked for first: reading log_status takes no lock, where RELOAD's FLUSH
 * TABLES WITH READ LOCK stops every write for a moment (and waits for long queries).
 */
function consistentPositionGrant(statements: readonly GrantStatement[], ctx: PrivilegeContext): { grant: string; why: string } | null {
  if (!ctx.snapshot || ctx.server.flavor !== 'MySQL') return null;
  const logStatus = atLeast(ctx.server, 8, 0, 17);
  if (hasGlobal(statements, 'RELOAD') || (logStatus && hasGlobal(statements, 'BACKUP_ADMIN'))) return null;
  return logStatus
    ? { grant: 'BACKUP_ADMIN', why: 'BACKUP_ADMIN (the initial sync reads its consistent binlog position from performance_schema.log_status, without a lock; RELOAD, for a short global read lock, also does)' }
    : { grant: 'RELOAD', why: 'RELOAD (the initial sync takes a short global read lock for a consistent binlog position; MySQL before 8.0.17 has no lock-free way)' };
}

export function checkPrivileges(parsed: ParsedGrants, ctx: PrivilegeContext): PrecheckCheck {
  const { statements } = parsed;
  const clientName = replicationClientName(ctx.server);
  // MySQL (and MariaDB before 10.5.2) let SUPER run SHOW MASTER STATUS too.
  const superCounts = ctx.server.flavor === 'MySQL' || !atLeast(ctx.server, 10, 5, 2);
  const missingGlobal: string[] = [];
  const why: string[] = [];
  if (!hasGlobal(statements, 'REPLICATION SLAVE', 'REPLICATION REPLICA')) {
    missingGlobal.push('REPLICATION SLAVE');
    why.push('REPLICATION SLAVE (to read the binlog)');
  }
  if (!hasGlobal(statements, 'REPLICATION CLIENT', 'BINLOG MONITOR', ...(superCounts ? ['SUPER'] : []))) {
    missingGlobal.push(clientName);
    why.push(`${clientName} (for SHOW MASTER STATUS and SHOW BINARY LOGS)`);
  }
  const snapshotGrant = consistentPositionGrant(statements, ctx);
  if (snapshotGrant) {
    missingGlobal.push(snapshotGrant.grant);
    why.push(snapshotGrant.why);
  }
  const noSelect = ctx.objects.filter((o) => !selectOn(statements, o));
  if (noSelect.length > 0) why.push(`SELECT on ${listSome(noSelect.map(formatObjectPattern))} (to read table schemas and rows)`);

  const roleNote = parsed.roles.length > 0 ? `; privileges of the granted roles (${listSome(parsed.roles, 4)}) are not counted` : '';
  if (why.length === 0) {
    const selectWhere = hasGlobal(statements, 'SELECT') ? 'SELECT on *.*' : 'SELECT on every selected object';
    const have = [
      hasGlobal(statements, 'REPLICATION SLAVE', 'REPLICATION REPLICA') ? 'REPLICATION SLAVE' : '',
      hasGlobal(statements, 'REPLICATION CLIENT', 'BINLOG MONITOR') ? clientName : 'SUPER',
      selectWhere,
      ...(ctx.snapshot && ctx.server.flavor === 'MySQL' ? [hasGlobal(statements, 'BACKUP_ADMIN') ? 'BACKUP_ADMIN' : 'RELOAD'] : []),
    ].filter(Boolean);
    return pass(PRIVILEGES_CHECK, `${ctx.account} has ${have.join(', ')}${roleNote}`);
  }

  const to = accountForGrant(ctx.account);
  const statementsToRun = [
    ...(missingGlobal.length > 0 ? [`GRANT ${missingGlobal.join(', ')} ON *.* TO ${to};`] : []),
    ...noSelect.map((o) => `GRANT SELECT ON ${sqlName(o)} TO ${to};`),
  ];
  const unparsedNote = parsed.unparsed.length > 0 ? `; ${parsed.unparsed.length} grant line(s) not understood: ${parsed.unparsed.join(' | ')}` : '';
  const detail = `${ctx.account} lacks ${why.join(', ')}${roleNote}${unparsedNote}`;
  const fix = `as an administrator run: ${statementsToRun.join(' ')}`;
  return parsed.roles.length > 0
    ? warn(PRIVILEGES_CHECK, detail, `${fix} (unless a default role of the user grants them)`)
    : fail(PRIVILEGES_CHECK, detail, fix);
}
