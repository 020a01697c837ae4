/**
 * Which server the source is, from `SELECT VERSION()`: MariaDB spells its name in the
 * version ("10.11.19-MariaDB-0+deb12u1-log"), MySQL and its forks do not ("8.0.36",
 * "5.7.44-log"). Pure.
 */

export interface ServerInfo {
  readonly flavor: 'MariaDB' | 'MySQL';
  /** major, minor, patch */
  readonly version: readonly [number, number, number];
  /** what VERSION() said */
  readonly text: string;
}

export function parseServerVersion(text: string): ServerInfo {
  // Replication clients of old MySQL see MariaDB as "5.5.5-10.x"; VERSION() normally does not, but be safe.
  const trimmed = text.replace(/^5\.5\.5-(?=\d+\.\d+\.\d+-MariaDB)/i, '');
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(trimmed);
  const version: [number, number, number] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  return { flavor: /mariadb/i.test(trimmed) ? 'MariaDB' : 'MySQL', version, text };
}

export function atLeast(server: ServerInfo, major: number, minor: number, patch = 0): boolean {
  const [a, b, c] = server.version;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

export function describeServer(server: ServerInfo): string {
  return `${server.flavor} ${server.version.join('.')}`;
}

/**
 * The statement that reports the binlog's end: MySQL 8.2 added SHOW BINARY LOG STATUS and
 * 8.4 removed SHOW MASTER STATUS (error 1064); MariaDB and older MySQL know only the latter.
 */
export function binlogStatusStatement(server: ServerInfo): string {
  return server.flavor === 'MySQL' && atLeast(server, 8, 2) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
}

/** MariaDB 10.5.2 renamed REPLICATION CLIENT to BINLOG MONITOR (the old name still grants it). */
export function replicationClientName(server: ServerInfo): string {
  return server.flavor === 'MariaDB' && atLeast(server, 10, 5, 2) ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
}
