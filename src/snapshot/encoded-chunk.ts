/**
 * A chunk's INIT records as a chunk worker (chunk-worker.ts) hands them to the main thread:
 * every key and value in one ArrayBuffer, moved between the threads rather than copied,
 * and five integers per record saying where they are. No I/O here.
 *
 * The record id is the one field a worker cannot write: it is a counter that must grow in
 * the order records reach Kafka (docs/format.md), and only the main thread knows that order. So a
 * worker encodes each value with id 0 and stores it without the bytes that depend on the id
 * (the output format's unstampedHead: RecordIdStamping in dts/record-format.ts), leaving
 * ID_ROOM bytes in front; the main thread writes the head for the real id into that room
 * as it sends the chunk (chunkMessages), and the value is the view from there: the same
 * bytes encodeEvent would have written with that id.
 */
import type { SinkMessage } from '../sink/sink.ts';
import { outputFormat } from '../dts/output-format.ts';
import type { RecordIdStamping } from '../dts/record-format.ts';
import { INTEGER_KEY_FRAME, isCanonicalInteger, writeIntegerKeyText } from '../route/message-key.ts';

export { isCanonicalInteger };

const ids: RecordIdStamping = outputFormat;
/** The room left in front of a value for the head its id makes. */
export const ID_ROOM = ids.idRoom;
/** The bytes of an unstamped value that the stamped head replaces. */
const HEAD = ids.unstampedHead;

/** Per record: key start, key end (both -1 for no key), body start, value end, partition. */
const FIELDS = 5;

/** The memory of a chunk, handed back and forth between the threads. */
export interface ChunkBuffers {
  readonly bytes: ArrayBuffer;
  /** FIELDS integers per record; longer than the records need when reused */
  readonly offsets: Int32Array;
}

export interface EncodedChunk extends ChunkBuffers {
  readonly count: number;
}

export class EncodedChunkWriter {
  private buf: Buffer;
  private pos = 0;
  private offsets: Int32Array;
  private count = 0;

  /** `spare`: the buffers of a chunk already sent, to write into again (no new memory to map and clear). */
  constructor(expectedRecords = 1024, expectedBytes = 1 << 20, spare: ChunkBuffers | null = null) {
    this.buf = Buffer.from(spare && spare.bytes.byteLength >= expectedBytes ? spare.bytes : new ArrayBuffer(expectedBytes));
    this.offsets = spare && spare.offsets.length >= expectedRecords * FIELDS ? spare.offsets : new Int32Array(expectedRecords * FIELDS);
  }

  /** A record whose `value` was encoded with id 0. */
  add(key: Buffer | null, value: Buffer, partition: number): void {
    checkValue(value);
    const keyLength = key === null ? 0 : key.length;
    this.room(keyLength + ID_ROOM + value.length - HEAD);
    const at = this.nextRecord();
    const o = this.offsets;
    if (key === null) {
      o[at] = -1;
      o[at + 1] = -1;
    } else {
      o[at] = this.pos;
      key.copy(this.buf, this.pos);
      this.pos += keyLength;
      o[at + 1] = this.pos;
    }
    this.addValue(at, value, partition);
  }

  /**
   * A record whose key is the integer whose decimal text is text[s, e), as messageKey
   * writes one (`["42"]`), written without a key Buffer in between. False, and nothing
   * added, when the text is not as String(bigint) prints it (leading zeros, say).
   */
  addWithIntegerKey(text: Buffer, s: number, e: number, value: Buffer, partition: number): boolean {
    if (!isCanonicalInteger(text, s, e)) return false;
    checkValue(value);
    this.room(e - s + INTEGER_KEY_FRAME + ID_ROOM + value.length - HEAD);
    const at = this.nextRecord();
    this.offsets[at] = this.pos;
    this.pos = writeIntegerKeyText(this.buf, this.pos, text, s, e);
    this.offsets[at + 1] = this.pos;
    this.addValue(at, value, partition);
    return true;
  }

  /**
   * A record written in place, without a value Buffer in between: the key as
   * addWithIntegerKey writes it, and the value `write(out, at)` writes into this chunk's
   * buffer from `at` (encoded with id 0, within `out`; at least `minRoom` bytes are free),
   * returning where it ends, or -1 to add nothing. False when nothing was added: a key text
   * that is not canonical, or -1 from `write`.
   */
  addInPlace(text: Buffer, s: number, e: number, partition: number, minRoom: number, write: (out: Buffer, at: number) => number): boolean {
    if (!isCanonicalInteger(text, s, e)) return false;
    const keyLength = e - s + INTEGER_KEY_FRAME;
    this.room(keyLength + ID_ROOM + minRoom);
    const keyAt = this.pos;
    // The value's unstamped head lands in the last bytes of the id room (see ID_ROOM).
    const valueAt = keyAt + keyLength + ID_ROOM - HEAD;
    const b = this.buf;
    const end = write(b, valueAt);
    if (end < 0) return false;
    checkValue(b, valueAt, end);
    const at = this.nextRecord();
    const o = this.offsets;
    o[at] = keyAt;
    o[at + 1] = writeIntegerKeyText(b, keyAt, text, s, e);
    o[at + 2] = valueAt + HEAD;
    o[at + 3] = end;
    o[at + 4] = partition;
    this.count++;
    this.pos = end;
    return true;
  }

  /** Room in the offsets for one more record; where its fields go. */
  private nextRecord(): number {
    if (this.count * FIELDS === this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    return this.count * FIELDS;
  }

  private addValue(at: number, value: Buffer, partition: number): void {
    const o = this.offsets;
    this.pos += ID_ROOM;
    o[at + 2] = this.pos;
    this.pos += value.copy(this.buf, this.pos, HEAD);
    o[at + 3] = this.pos;
    o[at + 4] = partition;
    this.count++;
  }

  /** The chunk; the writer is spent. */
  finish(): EncodedChunk {
    return { count: this.count, bytes: this.buf.buffer as ArrayBuffer, offsets: this.offsets };
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.from(new ArrayBuffer(Math.max(this.buf.length * 2, this.pos + n)));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** The value b[start, end) was encoded with id 0, as encoded for a chunk. */
function checkValue(b: Buffer, start = 0, end = b.length): void {
  if (!ids.isUnstamped(b, start, end)) throw new Error('an encoded chunk takes values encoded with id 0');
}

/** What the main thread adds to a chunk's records as it sends them. */
export interface ChunkSending {
  readonly topic: string;
  readonly timestamp: string;
  readonly nextId: () => bigint;
}

/** The chunk's records as sink messages, each given the next id. Writes into chunk.bytes. */
export function chunkMessages(chunk: EncodedChunk, s: ChunkSending): SinkMessage[] {
  const bytes = Buffer.from(chunk.bytes);
  const o = chunk.offsets;
  const out: SinkMessage[] = new Array(chunk.count);
  for (let i = 0; i < chunk.count; i++) {
    const at = i * FIELDS;
    const body = o[at + 2]!;
    const start = ids.stampId(bytes, body, s.nextId());
    const keyStart = o[at]!;
    out[i] = {
      topic: s.topic,
      partition: o[at + 4]!,
      key: keyStart < 0 ? null : bytes.subarray(keyStart, o[at + 1]!),
      value: bytes.subarray(start, o[at + 3]!),
      timestamp: s.timestamp,
    };
  }
  return out;
}

/** Writes the head of a value with `id` to end at `end` (the output format's stampId); returns where it starts. */
export function writeVersionAndId(bytes: Uint8Array, end: number, id: bigint): number {
  return ids.stampId(bytes, end, id);
}
