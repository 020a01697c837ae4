/**
 * The hook that makes kafkajs send the sink's own record batches (src/sink/kafkajs-fast-produce.ts):
 * the produce requests it takes over are byte for byte kafkajs' own (with the producer fields
 * of a non-idempotent producer written as -1, as the Java client does), it takes nothing but
 * the sink's marked requests of v3 and above, and a kafkajs that is not as expected stops it
 * with ENCODE_FAILED.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, test } from 'node:test';
import { isSyncError } from '../../../src/errors.ts';
import {
  checkedDefinitions,
  compareWithKafkajs,
  compressAhead,
  encodeProduceBody,
  ensureFastProduce,
  fastProtocol,
  kafkajsProtocol,
  markFastBatch,
  type ProduceArgs,
  type ProduceDefinitions,
} from '../../../src/sink/kafkajs-fast-produce.ts';
import type { BatchRecord } from '../../../src/sink/record-batch.ts';

const require = createRequire(import.meta.url);
type Request = { apiKey: number; apiVersion: number; expectResponse?: () => boolean; encode: () => Promise<{ buffer: Buffer }> };
type Builder = (args: ProduceArgs) => { request: Request };
/** kafkajs' own request builders, straight from their files (never wrapped). */
const kafkajsRequest = (version: number): Builder => {
  const build = require(`kafkajs/src/protocol/requests/produce/v${version}/request.js`) as (args: ProduceArgs) => Request;
  return (args) => ({ request: build(args) });
};
const definitions = (require('kafkajs/src/protocol/requests/index.js') as { requests: { Produce: ProduceDefinitions } }).requests.Produce;
const kafkajsVersion = (require('kafkajs/package.json') as { version: string }).version;

before(async () => {
  await ensureFastProduce();
});

const T0 = 1_700_000_000_000;

function records(n: number, seed = 0): BatchRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : Buffer.from(`k${seed}-${i}`),
    value: i % 7 === 3 ? Buffer.alloc(0) : Buffer.alloc(100 + (i % 50), i + seed),
    timestamp: String(T0 + ((i * 31) % 17)),
  }));
}

/** Two topics, three partitions; marked for the fast encoder unless `mark` is false. */
function args(extra: Partial<ProduceArgs> = {}, mark = true, firstSequence = -1): ProduceArgs {
  const topicData = [
    { topic: 'orders', partitions: [{ partition: 0, messages: records(30, 1), firstSequence }, { partition: 2, messages: records(1, 2), firstSequence }] },
    { topic: 'ünïcode_topic', partitions: [{ partition: 1, messages: records(200, 3), firstSequence }] },
  ];
  if (mark) for (const t of topicData) for (const p of t.partitions) markFastBatch(p.messages);
  return { acks: -1, timeout: 30_000, compression: 0, topicData, producerId: -1, producerEpoch: -1, ...extra };
}

async function bytes(build: Builder | undefined, a: ProduceArgs): Promise<Buffer> {
  assert.ok(build !== undefined);
  return (await build(a).request.encode()).buffer;
}

test('kafkajs is the pinned version and its Produce definitions pass the check', () => {
  assert.equal(kafkajsVersion, '2.2.4');
  assert.doesNotThrow(() => checkedDefinitions(kafkajsVersion, definitions));
});

for (const version of [3, 4, 5, 6, 7]) {
  test(`produce v${version}: the sink's request is kafkajs' own bytes, none and gzip, acks all/1/0`, async () => {
    for (const compression of [0, 1]) {
      for (const acks of [-1, 1, 0]) {
        const a = args({ compression, acks });
        const built = definitions.protocol({ version })!(a).request;
        assert.equal(built.apiKey, 0);
        assert.equal(built.apiVersion, version);
        assert.equal(built.expectResponse?.(), acks !== 0);
        assert.ok((await built.encode()).buffer.equals(await bytes(kafkajsRequest(version), a)), `compression ${compression} acks ${acks}`);
      }
    }
  });
}

test('an idempotent producer: its producer id, epoch and each partition sequence go into the batches as kafkajs writes them', async () => {
  for (const compression of [0, 1]) {
    const a = args({ compression, producerId: '123456789012', producerEpoch: 7 }, true, 41);
    assert.ok((await bytes(definitions.protocol({ version: 5 }), a)).equals(await bytes(kafkajsRequest(5), a)));
  }
});

