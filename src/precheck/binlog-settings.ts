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
 * - binlog_row_value_options (MySQL 8.0.3+): PARTIAL_JSON writes JSON updates as diffs the
 *   synchronizer cannot apply to a full row image: a failure;
 * - binlog_transaction_compression (MySQL 8.0.20+): compressed transactions arrive as
 *   TRANSACTION_PAYLOAD events, which the reader decompresses (zstd): a pass either way;
 * - gtid_mode (MySQL): with GTIDs the checkpoint carries the executed GTID set and a start
 *   resumes by it, so a purge of older binlog files or a failover to a replica keeps the
 *   place; without them only the file and position, which a failover loses: a warning;
 * - server_id: a binlog client announcing the source's own id is refused.
 *
 * `checkServerVersion` says whether the server is one the synchronizer supports at all.
 */
import { fail, pass, type PrecheckCheck, warn } from './report.ts';
import { describeServer, type ServerInfo } from '../source/server-version.ts';

/** lower-case variable names to values, as SHOW GLOBAL VARIABLES gives them */
export type ServerVariables = Readonly<Record<string, string>>;

export const BINLOG_VARIABLES = [
  'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'binlog_row_value_options',
  'binlog_transaction_compression', 'gtid_mode', 'server_id',
] as const;

/** The checks checkBinlogSettings reports, in order. */
export const BINLOG_CHECKS = [
  'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'binlog_row_value_options',
  'binlog_transaction_compression', 'gtid_mode', 'server_id',
] as const;

/**
 * MySQL before 5.7 and MariaDB before 10.2 are past their end of life and lack what the
 * synchronizer reads (binlog_row_image's FULL images with column metadata, JSON); MySQL 5.7
 * and MariaDB before 10.5 work without binlog_row_metadata (see that check's warning).
 */
export function checkServerVersion(server: ServerInfo): PrecheckCheck {
  const [major, minor] = server.version;
  const tooOld = server.flavor === 'MySQL' ? major < 5 || (major === 5 && minor < 7) : major < 10 || (major === 10 && minor < 2);
  if (tooOld) {
    return fail('server_version', `${describeServer(server)} is not supported: the synchronizer reads MySQL 5.7+ (8.0+ recommended) and MariaDB 10.2+ (10.5+ recommended) binlogs`,
      server.flavor === 'MySQL' ? 'upgrade the source to MySQL 8.0 or later (8.4 LTS), or sync from a replica that runs it' : 'upgrade the source to MariaDB 10.5 or later (10.11 LTS), or sync from a replica that runs it');
  }
  return pass('server_version', `${describeServer(server)} is supported`);
}

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

  const valueOptions = vars.binlog_row_value_options;
  out.push(
    valueOptions !== undefined && /PARTIAL_JSON/i.test(valueOptions)
      ? fail('binlog_row_value_options', `binlog_row_value_options is ${valueOptions}: JSON updates are written as partial diffs (PARTIAL_UPDATE_ROWS events), not as the full after image DTS records carry; the synchronizer would stop at the first one`,
          `run SET GLOBAL binlog_row_value_options = '' and ${persist("binlog_row_value_options=''")}`)
      : pass('binlog_row_value_options', valueOptions === undefined ? `not a setting of ${describeServer(server)}: row images are always whole` : `'${valueOptions}': JSON updates are whole images`),
  );

  const compression = vars.binlog_transaction_compression;
  out.push(pass('binlog_transaction_compression',
    compression === undefined
      ? `not a setting of ${describeServer(server)}`
      : compression.toUpperCase() === 'ON' || compression === '1'
        ? 'ON: compressed transactions (TRANSACTION_PAYLOAD events, zstd) are decompressed by the reader'
        : 'OFF'));

  const gtidMode = value('gtid_mode');
  if (server.flavor === 'MariaDB') {
    out.push(pass('gtid_mode', 'MariaDB: GTIDs are always on'));
  } else if (gtidMode === 'ON') {
    out.push(pass('gtid_mode', 'ON: checkpoints carry the executed GTID set and a start resumes by it'));
  } else {
    out.push(warn('gtid_mode', `gtid_mode is ${vars.gtid_mode ?? 'unknown (MySQL before 5.6)'}: checkpoints hold only a binlog file and position, which a failover to a replica loses`,
      "turn GTIDs on, one step at a time on a running server: SET GLOBAL enforce_gtid_consistency = ON; SET GLOBAL gtid_mode = OFF_PERMISSIVE; SET GLOBAL gtid_mode = ON_PERMISSIVE; (wait for ONGOING_ANONYMOUS_TRANSACTION_COUNT = 0) SET GLOBAL gtid_mode = ON; and put gtid_mode=ON and enforce_gtid_consistency=ON in [mysqld]"));
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
