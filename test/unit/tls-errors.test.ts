import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { kafkaErrorToSyncError } from '../../src/sink/kafka-errors.ts';
import { tlsFailure, tlsFix } from '../../src/tls-errors.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

test('a certificate error is found in the cause chain, whatever wraps it', () => {
  const root = new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { broker: 'k:9093', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  const wrapped = new KafkaJSNumberOfRetriesExceeded(root, { retryCount: 5, retryTime: 100 });
  assert.deepEqual(tlsFailure(wrapped), { kind: 'certificate', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  assert.deepEqual(tlsFailure(Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) })),
    { kind: 'certificate', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  assert.deepEqual(tlsFailure({ errors: [new Error('a'), Object.assign(new Error('b'), { code: 'CERT_HAS_EXPIRED' })] }), { kind: 'certificate', code: 'CERT_HAS_EXPIRED' });
});

test("mysql2's HANDSHAKE_SSL_ERROR is judged by node's message; a port without TLS is its own kind", () => {
  const mysql2 = (message: string) => Object.assign(new Error(message), { code: 'HANDSHAKE_SSL_ERROR', fatal: true });
  assert.equal(tlsFailure(mysql2('self-signed certificate in certificate chain'))?.kind, 'certificate');
  assert.equal(tlsFailure(mysql2("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1"))?.kind, 'certificate');
  assert.equal(tlsFailure(mysql2('read ECONNRESET')), undefined, 'a reset during the handshake may pass on retry');
  assert.equal(tlsFailure(Object.assign(new Error('Server does not support secure connection'), { code: 'HANDSHAKE_NO_SSL_SUPPORT' }))?.kind, 'not-tls');
  assert.equal(tlsFailure(Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }))?.kind, 'not-tls');
  assert.equal(tlsFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), undefined);
  assert.equal(tlsFailure(null), undefined);
});

test('the fix names the option', () => {
  assert.match(tlsFix({ kind: 'certificate', code: 'X' }, 'source.tls'), /set source\.tls\.ca to the PEM file of the CA/);
  assert.match(tlsFix({ kind: 'not-tls', code: 'X' }, 'kafka.tls'), /turn kafka\.tls\.enabled off/);
});

test('the sink does not retry a certificate Kafka presents that is not trusted', () => {
  const root = new KafkaJSConnectionError('Connection error: unable to verify the first certificate', { broker: 'k:9093', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  const e = kafkaErrorToSyncError(new KafkaJSNumberOfRetriesExceeded(root, { retryCount: 5, retryTime: 100 }), { doing: 'connecting', brokers: ['k:9093'] });
  assert.equal(e.code, 'KAFKA_UNREACHABLE');
  assert.equal(e.retriable, false);
  assert.match(e.message, /TLS to Kafka at k:9093 failed while connecting \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\); set kafka\.tls\.ca/);
});
