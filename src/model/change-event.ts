import type { BinlogPosition } from './binlog-position.ts';
import type { ColumnValue } from './column-value.ts';
import type { TableSchema } from './table-schema.ts';

/** Where a change sits in the source's binlog, and when it was committed. */
export interface SourceInfo {
  /** end position of the event that carried the change */
  readonly position: BinlogPosition;
  /** start of the change's transaction: a reader restarting here does not lose the change */
  readonly transactionStart: BinlogPosition;
  /** commit time of the transaction, UNIX seconds */
  readonly commitTimestamp: number;
  readonly serverId: number;
  /** the session thread that wrote the change, where the binlog says it (0 otherwise) */
  readonly threadId: number;
  /** MariaDB `domain-server-seq` or MySQL `uuid:n`, where the server has one */
  readonly gtid: string | null;
}

export type RowOperation = 'INSERT' | 'UPDATE' | 'DELETE' | 'INIT';

/** One row change: the only thing the source side hands to the encoding side. */
export interface RowChangeEvent {
  readonly kind: 'row';
  readonly operation: RowOperation;
  /** the table's schema in force at the change's position */
  readonly table: TableSchema;
  /** index-aligned with table.columns; null for INSERT and INIT */
  readonly before: readonly ColumnValue[] | null;
  /** index-aligned with table.columns; null for DELETE */
  readonly after: readonly ColumnValue[] | null;
  readonly source: SourceInfo;
}

/** A schema change (or the initial schema sync's CREATE TABLE). */
export interface DdlEvent {
  readonly kind: 'ddl';
  /** the database the statement ran in (objectName of a DDL record) */
  readonly database: string;
  readonly sql: string;
  readonly source: SourceInfo;
}

export type ChangeEvent = RowChangeEvent | DdlEvent;

/**
 * The SourceInfo of the records a full-data sync copies (INIT rows and their table's schema
 * record), the initial sync's and the streamed copy's alike: the binlog position and GTID of
 * the watermark the rows were read at (every commit before it is in them), the source's
 * server_id, and when the rows were read (UNIX seconds).
 */
export function initSource(watermark: BinlogPosition & { readonly gtid: string | null }, serverId: number, readAtSeconds: number): SourceInfo {
  const position: BinlogPosition = { file: watermark.file, position: watermark.position };
  return { position, transactionStart: position, commitTimestamp: readAtSeconds, serverId, threadId: 0, gtid: watermark.gtid };
}
