import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consumerError } from '../../../src/consumer/consumer-errors.ts';
import { SyncError } from '../../../src/errors.ts';

const ctx = { doing: 'joining group g', brokers: ['k1:9092'], topic: 'dts_demo', group: 'g', sasl: { mechanism: 'plain', username: 'acc-g', password: 's3cret' } };

/** What kafkajs throws: a KafkaJSProtocolError with a type. */
function protocolError(type: string, retriable = false): Error {
  return Object.assign(new Error(`protocol error ${type} (password s3cret)`), { name: 'KafkaJSProtocolError', type, retriable });
}

test('group and permission problems in the consumer\'s terms, never with the password', () => {
  const mixed = consumerError(protocolError('INCONSISTENT_GROUP_PROTOCOL'), ctx);
  assert.equal(mixed.code, 'CONSUMER_GROUP_CONFLICT');
  assert.match(mixed.message, /group g already has clients in the other mode/);
  const group = consumerError(protocolError('GROUP_AUTHORIZATION_FAILED'), ctx);
  assert.match(group.message, /grant the user READ on the group/);
  const topic = consumerError(protocolError('TOPIC_AUTHORIZATION_FAILED'), ctx);
  assert.match(topic.message, /grant the user READ and DESCRIBE on the topic/);
  for (const e of [mixed, group, topic]) assert.doesNotMatch(e.message, /s3cret/);
});

test('the rest through the sink\'s mapping, with the consumer\'s option names', () => {
  const sasl = consumerError(Object.assign(new Error('SASL PLAIN authentication failed: s3cret'), { name: 'KafkaJSSASLAuthenticationError' }), ctx);
  assert.equal(sasl.code, 'KAFKA_UNREACHABLE');
  assert.equal(sasl.retriable, false);
  assert.match(sasl.message, /as user "acc-g" .*check sasl\.username, sasl\.password and sasl\.mechanism/);
  assert.doesNotMatch(sasl.message, /kafka\.|s3cret/);
  const down = consumerError(Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true }), ctx);
  assert.match(down.message, /check brokers, that the brokers run/);
  assert.doesNotMatch(down.message, /retried later/);
  const ours = new SyncError('DECODE_FAILED', 'x');
  assert.equal(consumerError(ours, ctx), ours);
});
