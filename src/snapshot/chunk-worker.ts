/**
 * A chunk worker: a thread of the full-data sync that reads chunks over a source connection
 * of its own and encodes their rows into INIT records (encoded-chunk.ts), so that reading,
 * parsing and encoding, most of a snapshot row's cost, run beside the main thread, which
 * only sends. chunk-pool.ts starts and drives it; the messages are below.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Connection } from 'mysql2/promise';
import type { CheckpointPosition } from '../checkpoint/checkpoint-store.ts';
import { outputFormat } from '../dts/output-format.ts';
import type { EncodeContext } from '../dts/record-format.ts';
import { isSyncError } from '../errors.ts';
import { initSource, type RowChangeEvent } from '../model/change-event.ts';
import { integerKeyColumn, messageKey } from '../route/message-key.ts';
import { partitionOf, type TableRoute } from '../route/record-router.ts';
import { connectSource, type SourceConnectionOptions } from '../source/source-inspector.ts';
import { normalizeRow, normalizeValue } from '../source/row-normalizer.ts';
import type { ColumnValue } from '../model/column-value.ts';
import { rowKey } from '../model/table-schema.ts';
import { type ChunkKey, type ChunkTable, rawRowOf, rawValueAt, type TextRow } from './chunk-query.ts';
import { type ChunkBuffers, type EncodedChunk, EncodedChunkWriter } from './encoded-chunk.ts';
import { prepareSnapshotConnection, streamChunk } from './snapshot-source.ts';

/** What every record of a table shares. */
export interface ChunkTableContext {
  readonly table: ChunkTable;
  /** the INIT records' source position and GTID (initSource) */
  readonly lowWatermark: CheckpointPosition;
  readonly sourceVersion: string;
  /** the source's server_id */
  readonly serverId: number;
  /** topic and partitions of the table's records (src/route/record-router.ts, tableRoute) */
  readonly route: TableRoute;
}

export type ToChunkWorker =
  | { readonly type: 'table'; readonly tableId: number; readonly context: ChunkTableContext }
  | { readonly type: 'chunk'; readonly seq: number; readonly tableId: number; readonly after: ChunkKey | null; readonly upTo: ChunkKey | null; readonly limit: number }
  | { readonly type: 'recycle'; readonly buffers: ChunkBuffers }
  | { readonly type: 'close' };

export type FromChunkWorker =
  | { readonly type: 'chunk'; readonly seq: number; readonly readAtMs: number; readonly count: number; readonly lastKey: ChunkKey | null; readonly schemaChanged: boolean; readonly records: EncodedChunk }
  | { readonly type: 'failed'; readonly seq: number; readonly code: string | null; readonly message: string; readonly retriable: boolean }
  | { readonly type: 'closed' };

export interface ChunkWorkerData {
  readonly connection: SourceConnectionOptions;
}

/** Spare chunk buffers kept: the chunks one worker has in flight at most. */
const MAX_SPARES = 4;

const port = parentPort;
if (port) {
  const data = workerData as ChunkWorkerData;
  const tables = new Map<number, ChunkTableContext>();
  let connection: Promise<Connection> | null = null;
  let expectedBytes = 1 << 20;
  /** buffers of chunks the main thread has sent, given back (chunk-pool.ts, recycle) */
  const spares: ChunkBuffers[] = [];
  const connect = () => (connection ??= connectSource(withBuffers(data.connection)).then(async (c) => {
    await prepareSnapshotConnection(c);
    return c;
  }));

  // One message at a time: chunks are sent here one by one, each after the last one's answer.
  port.on('message', async (m: ToChunkWorker) => {
    if (m.type === 'table') {
      tables.set(m.tableId, m.context);
      return;
    }
    if (m.type === 'recycle') {
      if (spares.length < MAX_SPARES) spares.push(m.buffers);
      return;
    }
    if (m.type === 'close') {
      if (connection) await connection.then((c) => c.end()).catch(() => {});
      port.postMessage({ type: 'closed' } satisfies FromChunkWorker);
      port.close();
      return;
    }
    try {
      const context = tables.get(m.tableId);
      if (!context) throw new Error(`chunk ${m.seq} names table ${m.tableId}, which this worker was not given`);
      const encoder = new RowEncoder(context, m.limit, expectedBytes, spares.pop() ?? null);
      const end = await streamChunk(await connect(), context.table, m.after, m.limit, (row) => encoder.add(row), m.upTo);
      const records = encoder.writer.finish();
      expectedBytes = Math.max(expectedBytes, records.bytes.byteLength);
      const reply: FromChunkWorker = { type: 'chunk', seq: m.seq, readAtMs: encoder.now, count: end.count, lastKey: end.lastKey, schemaChanged: encoder.schemaChanged, records };
      port.postMessage(reply, [records.bytes, records.offsets.buffer as ArrayBuffer]);
    } catch (err) {
      const e = err as Error;
      const reply: FromChunkWorker = {
        type: 'failed', seq: m.seq, message: e.message ?? String(err),
        code: isSyncError(err) ? err.code : null, retriable: isSyncError(err) ? err.retriable : false,
      };
      port.postMessage(reply);
    }
  });
}

