/**
 * A MariaDB of a test's own, for what must not happen to the lab's shared server: restarts,
 * PURGE BINARY LOGS, a global time zone. `mariadb-install-db` makes a fresh datadir in a
 * temporary folder and `mariadbd --no-defaults` runs it on a free loopback port and a socket
 * of its own, with the lab's binlog flags (scripts/lab.d/mariadb.sh) and its two users
 * (dts_sync with only what the synchronizer needs, lab_admin with everything). It works
 * wherever the lab's MariaDB does (the same Debian packages), CI included.
 *
 *   const db = await startThrowawayMariaDb();
 *   ...db.port, db.admin(), db.restart(), db.stop()/db.start(['--default-time-zone=Europe/Berlin'])
 *   await db.destroy();   // always, in after()
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { LAB_ADMIN_USER, LAB_SYNC_USER } from './lab.ts';

/** The binlog and server flags of the lab's MariaDB (scripts/lab.d/mariadb.sh). */
export const LAB_MARIADB_FLAGS = [
  '--log-bin=mysql-bin', '--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL',
  '--server-id=1', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
  '--max-allowed-packet=256M', '--innodb-buffer-pool-size=128M', '--innodb-log-file-size=128M',
  '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0',
];

export interface ThrowawayMariaDb {
  readonly port: number;
  readonly dir: string;
  /** the flags of the current run, beyond the datadir, socket and port */
  readonly args: readonly string[];
  /** starts the server (again), with these extra flags (default: those of the last start) */
  start(extraArgs?: readonly string[]): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash), and waits for the exit */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  restart(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  running(): boolean;
  /** a lab_admin connection (multiple statements, exact numbers, dates as text) */
  admin(database?: string): Promise<mysql.Connection>;
  /** runs SQL through the mariadb client as root over the socket (for tzinfo dumps and the like) */
  rootSql(sql: string, database?: string): void;
  /** loads a zone of /usr/share/zoneinfo into the mysql.time_zone tables, e.g. Europe/Berlin */
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

export async function startThrowawayMariaDb(options: { args?: readonly string[] } = {}): Promise<ThrowawayMariaDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdb-'));
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 's.sock');
  const tmpdir = path.join(dir, 'tmp');
  fs.mkdirSync(tmpdir);
  const userOpt = process.getuid?.() === 0 ? ['--user=root'] : [];
  const install = spawnSync('mariadb-install-db', ['--no-defaults', ...userOpt, `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
  const port = await freePort();
  const logFile = path.join(dir, 'mariadbd.log');
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let args: readonly string[] = options.args ?? [];

  const rootConnection = () => mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true });

  async function start(extraArgs?: readonly string[]): Promise<void> {
    if (proc) throw new Error('the throwaway MariaDB already runs');
    if (extraArgs) args = extraArgs;
    const log = fs.openSync(logFile, 'a');
    const p = spawn('mariadbd', [
      '--no-defaults', ...userOpt, `--datadir=${datadir}`, `--socket=${socket}`, `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
      `--tmpdir=${tmpdir}`, `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve', ...LAB_MARIADB_FLAGS, ...args,
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    proc = p;
    exited = new Promise((resolve) => p.once('exit', () => { if (proc === p) proc = null; resolve(); }));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc !== p) throw new Error(`mariadbd exited during start:\n${tailOf(logFile)}`);
      try {
        const c = await rootConnection();
        await c.end();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`mariadbd did not answer within 60 s:\n${tailOf(logFile)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const p = proc;
    if (!p) return;
    p.kill(signal);
    const killer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
  }

  function rootSql(sql: string, database = 'mysql'): void {
    const r = spawnSync('mariadb', ['--no-defaults', '--default-character-set=utf8mb4', `--socket=${socket}`, '-uroot', database], { input: sql, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mariadb client failed (${r.status}): ${r.stderr}`);
  }

  const db: ThrowawayMariaDb = {
    port,
    dir,
    get args() { return args; },
    start,
    stop,
    restart: async (signal) => { await stop(signal); await start(); },
    running: () => proc !== null,
    admin: (database) => mysql.createConnection({
      host: '127.0.0.1', port, ...LAB_ADMIN_USER, database, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
    }),
    rootSql,
    loadTimeZone: (zone) => {
      const dump = spawnSync('mariadb-tzinfo-to-sql', [path.join('/usr/share/zoneinfo', zone), zone], { encoding: 'utf8' });
      if (dump.status !== 0) throw new Error(`mariadb-tzinfo-to-sql ${zone} failed: ${dump.stderr}`);
      rootSql(`SET SESSION sql_log_bin = 0;\n${dump.stdout}`);
    },
    destroy: async () => {
      await stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await start();
    const root = await rootConnection();
    try {
      const { user: su, password: sp } = LAB_SYNC_USER;
      const { user: au, password: ap } = LAB_ADMIN_USER;
      await root.query(`SET SESSION sql_log_bin = 0;
        CREATE USER '${su}'@'127.0.0.1' IDENTIFIED BY '${sp}';
        CREATE USER '${su}'@'localhost' IDENTIFIED BY '${sp}';
        GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${su}'@'127.0.0.1', '${su}'@'localhost';
        CREATE USER '${au}'@'127.0.0.1' IDENTIFIED BY '${ap}';
        CREATE USER '${au}'@'localhost' IDENTIFIED BY '${ap}';
        GRANT ALL PRIVILEGES ON *.* TO '${au}'@'127.0.0.1', '${au}'@'localhost' WITH GRANT OPTION;`);
    } finally {
      await root.end();
    }
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}

function tailOf(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
