/**
 * The precheck's questions to the source, over one ordinary connection with the config's
 * user: who and what the server is, its binlog settings, the user's grants, and the
 * selected tables' existence, keys and column types. Reads only.
 */
import { sourceSsl, type SourceSsl } from '../config/tls-files.ts';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { formatObjectPattern, type SyncConfig } from '../config/index.ts';
import { isSyncError } from '../errors.ts';
import { rowKey, type TableSchema } from '../model/table-schema.ts';
import { readTableSchema } from '../source/schema-reader.ts';
import { serverIdLockHolder } from '../source/server-id-lock.ts';
import { connectSource, tablesOf } from '../source/source-inspector.ts';
import { tlsFailure, tlsFix } from '../tls-errors.ts';
import { BINLOG_CHECKS, BINLOG_VARIABLES, checkBinlogSettings, checkServerVersion } from './binlog-settings.ts';
import { checkForeignKeys, type ForeignKeyRow } from './foreign-keys.ts';
import { parseGrants } from './grants.ts';
import { checkPrivileges, PRIVILEGES_CHECK } from './privileges.ts';
import { fail, listSome, pass, plural, type PrecheckCheck, skip } from './report.ts';
import { describeServer, parseServerVersion, type ServerInfo } from '../source/server-version.ts';
import type { PrecheckLogger } from './logger.ts';

export interface SelectedTable {
  readonly database: string;
  readonly table: string;
}

export interface SourceFindings {
  /** in report order */
  readonly checks: readonly PrecheckCheck[];
  /** the tables the objects select, when the source could say; null otherwise */
  readonly tables: readonly SelectedTable[] | null;
}

/** Every check this module reports, in report order, so that a skipped run still lists them all. */
export const SOURCE_CHECKS = [
  'source_connection', 'server_version', ...BINLOG_CHECKS, PRIVILEGES_CHECK, 'tables', 'primary_keys', 'foreign_keys', 'column_types',
] as const;

const name = (t: SelectedTable) => formatObjectPattern(t);

/** A password in any text we print is replaced; too short a password would mangle the text, and is not searched for. */
export function redactSecret(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('***') : text;
}

function skipRest(from: number, because: string): PrecheckCheck[] {
  return SOURCE_CHECKS.slice(from).map((n) => skip(n, because));
}

export async function checkSource(config: SyncConfig, log: PrecheckLogger): Promise<SourceFindings> {
  const { host, port, user, password } = config.source;
  const where = `${host}:${port}`;
  let ssl: SourceSsl | undefined;
  try {
    // As the synchronizer connects, host-name check included.
    ssl = sourceSsl(config.source.tls);
  } catch (e) {
    return {
      checks: [
        fail('source_connection', (e as Error).message, 'fix the path of source.tls.ca / cert / key (relative paths start at the config file)'),
        ...skipRest(1, 'no connection to the source'),
      ],
      tables: null,
    };
  }
  let conn: Connection;
  try {
    conn = await connectSource({ host, port, user, password, connectTimeoutMs: config.source.connectTimeoutMs, ...(ssl ? { ssl } : {}) });
  } catch (e) {
    const cause = (isSyncError(e) ? e.cause : e) as { errno?: number; message?: string } | undefined;
    const denied = cause?.errno === 1045;
    const check = denied
      ? fail('source_connection', `${where} refused user ${user}: ${redactSecret(cause?.message ?? 'access denied', password)}`,
          `check source.user and source.password (best given as \${SOURCE_PASSWORD}), and that ${user} may connect from this host`)
      : tlsFailure(cause)
        ? fail('source_connection', `TLS to ${where} failed (${tlsFailure(cause)!.code}): ${redactSecret(cause?.message ?? String(e), password)}`,
            tlsFix(tlsFailure(cause)!, 'source.tls'))
        : fail('source_connection', `cannot connect to ${where}: ${redactSecret(cause?.message ?? String(e), password)}`,
            'check source.host and source.port, that the server runs and that this host reaches it (firewall, bind-address)', true);
    return { checks: [check, ...skipRest(1, 'no connection to the source')], tables: null };
  }
  try {
    return await checkConnected(conn, config, log);
  } catch (e) {
    // A query the precheck relies on failed (the connection dropped, most likely).
    return {
      checks: [
        fail('source_connection', `the source ${where} failed while being checked: ${redactSecret((e as Error).message, password)}`,
          'check that the server stays up and reachable, then run the precheck again', true),
        ...skipRest(1, 'the source failed while being checked'),
      ],
      tables: null,
    };
  } finally {
    await conn.end().catch(() => {});
  }
}

