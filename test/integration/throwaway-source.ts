/**
 * A source server of a test's own, for what must not happen to the lab's shared ones:
 * restarts, crashes, PURGE BINARY LOGS, a global time zone. It is made by the lab's own
 * script (scripts/lab up --source mariadb|mysql), in a temporary LAB_DIR and on a free
 * loopback port (LAB_MARIADB_PORT / LAB_MYSQL_PORT), so it is the very server the lab runs:
 * the same binaries, binlog flags, TLS certificates and users (dts_sync with only what the
 * synchronizer needs, lab_admin with everything). Extra server flags go through
 * LAB_MARIADB_ARGS / LAB_MYSQL_ARGS.
 *
 *   const db = await startThrowawaySource(labSource);   // a MariaDB or a MySQL, as labSource is
 *   ...db.source (for writeSyncConfig), db.admin(), db.restart('SIGKILL'), db.stop()/db.start(['--default-time-zone=Europe/Berlin'])
 *   await db.destroy();   // always, in after()
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { LAB_ADMIN_USER, type LabSource, type SourceKind } from './lab.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ThrowawaySource {
  readonly kind: SourceKind;
  /** the server as a lab source (its own port and CA), for writeSyncConfig and adminConnection */
  readonly source: LabSource;
  readonly port: number;
  readonly dir: string;
  /** the extra server flags of the current run */
  readonly args: readonly string[];
  /** starts the server (again), with these extra flags (default: those of the last start) */
  start(extraArgs?: readonly string[]): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash), and waits for the exit */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  restart(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  running(): boolean;
  /** a lab_admin connection (multiple statements, exact numbers, dates as text) */
  admin(database?: string): Promise<mysql.Connection>;
  /** runs SQL through the server's own client as root over the socket (for tzinfo dumps and the like) */
  rootSql(sql: string, database?: string): void;
  /** loads a zone of /usr/share/zoneinfo into the mysql.time_zone tables (not binlogged), e.g. Europe/Berlin */
  loadTimeZone(zone: string): void;
  /** stops the server and deletes its folder */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * True while any thread of the process runs. A zombie leader counts as gone only once its other
 * threads have exited too: until then its files (the listening socket) stay open, and a
 * killed server with threads still in the kernel (InnoDB's I/O) would hold its port.
 */
function alive(pid: number): boolean {
  try {
    const threads = fs.readdirSync(`/proc/${pid}/task`);
    if (threads.length > 1) return true;
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function startThrowawaySource(of: LabSource | SourceKind, options: { args?: readonly string[] } = {}): Promise<ThrowawaySource> {
  const kind: SourceKind = typeof of === 'string' ? of : of.kind;
  const label = kind === 'mariadb' ? 'MariaDB' : 'MySQL';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `it-${kind}-`));
  const port = await freePort();
  const portVar = kind === 'mariadb' ? 'LAB_MARIADB_PORT' : 'LAB_MYSQL_PORT';
  const argsVar = kind === 'mariadb' ? 'LAB_MARIADB_ARGS' : 'LAB_MYSQL_ARGS';
  const pidFile = path.join(dir, 'run', `${kind}.pid`);
  let args: readonly string[] = options.args ?? [];
  const env = () => ({ ...process.env, LAB_DIR: dir, [portVar]: String(port), [argsVar]: args.join(' ') });
  const lab = (...a: string[]) => execFileAsync('bash', [`${ROOT}scripts/lab`, ...a, '--source', kind, '--kafka', 'none'], { cwd: ROOT, env: env(), maxBuffer: 16 << 20 });
  /** Runs a bash snippet with the lab's functions for this instance (mariadb_client, mysql_client, _mysql_run...). */
  const labShell = (snippet: string, input?: string): string => {
    const r = spawnSync('bash', ['-c', `set -euo pipefail; . scripts/lab.d/common.sh; . scripts/lab.d/mariadb.sh; . scripts/lab.d/mysql.sh; ${snippet}`],
      { cwd: ROOT, env: env(), input, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${snippet} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const pid = (): number | null => {
    try {
      const p = Number(fs.readFileSync(pidFile, 'utf8').trim());
      return p > 0 && alive(p) ? p : null;
    } catch {
      return null;
    }
  };
  const logTail = () => {
    try {
      return fs.readFileSync(path.join(dir, 'logs', `${kind}.log`), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };

  async function start(extraArgs?: readonly string[]): Promise<void> {
    if (pid() !== null) throw new Error(`the throwaway ${label} already runs`);
    if (extraArgs) args = extraArgs;
    try {
      await lab('up');
    } catch (e) {
      throw new Error(`the throwaway ${label} did not start: ${(e as Error).message}\n${logTail()}`);
    }
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const p = pid();
    if (p === null) return;
    if (signal === 'SIGTERM') {
      // scripts/lab's own stop: TERM, and KILL after 60 s.
      await lab('down');
      return;
    }
    try {
      process.kill(-p, 'SIGKILL');
    } catch {
      process.kill(p, 'SIGKILL');
    }
    const deadline = Date.now() + 30_000;
    while (alive(p)) {
      if (Date.now() > deadline) throw new Error(`the throwaway ${label} (pid ${p}) outlived SIGKILL`);
      await new Promise((r) => setTimeout(r, 50));
    }
    fs.rmSync(pidFile, { force: true });
  }

  const client = kind === 'mariadb' ? 'mariadb_client' : 'mysql_client';
  const rootSql = (sql: string, database = 'mysql'): void => {
    labShell(`${client} '${database.replaceAll("'", "'\\''")}'`, sql);
  };

  const db: ThrowawaySource = {
    kind,
    source: { kind, label: `throwaway ${label}`, port, caFile: path.join(dir, kind, 'tls', 'ca.pem') },
    port,
    dir,
    get args() { return args; },
    start,
    stop,
    restart: async (signal) => { await stop(signal); await start(); },
    running: () => pid() !== null,
    admin: (database) => mysql.createConnection({
      host: '127.0.0.1', port, ...LAB_ADMIN_USER, database, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
    }),
    rootSql,
    loadTimeZone: (zone) => {
      const file = path.join('/usr/share/zoneinfo', zone);
      const dump = kind === 'mariadb'
        ? labShell(`mariadb-tzinfo-to-sql '${file}' '${zone}'`)
        : labShell(`_mysql_run "$MYSQL_ROOT/usr/bin/mysql_tzinfo_to_sql" '${file}' '${zone}'`);
      rootSql(`SET SESSION sql_log_bin = 0;\n${dump}`);
    },
    destroy: async () => {
      await stop('SIGKILL').catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await start();
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}
