import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionFor, partitionOfBytes, toPositive } from '../../../src/sink/partitioner.ts';

// Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
// testMurmur2 (Java `String.getBytes()` of ASCII text = its UTF-8 bytes).
const KAFKA_UTILS_TEST: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test('murmur2 matches the Kafka Java client (UtilsTest.testMurmur2)', () => {
  for (const [text, expected] of KAFKA_UTILS_TEST) {
    assert.equal(murmur2(Buffer.from(text, 'utf8')), expected, text);
  }
  assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), 479470107);
});

test('murmur2 covers every tail length (0 to 3 bytes after the last word)', () => {
  // Values from the Java implementation as quoted by Akka's Murmur2Spec.
  const cases: [string, number][] = [
    ['1', -1993445489],
    ['12', 126087238],
    ['123', -267702483],
    ['1234', -1614185708],
    ['12345', -1188365604],
  ];
  for (const [text, expected] of cases) assert.equal(murmur2(Buffer.from(text)), expected, text);
  assert.equal(Number.isInteger(murmur2(Buffer.alloc(0))), true);
});

test('partitions agree with kafkajs DefaultPartitioner (the Java-compatible one) on random keys', () => {
  const partitioner = Partitioners.DefaultPartitioner();
  for (const count of [1, 2, 3, 7, 12, 100]) {
    const partitionMetadata = Array.from({ length: count }, (_, i) => ({
      partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0],
    }));
    for (let i = 0; i < 500; i++) {
      const key = randomBytes(i % 41);
      if (key.length === 0) continue;
      const theirs = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      assert.equal(partitionOfBytes(key, count), theirs, `key ${key.toString('hex')} over ${count}`);
    }
  }
});

test('toPositive clears the sign bit like Java (not Math.abs)', () => {
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
  assert.equal(toPositive(5), 5);
});

test('single: always partition 0', () => {
  for (const count of [1, 3, 64]) {
    assert.equal(partitionFor('single', count, { database: 'shop', table: 'orders', key: Buffer.from('k') }), 0);
    assert.equal(partitionFor('single', count, { database: null, table: null, key: null }), 0);
  }
});

test('table: murmur2 of the UTF-8 bytes of database + "." + table', () => {
  const expected = (name: string, n: number) => (murmur2(Buffer.from(name, 'utf8')) & 0x7fffffff) % n;
  for (const count of [2, 3, 10, 97]) {
    assert.equal(partitionFor('table', count, { database: 'shop', table: 'orders', key: null }), expected('shop.orders', count));
    // The key plays no part.
    assert.equal(
      partitionFor('table', count, { database: 'shop', table: 'orders', key: Buffer.from('a') }),
      partitionFor('table', count, { database: 'shop', table: 'orders', key: Buffer.from('b') }),
    );
    // Non-ASCII names are hashed as UTF-8.
    assert.equal(partitionFor('table', count, { database: 'dé', table: '表', key: null }), expected('dé.表', count));
  }
  // A fixed vector: murmur2("21") is Kafka's; "2.1" is not "21".
  assert.equal(partitionFor('table', 1_000_000, { database: '2', table: '1', key: null }), (murmur2(Buffer.from('2.1')) & 0x7fffffff) % 1_000_000);
});

test('table: records without a table (database-level DDL) go to 0', () => {
  assert.equal(partitionFor('table', 8, { database: 'shop', table: null, key: null }), 0);
  assert.equal(partitionFor('table', 8, { database: null, table: null, key: null }), 0);
});

test('primary-key: murmur2 of the key bytes, no key to 0', () => {
  assert.equal(partitionFor('primary-key', 1_000_000_007, { database: 'd', table: 't', key: Buffer.from('21') }), toPositive(-973932308) % 1_000_000_007);
  for (const count of [2, 3, 16]) {
    const key = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    assert.equal(partitionFor('primary-key', count, { database: 'd', table: 't', key }), (murmur2(key) & 0x7fffffff) % count);
    assert.equal(partitionFor('primary-key', count, { database: 'd', table: 't', key: null }), 0);
  }
});

test('stable: the same input always gives the same partition, also across table-cache reuse', () => {
  const inputs = Array.from({ length: 200 }, (_, i) => ({ database: `db${i % 7}`, table: `t${i}`, key: randomBytes(8) }));
  for (const policy of ['single', 'table', 'primary-key'] as const) {
    const first = inputs.map((input) => partitionFor(policy, 7, input));
    const second = inputs.map((input) => partitionFor(policy, 7, { ...input, key: input.key === null ? null : Buffer.from(input.key) }));
    assert.deepEqual(second, first, policy);
  }
});

test('range: every partition is an integer in [0, partitionCount) and all are reached', () => {
  for (const count of [1, 2, 3, 5, 32]) {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      for (const policy of ['table', 'primary-key'] as const) {
        const p = partitionFor(policy, count, { database: 'db', table: `t${i}`, key: randomBytes(1 + (i % 20)) });
        assert.ok(Number.isInteger(p) && p >= 0 && p < count, `${policy}: ${p} out of [0, ${count})`);
        seen.add(p);
      }
    }
    assert.equal(seen.size, count);
  }
});

test('a partition count that is not a positive integer is refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => partitionFor('single', bad, { database: null, table: null, key: null }), RangeError);
  }
});
