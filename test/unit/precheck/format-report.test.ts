import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { formatReport } from '../../../src/precheck/format-report.ts';
import { targetTopics } from '../../../src/precheck/kafka-checks.ts';
import { precheckError } from '../../../src/precheck/precheck.ts';
import { fail, pass, type PrecheckReport, skip, warn } from '../../../src/precheck/report.ts';
import { redactSecret } from '../../../src/precheck/source-checks.ts';

const failing: PrecheckReport = {
  ok: false,
  elapsedMs: 1234,
  checks: [
    pass('binlog_format', 'ROW'),
    warn('binlog_row_metadata', 'absent', 'upgrade'),
    fail('primary_keys', 'shop.log has neither a primary key nor a NOT NULL unique key', 'add a primary key'),
    skip('topics', 'Kafka could not be reached'),
  ],
};

test('one aligned line per check, the fix under each failure and warning, then a summary', () => {
  assert.equal(formatReport(failing), [
    'PASS  binlog_format        ROW',
    'WARN  binlog_row_metadata  absent',
    '                           fix: upgrade',
    'FAIL  primary_keys         shop.log has neither a primary key nor a NOT NULL unique key',
    '                           fix: add a primary key',
    'SKIP  topics               not checked: Kafka could not be reached',
    'precheck FAILED: 1 of 4 checks failed (primary_keys), 1 warning, 1 skipped; 1.2 s',
    '',
  ].join('\n'));
  const ok: PrecheckReport = { ok: true, elapsedMs: 300, checks: [pass('log_bin', 'ON')] };
  assert.equal(formatReport(ok), 'PASS  log_bin  ON\nprecheck passed: 1 check; 0.3 s\n');
});

test('PRECHECK_FAILED lists each failed check with its fix; retriable only when every failure is transient', () => {
  const e = precheckError(failing);
  assert.equal(e.code, 'PRECHECK_FAILED');
  assert.equal(e.retriable, false);
  assert.match(e.message, /primary_keys: shop\.log has neither .*; fix: add a primary key/);
  assert.doesNotMatch(e.message, /binlog_row_metadata/);
  const down = precheckError({ ok: false, elapsedMs: 1, checks: [fail('kafka_connection', 'refused', 'start it', true)] });
  assert.equal(down.retriable, true);
});

test('target topics: per table, the default for DDL records, and a guess from the patterns without the source', () => {
  const config = parseConfig(`source: { host: db, user: u, password: p }
kafka: { brokers: ["k:9092"] }
objects: [shop.*, demo.orders]
topics:
  default: all
  mapping: { shop.special: special, demo.orders: orders }
ddl: { emit: false }
`, {});
  assert.deepEqual(targetTopics(config, [{ database: 'shop', table: 'a' }, { database: 'shop', table: 'special' }, { database: 'demo', table: 'orders' }]), ['all', 'special', 'orders']);
  assert.deepEqual(targetTopics(config, [{ database: 'shop', table: 'special' }]), ['special']);
  assert.deepEqual(targetTopics(config, null), ['all', 'special', 'orders']);
  const withDdl = parseConfig(`source: { host: db, user: u, password: p }
kafka: { brokers: ["k:9092"] }
objects: [demo.orders]
topics: { default: all, mapping: { demo.orders: orders } }
ddl: { emit: true }
`, {});
  assert.deepEqual(targetTopics(withDdl, [{ database: 'demo', table: 'orders' }]), ['orders', 'all']);
});

test('passwords are taken out of texts, unless too short to search for', () => {
  assert.equal(redactSecret("Access denied for 'u' (secret-pw)", 'secret-pw'), "Access denied for 'u' (***)");
  assert.equal(redactSecret('10.11.19', '1'), '10.11.19');
});