/**
 * Room that is ample for a row's INIT record as a rule: twice its fields' bytes, and 4 KiB
 * for the record's other fields (a record that needs more is written again the slower way).
 */
function valueBound(row: TextRow): number {
  let bytes = 4096;
  for (let i = 0; i < row.count; i++) {
    const s = row.starts[i]!;
    if (s >= 0) bytes += 2 * (row.ends[i]! - s);
  }
  return bytes;
}

/** The connection options as sent: a structured clone turns the TLS files' Buffers into Uint8Arrays. */
function withBuffers(o: SourceConnectionOptions): SourceConnectionOptions {
  if (!o.ssl) return o;
  const ssl = Object.fromEntries(Object.entries(o.ssl).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v) : v]));
  return { ...o, ssl };
}

/**
 * A chunk's rows as INIT records with id 0 (encoded-chunk.ts), as they arrive, written from
 * the fields' text (the output format's encodeInitText); a row it leaves takes encodeEvent
 * with its exact values.
 */
export class RowEncoder {
  readonly writer: EncodedChunkWriter;
  schemaChanged = false;
  private readonly context: ChunkTableContext;
  private readonly event: RowChangeEvent;
  private readonly build: EncodeContext;
  /** the one integer key column whose text is the Kafka key's digits, else -1 (integerKeyColumn) */
  private readonly integerKey: number;
  /** the partition of every row when it does not depend on the key, else -1 (TableRoute) */
  private readonly partition: number;
  private readonly keyColumns: readonly number[];
  private row: TextRow | null = null;
  private readonly valueAt = (i: number): ColumnValue => {
    const row = this.row!;
    const s = row.starts[i]!;
    const column = this.context.table.schema.columns[i]!;
    return s < 0 ? null : normalizeValue(column, rawValueAt(column, row.buf, s, row.ends[i]!));
  };
  private readonly writeValue = (out: Buffer, at: number): number =>
    outputFormat.encodeInitTextInto(out, at, this.event, this.row!, this.build, this.valueAt);
  readonly now = Date.now();

  constructor(context: ChunkTableContext, limit: number, expectedBytes: number, spare: ChunkBuffers | null) {
    this.context = context;
    this.writer = new EncodedChunkWriter(limit, expectedBytes, spare);
    const source = initSource(context.lowWatermark, context.serverId, Math.floor(this.now / 1000));
    const schema = context.table.schema;
    this.event = { kind: 'row', operation: 'INIT', table: schema, before: null, after: [], source };
    this.build = { id: 0n, sourceVersion: context.sourceVersion, readerTimestampMs: this.now };
    const key = rowKey(schema);
    this.keyColumns = key ? key.columns.map((name) => schema.columns.findIndex((c) => c.name === name)) : [];
    this.partition = context.route.partition;
    // The key is written from the column's text when the partition does not depend on its bytes.
    this.integerKey = this.partition >= 0 ? integerKeyColumn(schema) : -1;
  }

  add(row: TextRow): void {
    const { schema } = this.context.table;
    if (this.schemaChanged || row.count !== schema.columns.length) {
      this.schemaChanged = true;
      return;
    }
    this.row = row;
    const k = this.integerKey;
    // The common case: written into the chunk in place (its size bounded by the fields' bytes).
    if (k >= 0 && this.writer.addInPlace(row.buf, row.starts[k]!, row.ends[k]!, this.partition, valueBound(row), this.writeValue)) return;
    const value = outputFormat.encodeInitText(this.event, row, this.build, this.valueAt)
      ?? outputFormat.encodeEvent({ ...this.event, after: normalizeRow(schema, rawRowOf(schema, row)) }, this.build);
    if (k >= 0 && this.writer.addWithIntegerKey(row.buf, row.starts[k]!, row.ends[k]!, value, this.partition)) return;
    const key = this.messageKey(row);
    this.writer.add(key, value, partitionOf(this.context.route, key));
  }

  /** messageKey of the row: only its key columns' values are made. */
  private messageKey(row: TextRow): Buffer | null {
    if (this.keyColumns.length === 0) return null;
    const image: ColumnValue[] = new Array(row.count).fill(null);
    for (const i of this.keyColumns) image[i] = this.valueAt(i);
    return messageKey({ ...this.event, after: image });
  }
}
