import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../../src/precheck/kafka-api-versions.ts';
import { type ApiVersionRange, inferKafkaVersion } from '../../../src/precheck/kafka-version.ts';

/** [apiKey, max] pairs; min versions do not matter here. */
const apis = (pairs: [number, number][]): ApiVersionRange[] => pairs.map(([apiKey, maxVersion]) => ({ apiKey, minVersion: 0, maxVersion }));
const upTo = (lastKey: number, produce: number): ApiVersionRange[] =>
  apis(Array.from({ length: lastKey + 1 }, (_, k) => [k, k === 0 ? produce : 1] as [number, number]));

test("the lab's brokers: what Kafka 1.0.2 and 3.9 answered", () => {
  // Kafka 1.0.2 answers keys 0..37 with Produce up to v5.
  const k10 = inferKafkaVersion(upTo(37, 5));
  assert.deepEqual(k10, { label: '1.0', supported: true, basis: 'Produce v5, 38 APIs', exactlyOnce: false });
  const k39 = inferKafkaVersion(apis([[0, 11], [1, 17], [3, 12], [18, 4], [19, 7], [22, 5], [68, 0]]));
  assert.equal(k39.label, '3.8-3.9');
  assert.ok(k39.supported);
  assert.ok(k39.exactlyOnce);
});

test('delivery exactly-once from Kafka 2.5 on: InitProducerId v3 (KIP-360)', () => {
  const withInitProducerId = (max: number) => apis([[0, 8], [18, 3], [19, 5], [22, max]]);
  assert.equal(inferKafkaVersion(withInitProducerId(2)).exactlyOnce, false, '2.4: InitProducerId up to v2');
  assert.equal(inferKafkaVersion(withInitProducerId(3)).exactlyOnce, true, '2.5: v3');
  assert.equal(inferKafkaVersion(upTo(33, 3)).exactlyOnce, false, '0.11: transactions, v0 only');
});

test('the release ladder', () => {
  assert.equal(inferKafkaVersion(upTo(20, 2)).label, '0.10.1-0.10.2');
  assert.equal(inferKafkaVersion(upTo(33, 3)).label, '0.11');
  assert.equal(inferKafkaVersion(upTo(41, 5)).label, '1.1');
  assert.equal(inferKafkaVersion(upTo(42, 6)).label, '2.0');
  assert.equal(inferKafkaVersion(upTo(44, 7)).label, '2.1-2.3');
  assert.equal(inferKafkaVersion(upTo(47, 8)).label, '2.4-2.7');
  assert.equal(inferKafkaVersion(upTo(60, 9)).label, '2.8-3.6');
  assert.equal(inferKafkaVersion(upTo(68, 10)).label, '3.7');
  assert.equal(inferKafkaVersion(upTo(80, 12)).label, '4.0+');
});

test('older than 0.10.1 is not supported', () => {
  const k100 = inferKafkaVersion(upTo(18, 2));
  assert.equal(k100.label, '0.10.0');
  assert.equal(k100.supported, false);
  assert.equal(inferKafkaVersion([]).supported, false);
});

test('ApiVersions v0 request and response bytes', () => {
  const req = encodeApiVersionsRequest(7, 'ab');
  assert.equal(req.toString('hex'), ['0000000c', '0012', '0000', '00000007', '0002', '6162'].join(''));
  const body = Buffer.from(['00000007', '0000', '00000002', '0000' + '0000' + '0005', '0012' + '0000' + '0001'].join(''), 'hex');
  assert.deepEqual(decodeApiVersionsResponse(body, 7), {
    errorCode: 0,
    apis: [{ apiKey: 0, minVersion: 0, maxVersion: 5 }, { apiKey: 18, minVersion: 0, maxVersion: 1 }],
  });
  assert.throws(() => decodeApiVersionsResponse(body, 8), /expected 8/);
  assert.throws(() => decodeApiVersionsResponse(body.subarray(0, 14), 7), /truncated/);
});
