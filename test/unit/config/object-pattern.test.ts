import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import { checkObjectPattern, formatObjectPattern, matchesObject, parseObjectPattern } from '../../../src/config/object-pattern.ts';

test('parseObjectPattern reads db.table and db.*', () => {
  assert.deepEqual(parseObjectPattern('demo.orders'), { database: 'demo', table: 'orders' });
  assert.deepEqual(parseObjectPattern('shop.*'), { database: 'shop', table: '*' });
  assert.deepEqual(parseObjectPattern('d$1.t_2'), { database: 'd$1', table: 't_2' });
  assert.deepEqual(parseObjectPattern('数据.表'), { database: '数据', table: '表' });
});

test('parseObjectPattern reads names in backticks, with dots, spaces and doubled backticks', () => {
  assert.deepEqual(parseObjectPattern('`my.db`.`my table`'), { database: 'my.db', table: 'my table' });
  assert.deepEqual(parseObjectPattern('`my.db`.*'), { database: 'my.db', table: '*' });
  assert.deepEqual(parseObjectPattern('shop.`a.b`'), { database: 'shop', table: 'a.b' });
  assert.deepEqual(parseObjectPattern('`we``ird`.t'), { database: 'we`ird', table: 't' });
  assert.deepEqual(parseObjectPattern('`my-db`.orders'), { database: 'my-db', table: 'orders' });
});

test('parseObjectPattern rejects malformed patterns with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['demo', /no table part.*demo\.\*/],
    ['a.b.c', /more than one dot.*backticks/],
    ['*.*', /database must be named/],
    ['*.orders', /database must be named/],
    ['shop.ord*', /wildcard/],
    ['my-db.t', /need backticks.*`my-db`\.t/],
    ['demo.my table', /need backticks/],
    ['`open.t', /never closed/],
    ['``.t', /in backticks is empty/],
    ['`a`b.c', /followed by a dot/],
    ['shop.`t`x', /text after the closing backtick/],
    ['demo.', /table name is empty/],
    ['.orders', /database name is empty/],
    ['demo.`*`', /ambiguous/],
    [`${'d'.repeat(65)}.t`, /longer than 64/],
  ];
  for (const [input, reason] of cases) {
    const result = checkObjectPattern(input);
    assert.equal(result.ok, false, `${input} should be rejected`);
    if (!result.ok) assert.match(result.reason, reason, input);
    assert.throws(
      () => parseObjectPattern(input),
      (e: unknown) => e instanceof SyncError && e.code === 'CONFIG_INVALID' && e.message.includes(JSON.stringify(input)),
    );
  }
});

test('formatObjectPattern quotes only names that need it and round-trips', () => {
  assert.equal(formatObjectPattern({ database: 'demo', table: 'orders' }), 'demo.orders');
  assert.equal(formatObjectPattern({ database: 'shop', table: '*' }), 'shop.*');
  assert.equal(formatObjectPattern({ database: 'my.db', table: 'my table' }), '`my.db`.`my table`');
  for (const s of ['`my.db`.`my table`', 'demo.orders', '`we``ird`.*']) {
    assert.equal(formatObjectPattern(parseObjectPattern(s)), s);
  }
});

test('matchesObject: exact tables, whole databases, case-sensitive, strings or parsed patterns', () => {
  const patterns = ['demo.orders', 'shop.*', '`my.db`.`t 1`'];
  assert.equal(matchesObject(patterns, 'demo', 'orders'), true);
  assert.equal(matchesObject(patterns, 'demo', 'customers'), false);
  assert.equal(matchesObject(patterns, 'shop', 'anything'), true);
  assert.equal(matchesObject(patterns, 'Shop', 'anything'), false);
  assert.equal(matchesObject(patterns, 'demo', 'Orders'), false);
  assert.equal(matchesObject(patterns, 'my.db', 't 1'), true);
  assert.equal(matchesObject(patterns, 'my', 'db'), false);
  assert.equal(matchesObject(patterns.map(parseObjectPattern), 'shop', 'x'), true);
  assert.equal(matchesObject([], 'demo', 'orders'), false);
});
