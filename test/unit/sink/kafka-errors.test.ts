import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { SyncError } from '../../../src/errors.ts';
import { errorChain, kafkaErrorToSyncError, protocolErrorType, redact, type KafkaErrorContext } from '../../../src/sink/kafka-errors.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSRequestTimeoutError } = kafkajs;
const SASLError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

const PASSWORD = 'Pa55-w0rd-secret';
const ctx: KafkaErrorContext = {
  doing: 'connecting',
  brokers: ['kafka-1:9092', 'kafka-2:9092'],
  sasl: { mechanism: 'scram-sha-512', username: 'acct-group', password: PASSWORD },
};

/** As kafkajs' retrier wraps a non-retriable error: the wrapper keeps the error as its cause. */
function nonRetriable(inner: Error): Error {
  return Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner });
}

function protocolError(type: string, code: number, retriable: boolean, message = `broker says ${type}`): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable }));
}

test('a connection error after retries is retriable KAFKA_UNREACHABLE naming the brokers and the cause', () => {
  const root = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1' });
  const e = kafkaErrorToSyncError(new KafkaJSNumberOfRetriesExceeded(root, { retryCount: 2, retryTime: 100 }), ctx);
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, true);
  assert.match(e.message, /kafka-1:9092, kafka-2:9092/);
  assert.match(e.message, /ECONNREFUSED/);
  assert.match(e.message, /gave up after retrying/);
  assert.equal((e as Error & { cause?: unknown }).cause !== undefined, true);
});

test('a request timeout and a retriable protocol error are retriable', () => {
  assert.equal(kafkaErrorToSyncError(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 3) timed out'), ctx).retriable, true);
  const leader = new KafkaJSNumberOfRetriesExceeded(protocolError('NOT_LEADER_FOR_PARTITION', 6, true), { retryCount: 5, retryTime: 1 });
  const e = kafkaErrorToSyncError(leader, ctx);
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, true);
});

test('SASL failure: not retriable, names mechanism and user, never the password', () => {
  const cases = [
    new SASLError(`SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (password ${PASSWORD})`),
    protocolError('SASL_AUTHENTICATION_FAILED', 58, false),
    protocolError('ILLEGAL_SASL_STATE', 34, false),
    protocolError('UNSUPPORTED_SASL_MECHANISM', 33, false),
    nonRetriable(protocolError('SASL_AUTHENTICATION_FAILED', 58, false)),
  ];
  for (const error of cases) {
    const e = kafkaErrorToSyncError(error, ctx);
    assert.equal(e.code, 'KAFKA_UNREACHABLE');
    assert.equal(e.retriable, false, e.message);
    assert.match(e.message, /SASL SCRAM-SHA-512 authentication as user "acct-group" failed/);
    assert.ok(!e.message.includes(PASSWORD), e.message);
  }
  assert.match(kafkaErrorToSyncError(protocolError('ILLEGAL_SASL_STATE', 34, false), ctx).message, /listener does not take SASL/);
});

test('MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE are RECORD_TOO_LARGE with what was sent', () => {
  for (const [type, code] of [['MESSAGE_TOO_LARGE', 10], ['RECORD_LIST_TOO_LARGE', 18]] as const) {
    const e = kafkaErrorToSyncError(nonRetriable(protocolError(type, code, false)), {
      ...ctx,
      doing: 'sending',
      tooLarge: () => 'a record batch for topic t: its largest record, for partition 2, has 2000 bytes',
    });
    assert.equal(e.code, 'RECORD_TOO_LARGE');
    assert.equal(e.retriable, false);
    assert.match(e.message, new RegExp(type));
    assert.match(e.message, /topic t: its largest record, for partition 2, has 2000 bytes/);
    assert.match(e.message, /max\.message\.bytes/);
  }
});

test('UNKNOWN_TOPIC_OR_PARTITION after retries is KAFKA_TOPIC_MISSING naming the topics and the fix', () => {
  const e = kafkaErrorToSyncError(
    new KafkaJSNumberOfRetriesExceeded(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true), { retryCount: 5, retryTime: 1 }),
    { ...ctx, doing: 'sending', topics: ['dts_demo'] },
  );
  assert.equal(e.code, 'KAFKA_TOPIC_MISSING');
  assert.match(e.message, /dts_demo/);
  assert.match(e.message, /kafka\.createTopics: true/);
});

