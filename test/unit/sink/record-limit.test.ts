/**
 * The largest record a topic takes, as the session checks it before queuing a record
 * (kafka.oversizedRecord, docs/reliability.md case 4). No broker: the sink is never connected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaSink } from '../../../src/sink/kafka-sink.ts';
import { BATCH_OVERHEAD_BYTES, DEFAULT_MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES } from '../../../src/sink/produce-plan.ts';

const sink = (maxRecordBytes: number, compression: 'none' | 'gzip' = 'none') =>
  new KafkaSink({ brokers: ['127.0.0.1:1'], clientId: 't', acks: -1, compression, maxRecordBytes });

test('without compression: the lower of kafka.maxRecordBytes and what fits alone in a batch under max.message.bytes', () => {
  const fits = DEFAULT_MAX_MESSAGE_BYTES - BATCH_OVERHEAD_BYTES - RECORD_OVERHEAD_BYTES;
  // A topic not described yet counts with the broker default.
  assert.deepEqual(sink(10 * 1024 * 1024).recordLimit('t'), { bytes: fits, maxRecordBytes: 10 * 1024 * 1024, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, compressed: false });
  assert.equal(sink(1000).recordLimit('t').bytes, 1000);
});

test('with gzip the broker checks the compressed batch: only kafka.maxRecordBytes is known beforehand', () => {
  assert.deepEqual(sink(10 * 1024 * 1024, 'gzip').recordLimit('t'), { bytes: 10 * 1024 * 1024, maxRecordBytes: 10 * 1024 * 1024, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, compressed: true });
});
