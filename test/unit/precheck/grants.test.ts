import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesGrantDatabase, parseGrantLine, parseGrants } from '../../../src/precheck/grants.ts';

test('MariaDB: global privileges with IDENTIFIED BY PASSWORD', () => {
  const line = "GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dts_sync`@`127.0.0.1` IDENTIFIED BY PASSWORD '*F9390ED0DFC30FC99F9C4C22503EB608D8EF1496'";
  assert.deepEqual(parseGrantLine(line), {
    type: 'privileges',
    statement: {
      kind: 'grant',
      on: { level: 'global' },
      withGrantOption: false,
      privileges: [
        { privilege: 'SELECT', columns: null },
        { privilege: 'REPLICATION SLAVE', columns: null },
        { privilege: 'BINLOG MONITOR', columns: null },
      ],
    },
  });
});

test('ALL PRIVILEGES and ALL, WITH GRANT OPTION', () => {
  const all = parseGrantLine("GRANT ALL PRIVILEGES ON *.* TO `lab_admin`@`127.0.0.1` IDENTIFIED BY PASSWORD '*E9D' WITH GRANT OPTION");
  assert.equal(all.type, 'privileges');
  if (all.type !== 'privileges') return;
  assert.deepEqual(all.statement.privileges, [{ privilege: 'ALL PRIVILEGES', columns: null }]);
  assert.equal(all.statement.withGrantOption, true);
  const short = parseGrantLine('GRANT ALL ON `shop`.* TO `u`@`%`');
  assert.equal(short.type === 'privileges' && short.statement.privileges[0]!.privilege, 'ALL PRIVILEGES');
});

test('database and table levels, quoted names with dots, spaces and doubled backticks', () => {
  const db = parseGrantLine("GRANT SELECT ON `my.db`.* TO 'u'@'%'");
  assert.deepEqual(db.type === 'privileges' && db.statement.on, { level: 'database', database: 'my.db' });
  const table = parseGrantLine('GRANT SELECT, INSERT ON `shop`.`order ``items``` TO `u`@`localhost`');
  assert.deepEqual(table.type === 'privileges' && table.statement.on, { level: 'table', database: 'shop', table: 'order `items`' });
  const withKeyword = parseGrantLine('GRANT SELECT ON TABLE shop.orders TO u@localhost');
  assert.deepEqual(withKeyword.type === 'privileges' && withKeyword.statement.on, { level: 'table', database: 'shop', table: 'orders' });
  const escaped = parseGrantLine('GRANT SELECT ON `db\\_1`.* TO `u`@`%`');
  assert.deepEqual(escaped.type === 'privileges' && escaped.statement.on, { level: 'database', database: 'db\\_1' });
});

test('column privileges are kept apart from whole-table ones', () => {
  const line = parseGrantLine('GRANT SELECT (`id`, `name`), INSERT (`id`), UPDATE ON `shop`.`orders` TO `u`@`%`');
  assert.equal(line.type, 'privileges');
  if (line.type !== 'privileges') return;
  assert.deepEqual(line.statement.privileges, [
    { privilege: 'SELECT', columns: ['id', 'name'] },
    { privilege: 'INSERT', columns: ['id'] },
    { privilege: 'UPDATE', columns: null },
  ]);
});

test('MySQL 8: dynamic privileges without spaces, partial revokes, role grants', () => {
  const dynamic = parseGrantLine('GRANT APPLICATION_PASSWORD_ADMIN,AUDIT_ADMIN,BACKUP_ADMIN ON *.* TO `root`@`localhost` WITH GRANT OPTION');
  assert.deepEqual(dynamic.type === 'privileges' && dynamic.statement.privileges.map((p) => p.privilege), ['APPLICATION_PASSWORD_ADMIN', 'AUDIT_ADMIN', 'BACKUP_ADMIN']);
  const classic = parseGrantLine('GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dts`@`%`');
  assert.deepEqual(classic.type === 'privileges' && classic.statement.privileges.map((p) => p.privilege), ['SELECT', 'RELOAD', 'REPLICATION SLAVE', 'REPLICATION CLIENT']);
  const revoke = parseGrantLine('REVOKE SELECT ON `mysql`.* FROM `dts`@`%`');
  assert.deepEqual(revoke.type === 'privileges' && [revoke.statement.kind, revoke.statement.on], ['revoke', { level: 'database', database: 'mysql' }]);
  assert.deepEqual(parseGrantLine('GRANT `reader`@`%`,`repl`@`%` TO `dts`@`%`'), { type: 'roles', roles: ['reader@%', 'repl@%'] });
});

test('MySQL 5.7: single-quoted account', () => {
  const line = parseGrantLine("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dts'@'10.0.%'");
  assert.equal(line.type === 'privileges' && line.statement.privileges.length, 2);
});

test('MariaDB roles, default roles, routines and proxies', () => {
  assert.deepEqual(parseGrantLine('GRANT `reader` TO `dts`@`%`'), { type: 'roles', roles: ['reader'] });
  assert.deepEqual(parseGrantLine('SET DEFAULT ROLE `reader` FOR `dts`@`%`'), { type: 'ignored' });
  const routine = parseGrantLine('GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `u`@`%`');
  assert.deepEqual(routine.type === 'privileges' && routine.statement.on, { level: 'other' });
  const proxy = parseGrantLine("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION");
  assert.deepEqual(proxy.type === 'privileges' && proxy.statement.on, { level: 'other' });
});

test('what it does not understand is reported, not guessed', () => {
  assert.deepEqual(parseGrantLine('nonsense'), { type: 'unparsed' });
  assert.deepEqual(parseGrantLine('GRANT SELECT ON `unterminated TO x'), { type: 'unparsed' });
  const parsed = parseGrants(['GRANT USAGE ON *.* TO `u`@`%`', 'something odd', 'GRANT `r` TO `u`@`%`']);
  assert.equal(parsed.statements.length, 1);
  assert.deepEqual(parsed.roles, ['r']);
  assert.deepEqual(parsed.unparsed, ['something odd']);
});

test('database-level grant names are LIKE patterns', () => {
  assert.ok(matchesGrantDatabase('shop', 'shop'));
  assert.ok(!matchesGrantDatabase('shop', 'Shop'));
  assert.ok(matchesGrantDatabase('shop_%', 'shop_eu'));
  assert.ok(matchesGrantDatabase('db_1', 'dbx1'));
  assert.ok(!matchesGrantDatabase('db\\_1', 'dbx1'));
  assert.ok(matchesGrantDatabase('db\\_1', 'db_1'));
  assert.ok(matchesGrantDatabase('my.db', 'my.db'));
  assert.ok(!matchesGrantDatabase('my.db', 'myxdb'));
});
