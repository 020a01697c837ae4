import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObjectPattern } from '../../../src/config/index.ts';
import { parseGrants } from '../../../src/precheck/grants.ts';
import { accountForGrant, checkPrivileges } from '../../../src/precheck/privileges.ts';
import { parseServerVersion } from '../../../src/source/server-version.ts';

const mariadb = parseServerVersion('10.11.19-MariaDB-0+deb12u1-log');
const mysql8 = parseServerVersion('8.0.36');
const objects: ObjectPattern[] = [{ database: 'shop', table: 'orders' }, { database: 'demo', table: '*' }];

const check = (lines: string[], server = mariadb, objs = objects, snapshot = false) =>
  checkPrivileges(parseGrants(lines), { server, account: 'dts@127.0.0.1', objects: objs, snapshot });

test("the lab's user passes", () => {
  const c = check(["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dts`@`127.0.0.1` IDENTIFIED BY PASSWORD '*F93'"]);
  assert.equal(c.status, 'pass', c.detail);
  assert.match(c.detail, /REPLICATION SLAVE, BINLOG MONITOR, SELECT on \*\.\*/);
});

test('ALL PRIVILEGES on *.* covers everything', () => {
  assert.equal(check(['GRANT ALL PRIVILEGES ON *.* TO `dts`@`127.0.0.1` WITH GRANT OPTION']).status, 'pass');
});

test('no REPLICATION SLAVE: fails, names it and gives the GRANT to run', () => {
  const c = check(['GRANT SELECT, BINLOG MONITOR ON *.* TO `dts`@`127.0.0.1`']);
  assert.equal(c.status, 'fail');
  assert.match(c.detail, /lacks REPLICATION SLAVE/);
  assert.equal(c.fix, "as an administrator run: GRANT REPLICATION SLAVE ON *.* TO 'dts'@'127.0.0.1';");
});

test('the replication-client privilege is named as the server names it', () => {
  const maria = check(['GRANT SELECT, REPLICATION SLAVE ON *.* TO `dts`@`127.0.0.1`']);
  assert.match(maria.fix!, /GRANT BINLOG MONITOR ON \*\.\*/);
  const my = check(['GRANT SELECT, REPLICATION SLAVE ON *.* TO `dts`@`127.0.0.1`'], mysql8);
  assert.match(my.fix!, /GRANT REPLICATION CLIENT ON \*\.\*/);
  // MariaDB's old name still counts, and SUPER does on MySQL.
  assert.equal(check(['GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `d`@`h`']).status, 'pass');
  assert.equal(check(['GRANT SELECT, REPLICATION SLAVE, SUPER ON *.* TO `d`@`h`'], mysql8).status, 'pass');
  assert.equal(check(['GRANT SELECT, REPLICATION SLAVE, SUPER ON *.* TO `d`@`h`']).status, 'fail');
});

test('SELECT at database or table level, and db.* needs the database level', () => {
  const base = 'GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dts`@`127.0.0.1`';
  assert.equal(check([base, 'GRANT SELECT ON `shop`.`orders` TO `dts`@`127.0.0.1`', 'GRANT SELECT ON `demo`.* TO `dts`@`127.0.0.1`']).status, 'pass');
  assert.equal(check([base, 'GRANT ALL PRIVILEGES ON `shop`.* TO `dts`@`127.0.0.1`', 'GRANT SELECT ON `demo`.* TO `dts`@`127.0.0.1`']).status, 'pass');
  const tableOnly = check([base, 'GRANT SELECT ON `shop`.`orders` TO `dts`@`127.0.0.1`', 'GRANT SELECT ON `demo`.`t1` TO `dts`@`127.0.0.1`']);
  assert.equal(tableOnly.status, 'fail');
  assert.match(tableOnly.detail, /SELECT on demo\.\*/);
  assert.match(tableOnly.fix!, /GRANT SELECT ON `demo`\.\* TO 'dts'@'127\.0\.0\.1';/);
  assert.doesNotMatch(tableOnly.detail, /shop\.orders/);
});

test('column privileges do not count as SELECT on the table', () => {
  const c = check(['GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `d`@`h`', 'GRANT SELECT (`id`) ON `shop`.`orders` TO `d`@`h`', 'GRANT SELECT ON `demo`.* TO `d`@`h`']);
  assert.equal(c.status, 'fail');
  assert.match(c.detail, /SELECT on shop\.orders/);
});

test('a wildcard database grant matches; a partial revoke takes a database out of a global grant', () => {
  const repl = 'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `d`@`h`';
  assert.equal(check([repl, 'GRANT SELECT ON `sho%`.* TO `d`@`h`', 'GRANT SELECT ON `dem_`.* TO `d`@`h`'], mysql8).status, 'pass');
  const revoked = check(['GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `d`@`h`', 'REVOKE SELECT ON `demo`.* FROM `d`@`h`'], mysql8);
  assert.equal(revoked.status, 'fail');
  assert.match(revoked.detail, /SELECT on demo\.\*/);
});

test('with roles, a missing privilege is a warning: a default role may grant it', () => {
  const c = check(['GRANT USAGE ON *.* TO `d`@`h`', 'GRANT `replicator` TO `d`@`h`']);
  assert.equal(c.status, 'warn');
  assert.match(c.detail, /roles \(replicator\) are not counted/);
  assert.match(c.fix!, /default role/);
});

test('accounts are quoted for GRANT statements', () => {
  assert.equal(accountForGrant('dts@127.0.0.1'), "'dts'@'127.0.0.1'");
  assert.equal(accountForGrant("o'brien@%"), "'o''brien'@'%'");
  assert.equal(accountForGrant('a@b@c'), "'a@b'@'c'");
});

test('MySQL with a full-data sync: BACKUP_ADMIN (lock-free) or RELOAD is needed; MariaDB and incremental runs need neither', () => {
  const base = 'GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dts`@`127.0.0.1`';
  const mysql97 = parseServerVersion('9.7.4-2');
  const lacking = check([base], mysql97, objects, true);
  assert.equal(lacking.status, 'fail');
  assert.match(lacking.detail, /lacks BACKUP_ADMIN \(.*performance_schema\.log_status.*RELOAD/);
  assert.equal(lacking.fix, "as an administrator run: GRANT BACKUP_ADMIN ON *.* TO 'dts'@'127.0.0.1';");
  const withBackup = check([base, 'GRANT BACKUP_ADMIN ON *.* TO `dts`@`127.0.0.1`'], mysql97, objects, true);
  assert.equal(withBackup.status, 'pass', withBackup.detail);
  assert.match(withBackup.detail, /BACKUP_ADMIN/);
  assert.equal(check(['GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `d`@`h`'], mysql97, objects, true).status, 'pass');
  assert.equal(check([base], mysql97, objects, false).status, 'pass');
  assert.equal(check(['GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `d`@`h`'], mariadb, objects, true).status, 'pass');
  // Before 8.0.17 there is no log_status: only RELOAD does.
  const old = check([base, 'GRANT BACKUP_ADMIN ON *.* TO `d`@`h`'], parseServerVersion('8.0.16'), objects, true);
  assert.equal(old.status, 'fail');
  assert.match(old.fix!, /GRANT RELOAD ON/);
});
