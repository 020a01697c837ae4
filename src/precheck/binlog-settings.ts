/**
 * The source's binlog settings the synchronizer depends on, judged from
 * `SHOW GLOBAL VARIABLES`. Pure.
 *
 * - log_bin ON: without a binlog there is nothing to read;
 * - binlog_format ROW: statement events carry no row values;
 * - binlog_row_image FULL: DTS records carry every column of the before and after images;
 * - binlog_row_metadata FULL: the column names and keys in every TableMap are the schema
 *   history (docs/architecture.md); servers before MariaDB 10.5 and MySQL 8.0.1 do not have
 *   it, so the synchronizer falls back to information_schema and rows replayed across an
 *   ALTER TABLE may be read with the wrong columns: a warning, not a failure;
 * - server_id: a binlog client announcing the source's own id is refused.
 */
import { fail, pass, type PrecheckCheck, warn } from './report.ts';
import { describeServer, type ServerInfo } from '../source/server-version.ts';

/** lower-case variable names to values, as SHOW GLOBAL VARIABLES gives them */
export type ServerVariables = Readonly<Record<string, string>>;

export const BINLOG_VARIABLES = ['log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'server_id'] as const;

const persist = (setting: string) =>
  `put ${setting} in the [mysqld] section of the server's config file so that it survives a restart`;

export function checkBinlogSettings(vars: ServerVariables, server: ServerInfo, clientServerId: number): PrecheckCheck[] {
  const out: PrecheckCheck[] = [];
  const value = (name: string) => vars[name]?.toUpperCase();

  const logBin = value('log_bin');
  out.push(
    logBin === 'ON' || logBin === '1'
      ? pass('log_bin', 'ON')
      : fail('log_bin', `the binlog is off (log_bin = ${vars.log_bin ?? 'unknown'})`,
          'start the server with the binlog on: in [mysqld] set log_bin=mysql-bin and a server_id, then restart it (log_bin cannot change at run time)'),
  );

  const format = value('binlog_format');
  out.push(
    format === 'ROW'
      ? pass('binlog_format', 'ROW')
      : fail('binlog_format', `binlog_format is ${vars.binlog_format ?? 'unknown'}; only ROW events carry the changed rows`,
          `run SET GLOBAL binlog_format = 'ROW' (sessions already open keep their format until they reconnect) and ${persist('binlog_format=ROW')}`),
  );

  const image = value('binlog_row_image');
  out.push(
    image === 'FULL' || image === undefined
      ? pass('binlog_row_image', image ?? 'FULL (the server predates binlog_row_image, which came with MySQL 5.6 and MariaDB 10.1)')
      : fail('binlog_row_image', `binlog_row_image is ${vars.binlog_row_image ?? 'unknown'}; DTS records need every column of each row`,
          `run SET GLOBAL binlog_row_image = 'FULL' and ${persist('binlog_row_image=FULL')}`),
  );

  const metadata = value('binlog_row_metadata');
  if (metadata === undefined) {
    out.push(warn('binlog_row_metadata', `${describeServer(server)} has no binlog_row_metadata (it came with MariaDB 10.5 and MySQL 8.0.1): column names come from the current schema, so rows replayed across an ALTER TABLE may be read with the wrong columns`,
      'upgrade the source to MariaDB 10.5+ or MySQL 8.0.1+ and set binlog_row_metadata=FULL; meanwhile avoid ALTER TABLE on synced tables while the synchronizer is behind'));
  } else {
    out.push(
      metadata === 'FULL'
        ? pass('binlog_row_metadata', 'FULL')
        : fail('binlog_row_metadata', `binlog_row_metadata is ${vars.binlog_row_metadata}; the synchronizer reads column names and keys from each TableMap event`,
            `run SET GLOBAL binlog_row_metadata = 'FULL' and ${persist('binlog_row_metadata=FULL')}`),
    );
  }

  const sourceId = vars.server_id;
  if (sourceId !== undefined && Number(sourceId) === clientServerId) {
    out.push(fail('server_id', `source.serverId ${clientServerId} is the source's own server_id; the source refuses a binlog client with its own id`,
      'set source.serverId to an id no server of the replication topology uses'));
  } else if (sourceId !== undefined && Number(sourceId) === 0) {
    out.push(fail('server_id', "the source's server_id is 0; a server with server_id 0 refuses binlog clients",
      `run SET GLOBAL server_id = 1 (or any id other than ${clientServerId}) and ${persist('server_id')}`));
  } else {
    out.push(pass('server_id', `source.serverId ${clientServerId} differs from the source's server_id ${sourceId ?? 'unknown'}`));
  }
  return out;
}