async function checkConnected(conn: Connection, config: SyncConfig, log: PrecheckLogger): Promise<SourceFindings> {
  const { host, port, password } = config.source;
  const checks: PrecheckCheck[] = [];
  const [who] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS v, CURRENT_USER() AS u');
  const server = parseServerVersion(String(who[0]!.v));
  const account = String(who[0]!.u);
  log.debug({ version: server.text, account }, 'precheck: connected to the source');
  checks.push(pass('source_connection', `${describeServer(server)} (${server.text}) at ${host}:${port} as ${account}`));
  checks.push(checkServerVersion(server));

  checks.push(...(await serverIdInUse(conn, config, await binlogChecks(conn, server, config.source.serverId))));
  checks.push(await privilegeCheck(conn, server, account, config));
  const resolved = await resolveTables(conn, config);
  checks.push(resolved.check);
  checks.push(...(await schemaChecks(conn, resolved.tables)));
  return { checks: checks.map((c) => ({ ...c, detail: redactSecret(c.detail, password) })), tables: resolved.tables };
}

async function binlogChecks(conn: Connection, server: ServerInfo, serverId: number): Promise<PrecheckCheck[]> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${BINLOG_VARIABLES.map(() => '?').join(', ')})`,
      [...BINLOG_VARIABLES],
    );
    const vars: Record<string, string> = {};
    for (const r of rows) vars[String(r.Variable_name).toLowerCase()] = String(r.Value);
    return checkBinlogSettings(vars, server, serverId);
  } catch (e) {
    return [
      fail('log_bin', `cannot read the server variables: ${(e as Error).message}`, 'check that the user may run SHOW GLOBAL VARIABLES'),
      ...BINLOG_CHECKS.slice(1).map((n) => skip(n, 'the server variables could not be read')),
    ];
  }
}

/**
 * A server_id check that passed fails when another synchronizer holds source.serverId
 * (its lock on the source, src/source/server-id-lock.ts): starting a second binlog client
 * with the same id would make the source drop the first one's connection.
 */
async function serverIdInUse(conn: Connection, config: SyncConfig, checks: PrecheckCheck[]): Promise<PrecheckCheck[]> {
  const i = checks.findIndex((c) => c.name === 'server_id' && c.status === 'pass');
  if (i < 0) return checks;
  const { serverId } = config.source;
  let holder;
  try {
    holder = await serverIdLockHolder(conn, serverId);
  } catch {
    return checks;
  }
  if (!holder) return checks;
  const out = [...checks];
  if (config.checkpoint.store === 'kafka') {
    // The instances of a task share the id; the one holding it is the active one, which this one stands by for.
    out[i] = pass('server_id', `source.serverId ${serverId} is held on the source by connection ${holder.connectionId}: with checkpoint.store kafka, ` +
      `the active instance of task ${config.checkpoint.task}; this one stands by and takes the id over when elected`);
    return out;
  }
  out[i] = fail('server_id',
    `source.serverId ${serverId} is in use: another synchronizer holds it on the source (its lock connection ${holder.connectionId}${holder.who ? `, ${holder.who}` : ''}); ` +
      'a second binlog client with the same id would make the source drop the first one\'s connection, and both would write the same changes',
    `stop the other synchronizer, or give this one its own source.serverId (and its own checkpoint.file); if the other one is gone but its host lost the network, run KILL ${holder.connectionId} on the source or wait until the source drops that connection`);
  return out;
}

async function privilegeCheck(conn: Connection, server: ServerInfo, account: string, config: SyncConfig): Promise<PrecheckCheck> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
    const lines = rows.map((r) => String(Object.values(r)[0]));
    return checkPrivileges(parseGrants(lines), { server, account, objects: config.objects, snapshot: config.mode !== 'incremental' });
  } catch (e) {
    return fail(PRIVILEGES_CHECK, `cannot read the grants of ${account}: ${(e as Error).message}`, 'check the user; SHOW GRANTS FOR CURRENT_USER() needs no privilege');
  }
}

async function resolveTables(conn: Connection, config: SyncConfig): Promise<{ check: PrecheckCheck; tables: SelectedTable[] }> {
  const tables: SelectedTable[] = [];
  const problems: string[] = [];
  for (const o of config.objects) {
    if (o.table === '*') {
      const found = await tablesOf(conn, o.database);
      if (found.length === 0) {
        problems.push(`${formatObjectPattern(o)} selects no table (database ${o.database} does not exist, has no tables, or the user cannot see them)`);
      }
      for (const table of found) tables.push({ database: o.database, table });
      continue;
    }
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [o.database, o.table],
    );
    const type = rows[0] ? String(rows[0].type) : null;
    if (type === null) problems.push(`${formatObjectPattern(o)} does not exist (or the user cannot see it)`);
    else if (type !== 'BASE TABLE') problems.push(`${formatObjectPattern(o)} is a ${type.toLowerCase()}, not a table: its changes are not in the binlog as rows`);
    else tables.push({ database: o.database, table: o.table });
  }
  if (problems.length > 0) {
    return {
      check: fail('tables', problems.join('; '),
        'create the missing tables, correct the names in objects (names are case-sensitive), or remove the entries from objects; a user without SELECT on a table cannot see it'),
      tables,
    };
  }
  return { check: pass('tables', `${plural(tables.length, 'table')}: ${listSome(tables.map(name))}`), tables };
}

async function schemaChecks(conn: Connection, tables: readonly SelectedTable[]): Promise<PrecheckCheck[]> {
  if (tables.length === 0) return ['primary_keys', 'foreign_keys', 'column_types'].map((n) => skip(n, 'no selected table exists'));
  const schemas: TableSchema[] = [];
  const unsupported: string[] = [];
  const unreadable: string[] = [];
  for (const t of tables) {
    try {
      schemas.push(await readTableSchema(conn, t.database, t.table));
    } catch (e) {
      if (isSyncError(e) && e.code === 'UNSUPPORTED_COLUMN_TYPE') {
        // The message names the column: "column db.t.c has type ..., which the synchronizer does not support; ..."
        unsupported.push(e.message.replace(/;.*$/, ''));
      } else {
        unreadable.push(`${name(t)} (${(e as Error).message})`);
      }
    }
  }
  return [keyCheck(schemas, unsupported.length + unreadable.length), await foreignKeyCheck(conn, tables), typeCheck(schemas.length, unsupported, unreadable)];
}

async function foreignKeyCheck(conn: Connection, tables: readonly SelectedTable[]): Promise<PrecheckCheck> {
  const databases = [...new Set(tables.map((t) => t.database))];
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS t, CONSTRAINT_NAME AS n, REFERENCED_TABLE_NAME AS p, UPDATE_RULE AS u, DELETE_RULE AS d
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?)`,
    [databases],
  );
  const fks: ForeignKeyRow[] = rows.map((r) => ({ database: String(r.db), table: String(r.t), name: String(r.n), parent: String(r.p), updateRule: String(r.u), deleteRule: String(r.d) }));
  return checkForeignKeys(fks, tables);
}

