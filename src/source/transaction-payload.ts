/**
 * MySQL's TRANSACTION_PAYLOAD_EVENT (type 40, `binlog_transaction_compression=ON`): a whole
 * transaction but its GTID event (QUERY BEGIN, TABLE_MAPs, row events, XID) compressed into
 * one event. zongji 0.9.0 skips it (it only reports that it cannot read it), so its rows
 * would be lost; and PARTIAL_UPDATE_ROWS_EVENT (`binlog_row_value_options=PARTIAL_JSON`)
 * it cannot decode at all.
 *
 * `decodeTransactionPayloads` hooks one zongji instance's binlog command so that:
 * - a payload event is decompressed and its inner events are handed, one by one, to the
 *   command's own packet handler, exactly as if they had come over the wire uncompressed:
 *   the same parsing, filtering, table maps, exact row reader (zongji-exact-rows.ts), GTID
 *   and position bookkeeping. Each inner event's end position is set to the outer event's
 *   end: there is no restart point inside the payload, and after its XID the next
 *   transaction starts there.
 * - an event the synchronizer cannot decode (PARTIAL_UPDATE_ROWS, a payload compressed
 *   with anything but zstd, any event zongji flags with `unsupportedReason`) stops the
 *   stream at once: a non-retriable SyncError (SOURCE_EVENT_UNSUPPORTED) naming the
 *   position, the server variable and the fix goes to zongji's 'error' listeners, and no
 *   later packet of that connection is handed on, so no commit after it can move a
 *   checkpoint past the lost change. Retrying would only meet the same event again.
 *
 * Inner events carry no checksum (MySQL writes them with the checksum off; the outer event
 * has one), so when the connection uses checksums 4 filler bytes are appended to each, for
 * zongji's event classes, which find an event's end as packet end minus 4.
 *
 * The format: libbinlogevents' Transaction_payload_event (a header of fields, each a
 * length-encoded type, length and value, up to an end mark; then the payload) and
 * Payload_event_buffer_istream (the payload is a run of whole events, never a payload event).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decompress } from 'fzstd';
import { SyncError } from '../errors.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';

export const TRANSACTION_PAYLOAD_EVENT = 40;
export const PARTIAL_UPDATE_ROWS_EVENT = 39;
const HEADER_LENGTH = 19;

/** Header field types (Transaction_payload_event, "OTW" fields). */
const FIELD_END_MARK = 0;
const FIELD_PAYLOAD_SIZE = 1;
const FIELD_COMPRESSION_TYPE = 2;
const FIELD_UNCOMPRESSED_SIZE = 3;

/** Compression types (mysql::binlog::event::compression::type). */
export const COMPRESSION_ZSTD = 0;
export const COMPRESSION_NONE = 255;

/**
 * The largest uncompressed payload accepted before allocating: a corrupt size field must
 * not allocate gigabytes. MySQL caps a single event at 1 GiB (max_allowed_packet's limit);
 * a transaction may hold several, so the cap is 4 GiB, Node's Buffer limit anyway.
 */
const MAX_UNCOMPRESSED = 2 ** 32;

export interface TransactionPayload {
  /** COMPRESSION_ZSTD, COMPRESSION_NONE or a type this reader does not know */
  readonly compressionType: number;
  /** the payload as written (a view into the event) */
  readonly payload: Buffer;
  /** the decompressed size the server recorded, or null when it did not */
  readonly uncompressedSize: number | null;
}

/** Why a payload cannot be read: a kind the reader does not support, or bytes that are wrong. */
export class TransactionPayloadError extends Error {
  readonly unsupported: boolean;
  constructor(message: string, unsupported = false) {
    super(message);
    this.name = 'TransactionPayloadError';
    this.unsupported = unsupported;
  }
}

