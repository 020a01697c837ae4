import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/index.ts';
import { parseGrants } from '../../../src/precheck/grants.ts';
import { checkPrivileges } from '../../../src/precheck/privileges.ts';
import { checkBinlogSettings } from '../../../src/precheck/binlog-settings.ts';
import { parseServerVersion } from '../../../src/source/server-version.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(fs.readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, any> };

const BINLOG_OPTION = /^--(log-bin|binlog-format|binlog-row-image|binlog-row-metadata|server-id|character-set-server|gtid-mode|enforce-gtid-consistency)\b/;

function binlogOptions(args: string[]): string[] {
  return args.filter((a) => BINLOG_OPTION.test(a)).sort();
}

test('docker-compose.yml has the source, ZooKeeper, a Kafka 1.0.x broker and the synchronizer', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['kafka', 'mysql', 'sync', 'zookeeper']);
  assert.match(compose.services.mysql.image, /^mysql:8\.0/);
  assert.match(compose.services.kafka.image, /1\.0\.\d+$/);
  assert.equal(compose.services.sync.build, '.');
});

test("its MySQL runs with the same binlog options as the no-Docker lab's MySQL, and they pass the precheck", () => {
  const lab = fs.readFileSync(`${ROOT}scripts/lab.d/mysql.sh`, 'utf8');
  const labArgs = (lab.match(/--[a-z-]+=\S+/g) ?? []).filter((a) => BINLOG_OPTION.test(a));
  assert.equal(labArgs.length, 8);
  assert.deepEqual(binlogOptions(compose.services.mysql.command), [...labArgs].sort());
  // The precheck's view of those options, as the server reports them in SHOW GLOBAL VARIABLES.
  const vars: Record<string, string> = { binlog_row_value_options: '', binlog_transaction_compression: 'OFF' };
  for (const a of compose.services.mysql.command as string[]) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (m) vars[m[1]!.replace(/-/g, '_')] = m[2]!;
  }
  vars.log_bin = vars.log_bin ? 'ON' : 'OFF';
  const checks = checkBinlogSettings(vars, parseServerVersion('8.0.40'), 54001);
  assert.deepEqual(checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.detail}`), []);
});

test("its init script grants the synchronizer's user what the precheck asks of MySQL 8.0 for an initial sync", () => {
  const sql = fs.readFileSync(`${ROOT}scripts/docker/mysql-init.sql`, 'utf8');
  const grants = [...sql.matchAll(/^GRANT .*$/gm)].map((m) => m[0].replace(/;$/, ''));
  assert.ok(grants.length >= 1);
  const config = parseConfig(fs.readFileSync(`${ROOT}config.yaml`, 'utf8'), compose.services.sync.environment, 'config.yaml', ROOT);
  const c = checkPrivileges(parseGrants(grants), { server: parseServerVersion('8.0.40'), account: 'dts_sync@%', objects: config.objects, snapshot: config.mode !== 'incremental' });
  assert.equal(c.status, 'pass', c.detail);
  assert.doesNotMatch(sql, /mysql_native_password/, "the user keeps the server's default authentication");
});

test('the shipped config.yaml, with the environment compose gives it, points at the compose services', () => {
  const env = compose.services.sync.environment as Record<string, string>;
  const config = parseConfig(fs.readFileSync(`${ROOT}config.yaml`, 'utf8'), env, 'config.yaml', ROOT);
  assert.equal(config.source.host, 'mysql');
  assert.equal(config.source.port, 3306);
  assert.deepEqual(config.kafka.brokers, ['kafka:9092']);
  // The same objects and topic as the no-Docker lab's demo.
  const lab = parseConfig(fs.readFileSync(`${ROOT}config.yaml`, 'utf8'), {}, 'config.yaml', ROOT);
  assert.deepEqual(config.objects, lab.objects);
  assert.equal(config.topics.default, lab.topics.default);
  assert.equal(lab.source.host, '127.0.0.1');
  // The metrics endpoint: on in compose, published, and probed by the healthcheck; off in the lab's own runs.
  assert.equal(config.metrics.port, 9464);
  assert.ok((compose.services.sync.ports as string[]).includes('9464:9464'));
  assert.match(compose.services.sync.healthcheck.test.join(' '), /127\.0\.0\.1:9464\/readyz/);
  assert.equal(lab.metrics.port, 0);
});

test('its published ports are the no-Docker lab ports (scripts/lab.d/ports.env)', () => {
  const ports = Object.fromEntries(
    [...fs.readFileSync(`${ROOT}scripts/lab.d/ports.env`, 'utf8').matchAll(/^([A-Z0-9_]+)=(\d+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const published = (service: string) => (compose.services[service].ports as string[]).map((p) => p.split(':')[0]);
  assert.deepEqual(published('mysql'), [ports.MYSQL_PORT]);
  assert.deepEqual(published('zookeeper'), [ports.ZOOKEEPER10_PORT]);
  assert.deepEqual(published('kafka'), [ports.KAFKA10_PORT]);
});
