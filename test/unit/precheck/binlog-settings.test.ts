import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBinlogSettings, checkServerVersion } from '../../../src/precheck/binlog-settings.ts';
import { atLeast, parseServerVersion, replicationClientName } from '../../../src/source/server-version.ts';

const mariadb = parseServerVersion('10.11.19-MariaDB-0+deb12u1-log');
const good = { log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', binlog_row_metadata: 'FULL', server_id: '1' };
const byName = (checks: ReturnType<typeof checkBinlogSettings>) => Object.fromEntries(checks.map((c) => [c.name, c]));

test('server versions', () => {
  assert.deepEqual(mariadb.version, [10, 11, 19]);
  assert.equal(mariadb.flavor, 'MariaDB');
  assert.equal(parseServerVersion('8.0.36-0ubuntu0.22.04.1').flavor, 'MySQL');
  assert.deepEqual(parseServerVersion('5.5.5-10.4.32-MariaDB').version, [10, 4, 32]);
  assert.ok(atLeast(mariadb, 10, 5));
  assert.ok(!atLeast(parseServerVersion('10.4.32-MariaDB'), 10, 5));
  assert.ok(atLeast(parseServerVersion('8.0.1'), 8, 0, 1));
  assert.equal(replicationClientName(parseServerVersion('10.5.1-MariaDB')), 'REPLICATION CLIENT');
  assert.equal(replicationClientName(mariadb), 'BINLOG MONITOR');
  assert.equal(replicationClientName(parseServerVersion('8.4.0')), 'REPLICATION CLIENT');
});

test("the lab's settings pass", () => {
  const checks = checkBinlogSettings(good, mariadb, 54001);
  assert.deepEqual(checks.map((c) => [c.name, c.status]), [
    ['log_bin', 'pass'], ['binlog_format', 'pass'], ['binlog_row_image', 'pass'], ['binlog_row_metadata', 'pass'],
    ['binlog_row_value_options', 'pass'], ['binlog_transaction_compression', 'pass'], ['gtid_mode', 'pass'], ['server_id', 'pass'],
  ]);
});

const mysql97 = parseServerVersion('9.7.4-2');
const mysqlGood = { ...good, binlog_row_value_options: '', binlog_transaction_compression: 'OFF', gtid_mode: 'ON' };

test("MySQL's settings: PARTIAL_JSON fails, compression passes (decoded), GTIDs off warns, each naming the variable and the fix", () => {
  assert.ok(checkBinlogSettings(mysqlGood, mysql97, 54001).every((c) => c.status === 'pass'));
  const c = byName(checkBinlogSettings({ ...mysqlGood, binlog_row_value_options: 'PARTIAL_JSON', binlog_transaction_compression: 'ON', gtid_mode: 'OFF' }, mysql97, 54001));
  assert.equal(c.binlog_row_value_options!.status, 'fail');
  assert.match(c.binlog_row_value_options!.detail, /PARTIAL_JSON/);
  assert.match(c.binlog_row_value_options!.fix!, /SET GLOBAL binlog_row_value_options = ''/);
  assert.equal(c.binlog_transaction_compression!.status, 'pass');
  assert.match(c.binlog_transaction_compression!.detail, /ON: compressed transactions/);
  assert.equal(c.gtid_mode!.status, 'warn');
  assert.match(c.gtid_mode!.detail, /gtid_mode is OFF/);
  assert.match(c.gtid_mode!.fix!, /SET GLOBAL gtid_mode = ON/);
  const minimal = byName(checkBinlogSettings({ ...mysqlGood, binlog_row_metadata: 'MINIMAL', binlog_row_image: 'NOBLOB' }, mysql97, 54001));
  assert.equal(minimal.binlog_row_metadata!.status, 'fail');
  assert.equal(minimal.binlog_row_image!.status, 'fail');
  assert.match(minimal.binlog_row_image!.detail, /NOBLOB/);
});

test('server versions: MySQL 5.6 and MariaDB 10.1 are refused, naming the upgrade', () => {
  const old = checkServerVersion(parseServerVersion('5.6.51-log'));
  assert.equal(old.status, 'fail');
  assert.match(old.detail, /MySQL 5\.6\.51 is not supported/);
  assert.match(old.fix!, /MySQL 8\.0 or later/);
  assert.equal(checkServerVersion(parseServerVersion('10.1.48-MariaDB')).status, 'fail');
  for (const ok of ['5.7.44-log', '8.0.36', '8.4.3', '9.7.4-2', '10.11.19-MariaDB-0+deb12u1-log', '8.0.32 PolarDB']) {
    assert.equal(checkServerVersion(parseServerVersion(ok)).status, 'pass', ok);
  }
});

test('each wrong setting fails with the statement that fixes it', () => {
  const c = byName(checkBinlogSettings({ log_bin: 'OFF', binlog_format: 'MIXED', binlog_row_image: 'MINIMAL', binlog_row_metadata: 'MINIMAL', server_id: '54001' }, mariadb, 54001));
  assert.equal(c.log_bin!.status, 'fail');
  assert.match(c.log_bin!.fix!, /log_bin/);
  assert.equal(c.binlog_format!.status, 'fail');
  assert.match(c.binlog_format!.detail, /MIXED/);
  assert.match(c.binlog_format!.fix!, /SET GLOBAL binlog_format = 'ROW'/);
  assert.match(c.binlog_row_image!.fix!, /SET GLOBAL binlog_row_image = 'FULL'/);
  assert.match(c.binlog_row_metadata!.fix!, /SET GLOBAL binlog_row_metadata = 'FULL'/);
  assert.equal(c.server_id!.status, 'fail');
  assert.match(c.server_id!.fix!, /source\.serverId/);
});

test('a server without binlog_row_metadata is a warning, not a failure', () => {
  const { binlog_row_metadata: _m, ...old } = good;
  const c = byName(checkBinlogSettings(old, parseServerVersion('5.7.44-log'), 54001));
  assert.equal(c.binlog_row_metadata!.status, 'warn');
  assert.match(c.binlog_row_metadata!.detail, /MySQL 5\.7\.44 has no binlog_row_metadata/);
});

test('server_id 0 refuses binlog clients', () => {
  assert.equal(byName(checkBinlogSettings({ ...good, server_id: '0' }, mariadb, 54001)).server_id!.status, 'fail');
});