test("a transactional producer: its transactional id in the body and the transactional bit in every batch, as kafkajs writes them", async () => {
  for (const version of [3, 5, 7]) {
    for (const compression of [0, 1]) {
      const a = args({ compression, transactionalId: 'dts-task.ünï', producerId: '98765', producerEpoch: 4 }, true, 12);
      const ours = await encodeProduceBody(a);
      assert.equal(ours.readInt16BE(0), Buffer.byteLength('dts-task.ünï'));
      assert.equal(ours.toString('utf8', 2, 2 + ours.readInt16BE(0)), 'dts-task.ünï');
      assert.ok((await bytes(definitions.protocol({ version }), a)).equals(await bytes(kafkajsRequest(version), a)), `v${version} compression ${compression}`);
    }
  }
  // The same request without the transactional id differs (the bit and the id are really written).
  const plain = args({ producerId: '98765', producerEpoch: 4 }, true, 12);
  const txn = args({ transactionalId: 'x', producerId: '98765', producerEpoch: 4 }, true, 12);
  assert.ok(!(await bytes(definitions.protocol({ version: 3 }), plain)).subarray(3).equals((await bytes(definitions.protocol({ version: 3 }), txn)).subarray(4)));
});

test('not idempotent: producer epoch and base sequence are -1 (kafkajs itself would write 0)', async () => {
  const a = args({ producerId: -1, producerEpoch: 0 }, true, 0);
  const ours = await bytes(definitions.protocol({ version: 3 }), a);
  const same = args({ producerId: -1, producerEpoch: -1 }, true, -1);
  assert.ok(ours.equals(await bytes(kafkajsRequest(3), same)));
  assert.ok(!ours.equals(await bytes(kafkajsRequest(3), a)));
});

test("requests the sink did not mark and v0-v2 are kafkajs' own", async () => {
  // Unmarked: kafkajs' bytes, with its epoch 0 and sequence 0 (ours would write -1).
  const unmarked = args({ producerEpoch: 0 }, false, 0);
  assert.ok((await bytes(definitions.protocol({ version: 3 }), unmarked)).equals(await bytes(kafkajsRequest(3), unmarked)));
  // One unmarked partition among marked ones: the whole request stays kafkajs'.
  const mixed = args({ producerEpoch: 0 }, true, 0);
  mixed.topicData[1]!.partitions[0]!.messages = records(5, 9);
  assert.ok((await bytes(definitions.protocol({ version: 4 }), mixed)).equals(await bytes(kafkajsRequest(4), mixed)));
  // Message sets: the very builders of kafkajs' produce/index.js.
  for (const version of [0, 1, 2]) {
    const { protocol } = definitions;
    assert.equal(protocol({ version }), kafkajsProtocol(protocol)({ version }));
    const a = args({}, true);
    assert.ok((await bytes(protocol({ version }), a)).equals(await bytes(kafkajsRequest(version), a)), `v${version}`);
  }
});

test('the request body: transactional id null, acks, timeout, topics and partitions in the order given', async () => {
  const a = args({ acks: 1, timeout: 1234 });
  const body = await encodeProduceBody(a);
  let pos = 0;
  assert.equal(body.readInt16BE(pos), -1);
  assert.equal(body.readInt16BE((pos += 2)), 1);
  assert.equal(body.readInt32BE((pos += 2)), 1234);
  assert.equal(body.readInt32BE((pos += 4)), 2);
  pos += 4;
  for (const t of a.topicData) {
    const nameLength = body.readInt16BE(pos);
    assert.equal(body.toString('utf8', pos + 2, pos + 2 + nameLength), t.topic);
    pos += 2 + nameLength;
    assert.equal(body.readInt32BE(pos), t.partitions.length);
    pos += 4;
    for (const p of t.partitions) {
      assert.equal(body.readInt32BE(pos), p.partition);
      const size = body.readInt32BE(pos + 4);
      assert.equal(body.readInt32BE(pos + 8 + 8 + 4 + 4 + 1 + 4 + 2), p.messages.length - 1, 'lastOffsetDelta');
      pos += 8 + size;
    }
  }
  assert.equal(pos, body.length);
});

