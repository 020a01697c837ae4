import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkForeignKeys } from '../../../src/precheck/foreign-keys.ts';

const fk = (table: string, deleteRule: string, updateRule = 'RESTRICT') => ({ database: 'shop', table, name: `fk_${table}`, parent: 'orders', deleteRule, updateRule });

test('a selected child table with ON DELETE CASCADE or SET NULL warns, naming the key, the action and the binlog bugs', () => {
  const c = checkForeignKeys([fk('items', 'CASCADE'), fk('notes', 'RESTRICT', 'SET NULL')], [{ database: 'shop', table: 'items' }, { database: 'shop', table: 'notes' }]);
  assert.equal(c.status, 'warn');
  assert.match(c.detail, /shop\.items \(fk_items → orders, ON DELETE CASCADE\)/);
  assert.match(c.detail, /shop\.notes \(fk_notes → orders, ON UPDATE SET NULL\)/);
  assert.match(c.detail, /MySQL bug 32506, MariaDB MDEV-38243/);
  assert.match(c.fix!, /child rows/);
});

test('RESTRICT / NO ACTION keys, and cascading keys of tables not selected, pass', () => {
  assert.equal(checkForeignKeys([fk('items', 'RESTRICT', 'NO ACTION')], [{ database: 'shop', table: 'items' }]).status, 'pass');
  assert.equal(checkForeignKeys([fk('items', 'CASCADE')], [{ database: 'shop', table: 'orders' }]).status, 'pass');
  assert.equal(checkForeignKeys([], []).status, 'pass');
});
