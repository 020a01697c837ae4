/**
 * The DTS Avro format (docs/format.md): the RecordFormat whose records are the bare Avro
 * binary of the DTS Record schema, as the DTS consumers read them. It puts together the
 * writers: the generic one (record-writer.ts, a DtsRecord from record-builder.ts), the
 * fast row path (row-writer.ts), the text INIT writer (init-text-writer.ts) and the id
 * stamping (record-id.ts). Records are handed out as views of one slab writer that this
 * module owns (avro-writer.ts): a writer per call would cost an allocation per record.
 */
import { SyncError } from '../errors.ts';
import type { ChangeEvent, RowChangeEvent } from '../model/change-event.ts';
import { AvroWriter, InvalidValue } from './avro-writer.ts';
import type { DtsRecord } from './dts-record.ts';
import { writeInitText } from './init-text-writer.ts';
import { buildRecord } from './record-builder.ts';
import type { EncodeContext, RecordFormat, TextImage, ValueAt } from './record-format.ts';
import { dtsRecordIds } from './record-id.ts';
import { writeRecord } from './record-writer.ts';
import { writeRowDirect } from './row-writer.ts';

/** The writer of every record handed out as a view: encodeRecord, encodeEvent, encodeInitText. */
const slab = AvroWriter.slab();
/** The writer of encodeInitTextInto, pointed at the caller's buffer for one record at a time. */
const into = new AvroWriter();

/**
 * The bare Avro binary of one Record: a Kafka message value. The Buffer is a view of a
 * shared slab (as Node's own small Buffers are): never write into it.
 */
export function encodeRecord(record: DtsRecord): Buffer {
  const w = slab;
  w.rewind();
  try {
    writeRecord(w, record);
  } catch (e) {
    w.rewind();
    if (!(e instanceof InvalidValue)) throw e;
    const what = record && typeof record === 'object' ? ` id ${String(record.id)} of ${record.objectName}` : '';
    throw new SyncError('ENCODE_FAILED', `cannot encode the DTS record${what}: ${e.message}`, { cause: e });
  }
  return w.finish();
}

/**
 * buildRecord then encodeRecord: the same bytes. A row change takes the fast row path
 * (row-writer.ts), which writes the record from the event without building the DtsRecord
 * and its image items first. What that path leaves (a DDL, a value of an unexpected form,
 * a value the schema cannot hold, a value its column's mapper refuses) goes through
 * buildRecord and encodeRecord, which write it or throw their error. Any other error of
 * the fast path is thrown as it is: it is a fault of that path, not a record to retry.
 */
export function encodeEvent(event: ChangeEvent, ctx: EncodeContext): Buffer {
  if (event.kind === 'row') {
    const w = slab;
    w.rewind();
    let written: boolean;
    try {
      written = writeRowDirect(w, event, ctx);
    } catch (e) {
      w.rewind();
      if (!(e instanceof InvalidValue)) throw e;
      written = false;
    }
    if (written) return w.finish();
    w.rewind();
  }
  return encodeRecord(buildRecord(event, ctx));
}

/** RecordFormat.encodeInitText: a view of the slab, or null for the general path. */
export function encodeInitText(event: RowChangeEvent, image: TextImage, ctx: EncodeContext, valueAt: ValueAt): Buffer | null {
  if (event.operation !== 'INIT' || event.before !== null) return null;
  const w = slab;
  w.rewind();
  if (writeText(w, event, image, ctx, valueAt)) return w.finish();
  w.rewind();
  return null;
}

/** RecordFormat.encodeInitTextInto: the slab is left alone. */
export function encodeInitTextInto(out: Buffer, at: number, event: RowChangeEvent, image: TextImage, ctx: EncodeContext,
  valueAt: ValueAt): number {
  if (event.operation !== 'INIT' || event.before !== null) return -1;
  const w = into;
  // A record that needs more room than `out` has makes reserve() move it to a buffer of
  // its own, which shows as w.buf no longer being `out`.
  w.target(out, at);
  const end = writeText(w, event, image, ctx, valueAt) && w.buf === out ? w.pos : -1;
  // (After a throw `out` stays referenced until the next call: harmless.)
  w.release();
  return end;
}

/** writeInitText; false for the general path, also for a value the schema cannot hold (InvalidValue). */
function writeText(w: AvroWriter, event: RowChangeEvent, image: TextImage, ctx: EncodeContext, valueAt: ValueAt): boolean {
  try {
    return writeInitText(w, event, image, ctx, valueAt);
  } catch (e) {
    w.rewind();
    if (e instanceof InvalidValue) return false;
    throw e;
  }
}

export const dtsAvroFormat: RecordFormat = {
  name: 'dts-avro',
  encodeEvent,
  encodeInitText,
  encodeInitTextInto,
  idRoom: dtsRecordIds.idRoom,
  unstampedHead: dtsRecordIds.unstampedHead,
  isUnstamped: dtsRecordIds.isUnstamped,
  stampId: dtsRecordIds.stampId,
};
