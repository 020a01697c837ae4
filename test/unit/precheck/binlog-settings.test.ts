import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBinlogSettings } from '../../../src/precheck/binlog-settings.ts';
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
    ['log_bin', 'pass'], ['binlog_format', 'pass'], ['binlog_row_image', 'pass'], ['binlog_row_metadata', 'pass'], ['server_id', 'pass'],
  ]);
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