test('authorization failures are not retriable and say what to grant', () => {
  const e = kafkaErrorToSyncError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false), ctx);
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, false);
  assert.match(e.message, /grant the user WRITE/);
});

test('lost producer state is retriable (a new producer fixes it)', () => {
  const e = kafkaErrorToSyncError(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false), ctx);
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, true);
});

test('an unexpected non-retriable error stays not retriable; a SyncError passes through', () => {
  const e = kafkaErrorToSyncError(protocolError('CORRUPT_MESSAGE', 2, false), ctx);
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, false);
  const own = new SyncError('RECORD_TOO_LARGE', 'x');
  assert.equal(kafkaErrorToSyncError(own, ctx), own);
  assert.equal(kafkaErrorToSyncError(new TypeError('bug'), ctx).retriable, false);
});

test('the password is removed from any message, wherever it appears', () => {
  const e = kafkaErrorToSyncError(new KafkaJSConnectionError(`weird ${PASSWORD} text`), ctx);
  assert.ok(!e.message.includes(PASSWORD));
  assert.match(e.message, /weird \*\*\* text/);
  assert.equal(redact('a-b-a', 'a'), '***-b-***');
  assert.equal(redact('abc', ''), 'abc');
  assert.equal(redact('abc', undefined), 'abc');
});

test('errorChain walks causes, retries and aggregates; protocolErrorType finds the first type', () => {
  const inner = protocolError('TOPIC_ALREADY_EXISTS', 36, false);
  const aggregate = Object.assign(new Error('Topic creation errors'), { errors: [inner] });
  const outer = nonRetriable(aggregate);
  assert.ok(errorChain(outer).includes(inner as never));
  assert.equal(protocolErrorType(outer), 'TOPIC_ALREADY_EXISTS');
  assert.equal(protocolErrorType(new Error('plain')), undefined);
  // A cycle does not loop.
  const a = new Error('a') as Error & { cause?: unknown };
  a.cause = a;
  assert.equal(errorChain(a).length, 1);
});

test("a SyncError of ours that kafkajs wrapped (the produce encoder's) comes back as it is", () => {
  const ours = new SyncError('ENCODE_FAILED', 'record 3 of a record batch has timestamp "x"');
  assert.equal(kafkaErrorToSyncError(nonRetriable(ours), ctx), ours);
  assert.equal(kafkaErrorToSyncError(new KafkaJSNumberOfRetriesExceeded(ours, { retryCount: 0, retryTime: 1 }), ctx), ours);
});

test("a transactional producer's refused epoch is NOT_ACTIVE naming its transactional id; without one it stays lost producer state", () => {
  const fenced = kafkaErrorToSyncError(nonRetriable(protocolError('INVALID_PRODUCER_EPOCH', 47, false)), { ...ctx, doing: 'committing a transaction', transactionalId: 'dts-task.orders' });
  assert.equal(fenced.code, 'NOT_ACTIVE');
  assert.equal(fenced.retriable, false);
  assert.match(fenced.message, /Kafka fenced this producer while committing a transaction: a newer producer with transactional id dts-task\.orders started/);
  // PRODUCER_FENCED (code 90) is not in kafkajs 2.2.4's table: known by its code.
  const unknownToKafkajs = new KafkaJSProtocolError(Object.assign(new Error('Unknown error code 90'), { type: 'KAFKAJS_UNKNOWN_ERROR_CODE', code: 90, retriable: false }));
  assert.equal(kafkaErrorToSyncError(unknownToKafkajs, { ...ctx, transactionalId: 't' }).code, 'NOT_ACTIVE');
  const idempotent = kafkaErrorToSyncError(protocolError('INVALID_PRODUCER_EPOCH', 47, false), ctx);
  assert.equal(idempotent.code, 'KAFKA_UNREACHABLE');
  assert.equal(idempotent.retriable, true);
});
