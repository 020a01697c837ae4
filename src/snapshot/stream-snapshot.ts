/**
 * The full-data sync of a table added while the binlog stream runs (a config reload, or a
 * restart with a new table): DBLog's watermark method, with binlog positions as the
 * watermarks, so the stream of the other tables never stops and the source is never
 * written to.
 *
 * For each chunk:
 * 1. L = a consistent binlog position (every commit at or before it is visible to reads
 *    that start afterwards; snapshot-source.ts);
 * 2. the chunk is read (keyset, as the initial sync) and encoded as INIT records;
 * 3. H = a consistent binlog position again (everything the read saw is at or before it);
 * 4. once the stream has handed on every event up to H, at a transaction boundary, the
 *    chunk's rows are emitted, except those whose key a streamed event of the table at a
 *    position after L touched (before or after image): those events carry a state at least
 *    as new as the chunk's, and were emitted before, so the row's last record stays the
 *    newest. A row the chunk emits was not changed between L and the emission point, so it
 *    is the row's current state there, and later changes follow it in the stream.
 *
 * The table's events are recorded (key, position) from the moment the table is added until
 * its copy ends, and pruned up to each chunk's L, so that an event handed on before a
 * chunk's L was known is still matched. Memory: one chunk of records, plus the keys of the
 * table's changes since the current chunk's L.
 */
import type { Connection } from 'mysql2/promise';
import type { CheckpointPosition, SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BinlogPosition, compareBinlogPositions, formatBinlogPosition } from '../model/binlog-position.ts';
import { type ChunkTable, textRowFields } from './chunk-query.ts';
import { type ChunkEnd, consistentBinlogPosition, streamChunk } from './snapshot-source.ts';

/**
 * The reconciliation, without I/O: which keys the table's streamed events touched, and
 * which rows of a chunk may be emitted once the stream passed its high watermark.
 */
export class ChunkReconciler {
  private touched: { key: string; position: BinlogPosition }[] = [];

  /** A streamed event of the table touched these keys at `position`. */
  observe(keys: readonly string[], position: BinlogPosition): void {
    for (const key of keys) this.touched.push({ key, position });
  }

  /** Forgets events at or before `low`: no chunk from now on can miss them. */
  prune(low: BinlogPosition): void {
    this.touched = this.touched.filter((t) => compareBinlogPositions(t.position, low) > 0);
  }

  /** The chunk's records that no event after its low watermark touched. */
  survivors<T>(low: BinlogPosition, records: readonly { readonly key: string; readonly record: T }[]): T[] {
    const changed = new Set<string>();
    for (const t of this.touched) if (compareBinlogPositions(t.position, low) > 0) changed.add(t.key);
    return records.filter((r) => !changed.has(r.key)).map((r) => r.record);
  }

  get size(): number {
    return this.touched.length;
  }
}

export interface StreamSnapshotOptions<T> {
  readonly connection: Connection;
  readonly table: ChunkTable;
  readonly state: SnapshotTableState;
  readonly chunkRows: number;
  readonly logger: Logger;
  /**
   * encodes one row (fields as the server's bytes) of the chunk read after `low` into a
   * record and its message key; null leaves the row out (kafka.oversizedRecord: skip)
   */
  readonly encode: (table: ChunkTable, fields: (Buffer | null)[], low: CheckpointPosition) => { key: string; record: T } | null;
  /**
   * Hands a chunk to the stream; resolves once the stream emitted the survivors (the
   * caller then knows the chunk's progress is in the records' batch).
   */
  readonly handOver: (chunk: { low: BinlogPosition; high: BinlogPosition; records: { key: string; record: T }[]; end: ChunkEnd }) => Promise<void>;
  readonly signal: AbortSignal;
}

/** Reads the table chunk by chunk, handing each chunk to the stream; resolves when the table is done or `signal` aborts. */
export async function runStreamSnapshot<T>(o: StreamSnapshotOptions<T>, reconciler: ChunkReconciler): Promise<void> {
  const name = `${o.table.schema.database}.${o.table.schema.table}`;
  let after = o.state.lastKey;
  for (;;) {
    if (o.signal.aborted) return;
    const low = await consistentBinlogPosition(o.connection);
    reconciler.prune(low);
    const records: { key: string; record: T }[] = [];
    const end = await streamChunk(o.connection, o.table, after, o.chunkRows, (row) => {
      const fields = textRowFields(row);
      if (fields.length !== o.table.schema.columns.length) {
        throw new SyncError('SOURCE_QUERY_FAILED', `${name} changed its columns during its full-data sync; it is copied again after a restart`);
      }
      const record = o.encode(o.table, fields, low);
      if (record !== null) records.push(record);
    });
    const high = await consistentBinlogPosition(o.connection);
    o.logger.debug({ table: name, rows: end.count, low: formatBinlogPosition(low), high: formatBinlogPosition(high) }, 'chunk read');
    await o.handOver({ low, high, records, end });
    if (end.count < o.chunkRows) return;
    after = end.lastKey;
  }
}
