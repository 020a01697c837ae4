import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaAcks, parseConfig, redactConfig, topicFor } from '../../../src/config/index.ts';

// A name in backticks must be quoted in YAML: a plain value cannot start with a backtick.
const config = (extra: string) =>
  parseConfig(
    `source: { host: db, user: u, password: "S3cr3t-source-pw" }
kafka:
  brokers: [k:9092]
  sasl: { mechanism: plain, username: acct-group, password: "S3cr3t-kafka-pw" }
  ${extra}
objects: [demo.orders, demo.items, shop.*, '\`my.db\`.*']
topics:
  default: all_changes
  mapping:
    '\`demo\`.\`orders\`': orders_topic
    shop.*: shop_topic
    shop.special: special_topic
    '\`my.db\`.*': mydb_topic
`,
    {},
  );

test('topicFor: the table mapping wins over the database mapping, which wins over the default', () => {
  const c = config('');
  assert.equal(topicFor(c, 'demo', 'orders'), 'orders_topic');
  assert.equal(topicFor(c, 'demo', 'items'), 'all_changes');
  assert.equal(topicFor(c, 'shop', 'special'), 'special_topic');
  assert.equal(topicFor(c, 'shop', 'other'), 'shop_topic');
  assert.equal(topicFor(c, 'my.db', 'x y'), 'mydb_topic');
  assert.equal(topicFor(c, 'elsewhere', 'orders'), 'all_changes');
});

test('kafkaAcks maps all/1/0 to kafkajs -1/1/0, also when given as text', () => {
  assert.equal(kafkaAcks(config('')), -1);
  assert.equal(kafkaAcks(config('acks: all')), -1);
  assert.equal(kafkaAcks(config('acks: 1')), 1);
  assert.equal(kafkaAcks(config('acks: 0')), 0);
  assert.equal(kafkaAcks(config('acks: "1"')), 1);
});

test('redactConfig replaces every password with *** and leaves the rest and the original alone', () => {
  const c = config('');
  const r = redactConfig(c);
  const text = JSON.stringify(r);
  assert.equal(text.includes('S3cr3t'), false, text);
  assert.equal(r.source.password, '***');
  assert.equal(r.kafka.sasl?.password, '***');
  assert.equal(r.kafka.sasl?.username, 'acct-group');
  assert.equal(r.source.host, 'db');
  assert.deepEqual(r.objects, c.objects);
  assert.equal(c.source.password, 'S3cr3t-source-pw');
  assert.ok(Object.isFrozen(r.source));
});
