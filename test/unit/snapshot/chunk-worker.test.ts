import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import type { RowChangeEvent } from '../../../src/model/change-event.ts';
import type { TableSchema } from '../../../src/model/table-schema.ts';
import { messageKey } from '../../../src/route/message-key.ts';
import { partitionOf, tableRoute } from '../../../src/route/record-router.ts';
import type { ChunkTable, TextRow } from '../../../src/snapshot/chunk-query.ts';
import { type ChunkTableContext, RowEncoder } from '../../../src/snapshot/chunk-worker.ts';
import { chunkMessages } from '../../../src/snapshot/encoded-chunk.ts';
import { column } from '../../fixtures/column.ts';

const policyConfig = (policy: string) => parseConfig(
  `source: { host: db, user: u, password: p }\nkafka: { brokers: [k:9092] }\nobjects: [shop.*]\npartitionPolicy: ${policy}\ntopics: { default: all }\n`, {},
);

function table(keyType: 'bigint' | 'varchar'): ChunkTable {
  const schema: TableSchema = {
    database: 'shop', table: 'orders',
    columns: [column('id', keyType, { nullable: false, charset: keyType === 'varchar' ? 'utf8mb4' : null }), column('note', 'varchar', { charset: 'utf8mb4' })],
    primaryKey: { name: 'PRIMARY', columns: ['id'] }, uniqueKeys: [],
  };
  return { schema, key: schema.primaryKey!, collations: [null, 'utf8mb4_general_ci'] };
}

/** Rows as the chunk reader hands them: field ranges in one buffer. */
function rows(ids: string[]): TextRow[] {
  return ids.map((id) => {
    const buf = Buffer.from(`${id}note ${id}`);
    return { buf, count: 2, starts: Int32Array.from([0, id.length]), ends: Int32Array.from([id.length, buf.length]) };
  });
}

function encode(policy: string, partitionCount: number, t: ChunkTable, ids: string[]) {
  const route = tableRoute(policyConfig(policy), () => partitionCount, 'shop', 'orders');
  const context: ChunkTableContext = { table: t, lowWatermark: { file: 'mysql-bin.000004', position: 777, gtid: '0-9-12' }, sourceVersion: '10.11', serverId: 9, route };
  const encoder = new RowEncoder(context, 16, 1 << 16, null);
  for (const r of rows(ids)) encoder.add(r);
  let id = 1n;
  return { route, messages: chunkMessages(encoder.writer.finish(), { topic: route.topic, timestamp: '1', nextId: () => id++ }) };
}

const ids = ['1', '42', '-7', '9007199254740993', '0', '007', '123456'];

for (const [policy, count] of [['single', 1], ['table', 4], ['table', 7], ['primary-key', 1], ['primary-key', 6]] as const) {
  test(`worker-encoded INIT rows take the router's key and partition (${policy}, ${count} partitions)`, () => {
    for (const keyType of ['bigint', 'varchar'] as const) {
      const t = table(keyType);
      const { route, messages } = encode(policy, count, t, ids);
      assert.equal(messages.length, ids.length);
      messages.forEach((m, i) => {
        const value = keyType === 'bigint' ? BigInt(ids[i]!) : Buffer.from(ids[i]!);
        const event: RowChangeEvent = { kind: 'row', operation: 'INIT', table: t.schema, before: null, after: [value, null], source: null! };
        const key = messageKey(event);
        assert.deepEqual(m.key, key, `key of ${keyType} ${ids[i]}`);
        assert.equal(m.partition, partitionOf(route, key), `partition of ${keyType} ${ids[i]}`);
      });
    }
  });
}

test('worker-encoded INIT rows carry the watermark\'s position and GTID and the source\'s server_id', () => {
  const { messages } = encode('single', 1, table('bigint'), ['5']);
  const r = decodeRecord(messages[0]!.value);
  assert.equal(r.sourcePosition, '777@4');
  assert.equal(r.safeSourcePosition, '777@4');
  assert.equal(r.tags.server_id, '9');
  assert.equal(r.tags.thread_id, '0');
});