/** Reads a length-encoded integer (MySQL's net_field_length) at `at`. */
function readLength(buf: Buffer, at: number, end: number): { value: number; next: number } {
  if (at >= end) throw new TransactionPayloadError('the payload event header is truncated');
  const first = buf[at]!;
  const width = first < 251 ? 0 : first === 252 ? 2 : first === 253 ? 3 : first === 254 ? 8 : -1;
  if (width < 0) throw new TransactionPayloadError(`the payload event header has an invalid length-encoded integer (first byte ${first})`);
  if (at + 1 + width > end) throw new TransactionPayloadError('the payload event header is truncated');
  if (width === 0) return { value: first, next: at + 1 };
  if (width === 8) {
    const v = buf.readBigUInt64LE(at + 1);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TransactionPayloadError(`the payload event header has a field of ${v}, beyond any real size`);
    return { value: Number(v), next: at + 9 };
  }
  return { value: buf.readUIntLE(at + 1, width), next: at + 1 + width };
}

/** Parses a payload event's body (after the 19-byte common header, without checksum). */
export function parseTransactionPayload(body: Buffer): TransactionPayload {
  let at = 0;
  let payloadSize: number | null = null;
  let compressionType = COMPRESSION_NONE;
  let uncompressedSize: number | null = null;
  for (;;) {
    const type = readLength(body, at, body.length);
    at = type.next;
    if (type.value === FIELD_END_MARK) break;
    const length = readLength(body, at, body.length);
    at = length.next;
    const end = at + length.value;
    if (end > body.length) throw new TransactionPayloadError(`the payload event header field ${type.value} runs past the event`);
    // The value's own encoding is read within its declared length; unknown fields are
    // skipped by that length, as MySQL's reader does, so a newer server's extra fields pass.
    if (type.value === FIELD_PAYLOAD_SIZE) payloadSize = readLength(body, at, end).value;
    else if (type.value === FIELD_COMPRESSION_TYPE) compressionType = readLength(body, at, end).value;
    else if (type.value === FIELD_UNCOMPRESSED_SIZE) uncompressedSize = readLength(body, at, end).value;
    at = end;
  }
  const size = payloadSize ?? body.length - at;
  if (at + size > body.length) throw new TransactionPayloadError(`the payload event says its payload has ${size} bytes, but only ${body.length - at} follow the header`);
  return { compressionType, payload: body.subarray(at, at + size), uncompressedSize };
}

/** The payload's bytes decompressed: the transaction's events, back to back. */
export function inflateTransactionPayload(p: TransactionPayload): Buffer {
  if (p.compressionType === COMPRESSION_NONE) return p.payload;
  if (p.compressionType !== COMPRESSION_ZSTD) {
    throw new TransactionPayloadError(`the payload is compressed with algorithm ${p.compressionType}, which this reader does not know (it reads zstd and uncompressed payloads)`, true);
  }
  if (p.uncompressedSize !== null && p.uncompressedSize > MAX_UNCOMPRESSED) {
    throw new TransactionPayloadError(`the payload claims ${p.uncompressedSize} bytes uncompressed, more than the ${MAX_UNCOMPRESSED} this reader accepts`);
  }
  let out: Uint8Array;
  try {
    // No output buffer is passed: fzstd then sizes its own from each frame's content size and
    // returns exactly what it wrote, where with one passed it returns the whole buffer (a short
    // stream would go unnoticed) and starts every frame at its beginning.
    out = decompress(p.payload);
  } catch (err) {
    throw new TransactionPayloadError(`the zstd payload cannot be decompressed: ${(err as Error).message}`);
  }
  if (p.uncompressedSize !== null && out.length !== p.uncompressedSize) {
    throw new TransactionPayloadError(`the zstd payload decompressed to ${out.length} bytes, not the ${p.uncompressedSize} the event header says`);
  }
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** Splits decompressed payload bytes into whole events (each with its 19-byte header). */
export function splitPayloadEvents(data: Buffer): Buffer[] {
  const events: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < HEADER_LENGTH) throw new TransactionPayloadError(`the payload ends with ${data.length - at} bytes, less than an event header`);
    const type = data[at + 4]!;
    const length = data.readUInt32LE(at + 9);
    if (length < HEADER_LENGTH) throw new TransactionPayloadError(`an event in the payload has length ${length}, less than its header`);
    if (at + length > data.length) throw new TransactionPayloadError(`an event in the payload has length ${length}, past the payload's end`);
    // A payload inside a payload is corruption (MySQL refuses it too); following it could loop.
    if (type === TRANSACTION_PAYLOAD_EVENT) throw new TransactionPayloadError('the payload contains another payload event');
    events.push(data.subarray(at, at + length));
    at += length;
  }
  return events;
}

