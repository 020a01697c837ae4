import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { restartNeeded, sameConfig } from '../../../src/pipeline/config-reload.ts';

const base = `source: {host: db1, port: 3306, user: u, password: p, serverId: 7}
kafka: {brokers: ['k:9092']}
objects: [shop.orders]
topics: {default: t}
`;
const config = (extra = '', text = base) => parseConfig(text + extra, {}, '/etc/dts/config.yaml');

test('objects, topics, the DDL option, snapshot and log options change live', () => {
  const running = config();
  const edited = config('ddl: {emit: true}\nsnapshot: {chunkRows: 500}\nlog: {level: debug}\n', base.replace('[shop.orders]', '[shop.orders, shop.items]').replace('default: t', 'default: t2'));
  assert.deepEqual(restartNeeded(running, edited), []);
  assert.equal(sameConfig(running, edited), false);
  assert.equal(sameConfig(running, config()), true);
});

test('the source, Kafka, the checkpoint, the mode and the partition policy need a restart, named by option', () => {
  const running = config();
  assert.deepEqual(restartNeeded(running, config('', base.replace('host: db1', 'host: db2'))), ['source.host']);
  assert.deepEqual(restartNeeded(running, config('mode: incremental\npartitionPolicy: table\n')), ['partitionPolicy', 'mode']);
  assert.deepEqual(restartNeeded(running, config('checkpoint: {file: other.json}\n')), ['checkpoint.file']);
  assert.deepEqual(restartNeeded(running, config('', base.replace("['k:9092']", "['k:9092', 'k2:9092']"))), ['kafka.brokers']);
});