test('a kafkajs other than the pinned one, or with other Produce definitions, is ENCODE_FAILED', async () => {
  const failsWith = (what: RegExp) => (e: unknown) => isSyncError(e) && e.code === 'ENCODE_FAILED' && !e.retriable && what.test(e.message) && e.message.includes('npm ci');
  assert.throws(() => checkedDefinitions('2.2.5', definitions), failsWith(/version 2\.2\.5 is installed/));
  assert.throws(() => checkedDefinitions('2.2.4', undefined), failsWith(/no protocol function/));
  assert.throws(() => checkedDefinitions('2.2.4', { versions: ['0', '1', '2', '3'], protocol: () => undefined }), failsWith(/no version 4/));

  const original = kafkajsProtocol(definitions.protocol);
  assert.notEqual(original, definitions.protocol);
  // A kafkajs whose v5 writes something else than ours (here: its own non-idempotent epoch 0).
  const changed: ProduceDefinitions['protocol'] = ({ version }) => {
    const build = original({ version });
    return version === 5 && build !== undefined ? (a) => build({ ...a, producerEpoch: 0 }) : build;
  };
  await assert.rejects(compareWithKafkajs(changed, fastProtocol(changed)), failsWith(/produce v5 request \(compression 0\) differs/));
  // One that would have v1 taken over.
  await assert.rejects(compareWithKafkajs(original, ({ version }) => fastProtocol(original)({ version: version === 1 ? 3 : version })), failsWith(/produce v1 is not kafkajs' own/));
  // One whose encoder throws.
  const throwing: ProduceDefinitions['protocol'] = ({ version }) => (version === 6 ? () => { throw new TypeError('boom'); } : original({ version }));
  await assert.rejects(compareWithKafkajs(throwing, fastProtocol(throwing)), failsWith(/v6 request failed \(boom\)/));
  // The real one passes.
  await compareWithKafkajs(original, fastProtocol(original));
});

test('a bad timestamp in a marked request fails its encode with ENCODE_FAILED', async () => {
  const a = args();
  (a.topicData[0]!.partitions[0]!.messages as BatchRecord[])[3] = { key: null, value: Buffer.alloc(1), timestamp: 'yesterday' };
  await assert.rejects(definitions.protocol({ version: 3 })!(a).request.encode(), (e: unknown) => isSyncError(e) && e.code === 'ENCODE_FAILED');
});

test('gzip ahead: the request takes the batch compressed in advance, and a retry takes it again; same bytes as kafkajs', async () => {
  const a = args({ compression: 1 }, false);
  for (const t of a.topicData) for (const p of t.partitions) compressAhead(p.messages);
  const build = definitions.protocol({ version: 7 })!;
  const first = (await build(a).request.encode()).buffer;
  const retry = (await build(a).request.encode()).buffer;
  assert.ok(first.equals(await bytes(kafkajsRequest(7), a)));
  assert.ok(retry.equals(first));
});

test("gzip ahead is not used for an idempotent producer's request (its batches carry this request's sequence)", async () => {
  const a = args({ compression: 1, producerId: '77', producerEpoch: 2 }, false, 500);
  for (const t of a.topicData) for (const p of t.partitions) compressAhead(p.messages);
  assert.ok((await bytes(definitions.protocol({ version: 5 }), a)).equals(await bytes(kafkajsRequest(5), a)));
});

test('gzip ahead of a record with a bad timestamp: nothing thrown or left unhandled at once, ENCODE_FAILED from the request', async () => {
  let unhandled: unknown;
  const onUnhandled = (e: unknown): void => {
    unhandled = e;
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const a = args({ compression: 1 }, false);
    (a.topicData[1]!.partitions[0]!.messages as BatchRecord[])[0] = { key: null, value: Buffer.alloc(1), timestamp: '-5' };
    for (const t of a.topicData) for (const p of t.partitions) assert.doesNotThrow(() => compressAhead(p.messages));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(unhandled, undefined);
    await assert.rejects(definitions.protocol({ version: 3 })!(a).request.encode(), (e: unknown) => isSyncError(e) && e.code === 'ENCODE_FAILED');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('framing: kafkajs frames a taken request in its own buffer (no copy of the body) and the bytes are kafkajs\' own', async () => {
  const createRequest = require('kafkajs/src/protocol/request.js') as (a: { correlationId: number; clientId: string; request: Request }) => Promise<{ buffer: Buffer }>;
  for (const version of [3, 7]) {
    for (const clientId of ['dts-binlog-kafka', 'x'.repeat(300)]) {
      const a = args();
      const ours = await createRequest({ correlationId: 42, clientId, request: definitions.protocol({ version })!(a).request });
      const theirs = await createRequest({ correlationId: 42, clientId, request: kafkajsRequest(version)(a).request });
      assert.ok(ours.buffer.equals(theirs.buffer), `v${version}, client id of ${clientId.length}`);
      assert.equal(ours.buffer.readInt32BE(0), ours.buffer.length - 4, 'size prefix');
      // The body was written once: the framed request lies in the buffer encodeProduceBody
      // allocated, which is far smaller than kafkajs' power-of-two copies would be, unless the
      // client id does not fit the room left for the header (then kafkajs copies, as before).
      const framedInPlace = ours.buffer.buffer.byteLength < 2 * ours.buffer.length && ours.buffer.byteOffset > 0;
      assert.equal(framedInPlace, clientId.length < 200, `v${version}, client id of ${clientId.length}: framed in place`);
    }
  }
  // Another kafkajs user's encoder is framed by kafkajs as ever.
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeInt32(n: number): unknown; buffer: Buffer };
  const other = { apiKey: 3, apiVersion: 1, encode: async () => { const e = new Encoder(); e.writeInt32(77); return e; } };
  const framed = await createRequest({ correlationId: 1, clientId: 'c', request: other as unknown as Request });
  assert.deepEqual([...framed.buffer], [0, 0, 0, 15, 0, 3, 0, 1, 0, 0, 0, 1, 0, 1, 99, 0, 0, 0, 77]);
});