/** The parts of a zongji instance (0.9.0 internals) the hook uses. */
interface ZongjiInternals {
  BinlogClass?: { prototype: { binlogData?: PacketHandler } };
  useChecksum: boolean;
  options: { filename?: string };
  /** table maps of the selected tables, by table id (zongji keeps no entry for filtered ones) */
  tableMap?: Record<number, { parentSchema: string; tableName: string }>;
  _skipSchema?(database: string, table: string): boolean;
  emit(event: 'error', err: unknown): boolean;
}
interface WirePacket {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
  isError(): boolean;
}
type PacketHandler = (this: unknown, packet: WirePacket, connection: unknown) => unknown;
export type EventClassOf = (type: number) => { name: string; unsupportedReason?: string };

export interface PayloadDecoderOptions {
  /** zongji's event class table (lib/code_map.js getEventClass), to know what it flags as unsupported */
  readonly eventClassOf: EventClassOf;
  /**
   * What an event that cannot be decoded does: 'fail' (the stream) stops with
   * SOURCE_EVENT_UNSUPPORTED; 'skip' drops it silently, for readers that want only
   * transaction boundaries (binlog-seek.ts), whose answer is a position, not rows.
   */
  readonly unsupported: 'fail' | 'skip';
}

/**
 * Hooks the binlog command zongji has just built. Call it from the 'ready' listener: zongji
 * creates `BinlogClass` right before emitting 'ready' and starts the dump right after.
 */
export function decodeTransactionPayloads(zongji: unknown, opts: PayloadDecoderOptions): void {
  const z = zongji as ZongjiInternals;
  const proto = z.BinlogClass?.prototype;
  const original = proto?.binlogData;
  if (!proto || typeof original !== 'function') {
    throw new Error('@vlasky/zongji internals changed: the transaction payload decoder cannot be installed (check the pinned version)');
  }
  let failed = false;
  const handler: PacketHandler = function (this: unknown, packet, connection) {
    // Once the stream failed, nothing after the bad event may reach the listeners.
    if (failed) return proto.binlogData;
    if (packet.isEOF() || packet.isError()) return original.call(this, packet, connection);
    // After the OK marker byte: timestamp (4), type (1), server id (4), length (4), next position (4).
    const base = packet.offset + 1;
    const type = packet.buffer[base + 4]!;
    if (type === TRANSACTION_PAYLOAD_EVENT) {
      const length = packet.buffer.readUInt32LE(base + 9);
      const next = packet.buffer.readUInt32LE(base + 13);
      const body = packet.buffer.subarray(base + HEADER_LENGTH, Math.min(packet.end, base + length) - (z.useChecksum ? 4 : 0));
      let inner: Buffer[];
      try {
        inner = splitPayloadEvents(inflateTransactionPayload(parseTransactionPayload(body)));
      } catch (err) {
        if (opts.unsupported === 'skip') return proto.binlogData;
        failed = true;
        z.emit('error', payloadError(err, z.options.filename, next - length, next));
        return proto.binlogData;
      }
      for (const event of inner) {
        original.call(this, innerPacket(event, next, z.useChecksum), connection);
        if (failed) break;
      }
      return proto.binlogData;
    }
    const cls = opts.eventClassOf(type);
    if (cls.unsupportedReason) {
      if (opts.unsupported === 'skip') return proto.binlogData;
      // A partial update of a table the reader does not select loses nothing it would hand
      // on: dropped as zongji drops that table's row events (no table map kept for it).
      if (type === PARTIAL_UPDATE_ROWS_EVENT) {
        const map = z.tableMap?.[packet.buffer.readUIntLE(base + HEADER_LENGTH, 6)];
        if (!map || z._skipSchema?.(map.parentSchema, map.tableName)) return proto.binlogData;
      }
      failed = true;
      const length = packet.buffer.readUInt32LE(base + 9);
      const next = packet.buffer.readUInt32LE(base + 13);
      z.emit('error', unsupportedEventError(type, cls, z.options.filename, next - length, next));
      return proto.binlogData;
    }
    return original.call(this, packet, connection);
  };
  proto.binlogData = handler;
}

