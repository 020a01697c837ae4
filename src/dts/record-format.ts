/**
 * What the synchronizer asks of an output format: the bytes of a Kafka message value for
 * each change it produces, written three ways (a change event; an INIT row straight from
 * the text-protocol field bytes the full-data sync reads; and a record encoded before its
 * id is known, given its id later). The pipeline and the full-data sync's chunks
 * (snapshot/encoded-chunk.ts, chunk-worker.ts) use only this interface; output-format.ts
 * names the format in use. The one implementation is the DTS Avro record
 * (dts-avro-format.ts); another format would be one more module implementing this.
 */
import type { ChangeEvent, RowChangeEvent } from '../model/change-event.ts';
import type { ColumnValue } from '../model/column-value.ts';

/** What a record holds besides its event. */
export interface EncodeContext {
  /** the record counter; only grows per source, also across restarts */
  readonly id: bigint;
  /** the source server's version string, e.g. `10.11.19-MariaDB-log` */
  readonly sourceVersion: string;
  /** when the reader saw the event, UNIX milliseconds */
  readonly readerTimestampMs: number;
}

/** A row as the text protocol sends it: field i is buf[starts[i], ends[i]), NULL when starts[i] < 0. */
export interface TextImage {
  readonly buf: Buffer;
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/**
 * The exact value of non-NULL field i of a TextImage, as the binlog path would have it. It
 * may throw for a text it cannot read: the row is then left to the caller's general path,
 * which reads the row's values itself and reports that error.
 */
export type ValueAt = (i: number) => ColumnValue;

/**
 * Record ids written after encoding. A record encoded with id 0n ("unstamped") is kept
 * without its first `unstampedHead` bytes, which are all that depend on the id; stampId
 * writes the head for the real id in front of that body, in the room (at most `idRoom`
 * bytes) left there, and the record from where it starts is exactly what encoding with
 * that id gives.
 */
export interface RecordIdStamping {
  /** the most bytes stampId writes */
  readonly idRoom: number;
  /** how many bytes at the front of an unstamped record depend on the id */
  readonly unstampedHead: number;
  /** whether b[start, end) is a record encoded with id 0n */
  isUnstamped(b: Uint8Array, start: number, end: number): boolean;
  /** writes the head of a record with `id` to end at `end`; returns where it starts. Throws for an id the format cannot hold. */
  stampId(b: Uint8Array, end: number, id: bigint): number;
}

/**
 * An output format. Its functions do not use `this` (they may be called detached). A
 * returned Buffer may be a view of memory the format writes its next record into: use or
 * copy it before the next call.
 */
export interface RecordFormat extends RecordIdStamping {
  readonly name: string;

  /** The record of a change: a row (INSERT, UPDATE, DELETE, INIT) or a DDL. Throws SyncError ENCODE_FAILED for one it cannot write. */
  encodeEvent(event: ChangeEvent, ctx: EncodeContext): Buffer;

  /**
   * The INIT record of `event` (whose `after` is not read) with `image` as its after image:
   * the same bytes as encodeEvent of the event with the row's exact values as `after`.
   * Null when the row needs encodeEvent with its values, which then writes it or gives its
   * error.
   */
  encodeInitText(event: RowChangeEvent, image: TextImage, ctx: EncodeContext, valueAt: ValueAt): Buffer | null;

  /**
   * encodeInitText written into `out` from `at` to at most its end, so that the caller (a
   * chunk of the full-data sync) needs no copy of its own. Returns where the record ends,
   * or -1 when the row needs the general path or `out` has too little room (nothing of
   * use is then in `out`).
   */
  encodeInitTextInto(out: Buffer, at: number, event: RowChangeEvent, image: TextImage, ctx: EncodeContext, valueAt: ValueAt): number;
}
