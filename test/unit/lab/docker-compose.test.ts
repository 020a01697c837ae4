import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(fs.readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, any> };

function binlogOptions(args: string[]): string[] {
  return args.filter((a) => /^--(log-bin|binlog-format|binlog-row-image|binlog-row-metadata|server-id|character-set-server)\b/.test(a)).sort();
}

test('docker-compose.yml has the source, ZooKeeper, a Kafka 1.0.x broker and the synchronizer', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['kafka', 'mysql', 'sync', 'zookeeper']);
  assert.match(compose.services.mysql.image, /^mysql:8\.0/);
  assert.match(compose.services.kafka.image, /1\.0\.\d+$/);
  assert.equal(compose.services.sync.build, '.');
});

test('its source runs with the same binlog options as the no-Docker lab', () => {
  const lab = fs.readFileSync(`${ROOT}scripts/lab.d/mariadb.sh`, 'utf8');
  const labArgs = lab.match(/--(?:log-bin|binlog-format|binlog-row-image|binlog-row-metadata|server-id|character-set-server)=\S+/g) ?? [];
  assert.equal(labArgs.length, 6);
  assert.deepEqual(binlogOptions(compose.services.mysql.command), [...labArgs].sort());
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
  assert.deepEqual(published('mysql'), [ports.MARIADB_PORT]);
  assert.deepEqual(published('zookeeper'), [ports.ZOOKEEPER10_PORT]);
  assert.deepEqual(published('kafka'), [ports.KAFKA10_PORT]);
});