function keyCheck(schemas: readonly TableSchema[], notRead: number): PrecheckCheck {
  const keyless: string[] = [];
  const byUnique: string[] = [];
  for (const s of schemas) {
    const key = rowKey(s);
    if (key === null) {
      keyless.push(s.uniqueKeys.length > 0 ? `${name(s)} (its unique keys allow NULL)` : name(s));
    } else if (key !== s.primaryKey) {
      byUnique.push(`${name(s)} by ${key.name}`);
    }
  }
  const unread = notRead > 0 ? `; ${plural(notRead, 'table')} not checked (see column_types)` : '';
  if (keyless.length > 0) {
    return fail('primary_keys',
      `${listSome(keyless)} ${keyless.length === 1 ? 'has' : 'have'} neither a primary key nor a NOT NULL unique key: ` +
        `DTS refuses such tables, because without a key the destination cannot tell rows apart and gets duplicates${unread}`,
      'add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)) or make a unique key NOT NULL, or remove the table from objects ' +
        '(instead of db.*, list the other tables one by one)');
  }
  const detail = byUnique.length === 0
    ? `${plural(schemas.length, 'table')}, each with a primary key`
    : `${plural(schemas.length, 'table')}, each with a primary key or a NOT NULL unique key (${listSome(byUnique)})`;
  return pass('primary_keys', `${detail}${unread}`);
}

function typeCheck(read: number, unsupported: readonly string[], unreadable: readonly string[]): PrecheckCheck {
  if (unsupported.length > 0 || unreadable.length > 0) {
    const parts = [
      ...unsupported,
      ...(unreadable.length > 0 ? [`cannot read the schema of ${listSome(unreadable, 4)}`] : []),
    ];
    return fail('column_types', parts.join('; '),
      unsupported.length > 0
        ? 'change the column to a supported type, or remove its table from objects (instead of db.*, list the other tables one by one)'
        : 'check that the user has SELECT on the table and that information_schema answers');
  }
  return pass('column_types', `every column of the ${plural(read, 'table')} has a supported type`);
}
