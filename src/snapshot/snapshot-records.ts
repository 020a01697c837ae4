/**
 * The records a full-data sync makes on the main thread, through the record router
 * (src/route/record-router.ts) like every other record: a table's schema record (the
 * initial sync's and the streamed copy's), and the streamed copy's INIT rows (the initial
 * sync's are encoded by the chunk workers, chunk-worker.ts). Both carry initSource: the
 * watermark's position and GTID and the source's server_id.
 */
import type { CheckpointPosition } from '../checkpoint/checkpoint-store.ts';
import { type DdlEvent, initSource, type RowChangeEvent, type SourceInfo } from '../model/change-event.ts';
import type { RecordRouter, TableRoute } from '../route/record-router.ts';
import type { SinkMessage } from '../sink/sink.ts';
import { normalizeRow } from '../source/row-normalizer.ts';
import { type ChunkTable, rawRow } from './chunk-query.ts';

/**
 * The schema record of a table (`SHOW CREATE TABLE`'s `sql`) read at `watermark`; null when
 * kafka.oversizedRecord skips it. `where` names the sync in an oversize report.
 */
export function schemaMessage(router: RecordRouter, table: ChunkTable, sql: string, watermark: CheckpointPosition, serverId: number, where: string): SinkMessage | null {
  const now = Date.now();
  const { database } = table.schema;
  const event: DdlEvent = { kind: 'ddl', database, sql, source: initSource(watermark, serverId, Math.floor(now / 1000)) };
  return router.message(event, router.table(database, table.schema.table), now, String(now), where);
}

/** One copied row's record and its message key as text (latin1; '' for none), for the streamed copy's reconciliation. */
export interface KeyedRecord {
  readonly key: string;
  readonly record: SinkMessage;
}

/**
 * The streamed copy's INIT records: a function of a row (its fields as the server's text)
 * and the low watermark of its chunk, returning its record, or null when
 * kafka.oversizedRecord skips it. What a chunk's rows share is made once per chunk.
 */
export function initRecords(router: RecordRouter, serverId: number, where: string): (t: ChunkTable, fields: (Buffer | null)[], low: CheckpointPosition) => KeyedRecord | null {
  let chunk: { low: CheckpointPosition; table: ChunkTable; route: TableRoute; source: SourceInfo; now: number; timestamp: string } | null = null;
  return (t, fields, low) => {
    if (chunk === null || chunk.low !== low || chunk.table !== t) {
      const now = Date.now();
      const source = initSource(low, serverId, Math.floor(now / 1000));
      chunk = { low, table: t, route: router.table(t.schema.database, t.schema.table), source, now, timestamp: String(now) };
    }
    const { schema } = t;
    const change: RowChangeEvent = { kind: 'row', operation: 'INIT', table: schema, before: null, after: normalizeRow(schema, rawRow(schema, fields)), source: chunk.source };
    const record = router.message(change, chunk.route, chunk.now, chunk.timestamp, where);
    return record === null ? null : { key: record.key ? record.key.toString('latin1') : '', record };
  };
}