/**
 * An inner event as zongji's packet parser reads one off the wire: the OK marker, the
 * header with the outer event's end as its end position, the body, and (when the
 * connection uses checksums) 4 filler bytes where zongji expects the checksum.
 */
export function innerPacket(event: Buffer, outerEnd: number, checksum: boolean): WirePacket {
  const extra = checksum ? 4 : 0;
  const buffer = Buffer.alloc(1 + event.length + extra);
  event.copy(buffer, 1);
  buffer.writeUInt32LE(event.length + extra, 1 + 9);
  buffer.writeUInt32LE(outerEnd, 1 + 13);
  return { buffer, offset: 0, end: buffer.length, isEOF: () => false, isError: () => false };
}

function where(file: string | undefined, start: number, end: number): string {
  return file ? `${formatBinlogPosition({ file, position: start })} (the event ends at ${end})` : `position ${start} (the event ends at ${end})`;
}

const SKIP_HINT =
  'The events already written this way stay unreadable after the fix: then either take a fresh snapshot ' +
  '(delete the checkpoint file, mode initial), or start after them with --start-position at a later transaction, accepting that their changes are lost.';

/** The stop for a payload event that cannot be read. */
export function payloadError(err: unknown, file: string | undefined, start: number, end: number): SyncError {
  const reason = (err as Error)?.message ?? String(err);
  if (err instanceof TransactionPayloadError && err.unsupported) {
    return new SyncError('SOURCE_EVENT_UNSUPPORTED',
      `the source wrote a compressed transaction (TRANSACTION_PAYLOAD_EVENT, binlog_transaction_compression=ON) at binlog position ${where(file, start, end)} ` +
        `that the synchronizer cannot read: ${reason}. Stopping so that no change is lost. ` +
        `Fix: SET GLOBAL binlog_transaction_compression=OFF on the source (SET PERSIST to keep it across restarts). ${SKIP_HINT}`,
      { cause: err });
  }
  return new SyncError('SOURCE_QUERY_FAILED',
    `the compressed transaction (TRANSACTION_PAYLOAD_EVENT) at binlog position ${where(file, start, end)} is corrupt: ${reason}. ` +
      'Stopping so that no change is lost; check the binlog with mysqlbinlog --verbose at that position. ' +
      `SET GLOBAL binlog_transaction_compression=OFF avoids such events from now on. ${SKIP_HINT}`,
    { cause: err, retriable: false });
}

/** The stop for an event type zongji flags as undecodable. */
export function unsupportedEventError(type: number, cls: { name: string; unsupportedReason?: string }, file: string | undefined, start: number, end: number): SyncError {
  const at = where(file, start, end);
  if (type === PARTIAL_UPDATE_ROWS_EVENT) {
    return new SyncError('SOURCE_EVENT_UNSUPPORTED',
      `the source wrote a PARTIAL_UPDATE_ROWS_EVENT at binlog position ${at}: an UPDATE logged as a partial JSON diff ` +
        '(binlog_row_value_options=PARTIAL_JSON), which carries no full after image and cannot be turned into a DTS record. ' +
        'Stopping so that no change is lost. ' +
        `Fix: SET GLOBAL binlog_row_value_options='' on the source (SET PERSIST to keep it across restarts; sessions opened before keep theirs until they reconnect). ${SKIP_HINT}`);
  }
  return new SyncError('SOURCE_EVENT_UNSUPPORTED',
    `the source wrote a binlog event the synchronizer cannot decode (${cls.name}, type ${type}) at binlog position ${at}: ${cls.unsupportedReason ?? ''} ` +
      `Stopping so that no change is lost. ${SKIP_HINT}`);
}

/** zongji's event class table (lib/code_map.js), reached by file URL as zongji-exact-rows.ts reaches its internals. */
export async function loadZongjiEventClasses(): Promise<EventClassOf> {
  const index = createRequire(import.meta.url).resolve('@vlasky/zongji');
  const codeMap = await import(pathToFileURL(path.join(path.dirname(index), 'lib', 'code_map.js')).href);
  if (typeof codeMap.getEventClass !== 'function') {
    throw new Error('@vlasky/zongji internals changed: lib/code_map.js has no getEventClass (check the pinned version)');
  }
  return codeMap.getEventClass as EventClassOf;
}
