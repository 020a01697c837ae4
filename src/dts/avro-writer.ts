/**
 * The growable buffer the DTS Avro writers write into, with Avro's primitive encodings:
 * zig-zag varints (int, long, counts), strings, bytes, doubles and raw bytes. Knows nothing
 * of the DTS schema. Pure.
 *
 * A writer writes one record at a time, from `start` to `pos` of `buf`. When a record
 * outgrows the rest of `buf`, reserve() moves it to a fresh buffer (twice what it needs, at
 * least a slab): offsets within the record (`offset`) stay valid across that move, absolute
 * positions do not. Two uses (dts-avro-format.ts owns one writer of each):
 *
 * - a slab writer: records are written one after another into a 256 KiB slab and handed
 *   out as views of it (finish()), so a record costs no allocation and no copy of its own;
 *   a full slab is left to the records that still point into it, and a fresh one is taken.
 * - a writer into a caller's buffer (target()): the record is written where the caller
 *   says; that it had to move shows as `buf` no longer being the caller's buffer.
 */

export const SLAB_SIZE = 256 * 1024;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Longs within this range take the number path; its zig-zag doubles stay exact. */
export const FAST_LONG = 2 ** 51;

// Below these lengths a copy by hand beats a call into native code (measured on the
// benchmark machine: a string write costs ~65 ns, a TypedArray set ~17 ns).
const SHORT_STRING = 32;
const SHORT_BYTES = 16;
/** Below this a field is copied by hand: Buffer.copy's own checks cost more than the bytes. */
const SHORT_FIELD = 64;

// Encoded strings that records repeat verbatim: server version, objectName, tag keys,
// pk_uk_info. Bounded, so that a stream over many tables cannot grow it without end;
// refilling it is cheap. A cache of what writeString writes, so shared by every writer.
const CACHE_LIMIT = 16_384;
const MAX_CACHED_LENGTH = 256;
const encodedStrings = new Map<string, Buffer>();

const EMPTY = Buffer.alloc(0);

/**
 * A value the schema cannot hold (a wrong type, an int out of range, an unknown enum
 * symbol). The record writers add where it is; encodeRecord turns it into ENCODE_FAILED.
 */
export class InvalidValue extends Error {}

export function invalid(what: string, value: unknown): InvalidValue {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (Buffer.isBuffer(value)) shown = `a Buffer of ${value.length} bytes`;
  else if (typeof value === 'object' && value !== null) shown = Array.isArray(value) ? 'an array' : 'an object';
  else shown = String(value);
  return new InvalidValue(`${what}: ${shown} is not valid`);
}

export class AvroWriter {
  /** the buffer the record is written into */
  buf: Buffer;
  /** where the record being written starts in buf */
  start = 0;
  /** where the next byte goes */
  pos = 0;

  constructor(buf: Buffer = EMPTY) {
    this.buf = buf;
  }

  /** A slab writer (see above). */
  static slab(): AvroWriter {
    return new AvroWriter(Buffer.allocUnsafe(SLAB_SIZE));
  }

  /** Where the write position is within the record: stays right when the record moves. */
  get offset(): number {
    return this.pos - this.start;
  }

  /** Back to `offset` within the record (0: the record is dropped). */
  rewind(offset = 0): void {
    this.pos = this.start + offset;
  }

  /** A copy of the bytes written since `offset` (an `offset` read before them). */
  copySince(offset: number): Buffer {
    return Buffer.from(this.buf.subarray(this.start + offset, this.pos));
  }

  /** The record just written, as a view of the slab; the next one starts after it. */
  finish(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    // Eight-byte alignment keeps the next record's doubles and copies on aligned addresses.
    this.start = (this.pos + 7) & ~7;
    if (this.buf.length > SLAB_SIZE || this.start >= this.buf.length) {
      this.buf = Buffer.allocUnsafe(SLAB_SIZE);
      this.start = 0;
    }
    this.pos = this.start;
    return out;
  }

  /** The next record goes into `out` from `at`. */
  target(out: Buffer, at: number): void {
    this.buf = out;
    this.start = at;
    this.pos = at;
  }

  /** Lets go of the buffer target() gave. */
  release(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.pos = 0;
  }

  /** Room for n more bytes at pos: moves the record to a larger buffer when there is not. */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) {
      const written = this.pos - this.start;
      const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, 2 * (written + n)));
      this.buf.copy(next, 0, this.start, this.pos);
      this.buf = next;
      this.start = 0;
      this.pos = written;
    }
  }

  /** A small non-negative varint known to fit one byte: union and enum indexes, zero counts. */
  writeByte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  writeInt(n: number, what: string): void {
    if (typeof n !== 'number' || n !== (n | 0)) throw invalid(what, n);
    this.reserve(5);
    this.writeVarint32(((n << 1) ^ (n >> 31)) >>> 0);
  }

  /** An unsigned 32-bit value as a varint (a zig-zag int already applied); room reserved by the caller. */
  writeVarint32(z: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (z > 0x7f) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    this.pos = pos;
  }

  /** The zig-zag value z (non-negative, < 2^53) as a varint: float steps until it fits int32. */
  writeZigZag(z: number): void {
    this.reserve(10);
    const buf = this.buf;
    let pos = this.pos;
    while (z > 0x7fffffff) {
      // Not z % 128: on a double that is a call to fmod.
      const high = Math.floor(z / 128);
      buf[pos++] = (z - high * 128) | 0x80;
      z = high;
    }
    while (z > 0x7f) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    this.pos = pos;
  }

  /** A non-negative count or length (always < 2^51 here). */
  writeCount(n: number): void {
    this.writeZigZag(n * 2);
  }

  writeLong(n: bigint, what: string): void {
    if (typeof n !== 'bigint') throw invalid(what, n);
    // Comparing numbers is far cheaper than comparing bigints, and Number() of a bigint
    // beyond the fast range lands beyond it too, so the bigint checks run only there.
    const v = Number(n);
    if (v > -FAST_LONG && v < FAST_LONG) {
      this.writeZigZag(v >= 0 ? v * 2 : -v * 2 - 1);
      return;
    }
    if (n < INT64_MIN || n > INT64_MAX) throw invalid(what, n);
    this.reserve(10);
    const buf = this.buf;
    let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
    while (z > 0x7fn) {
      buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    buf[this.pos++] = Number(z);
  }

  writeString(s: string, what: string): void {
    if (typeof s !== 'string') throw invalid(what, s);
    const n = s.length;
    // An ASCII string's length is its byte count, and below 64 it fits one varint byte.
    if (n < SHORT_STRING) {
      this.reserve(n + 1);
      const out = this.buf;
      const first = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        out[first + i] = c;
      }
      if (i === n) {
        out[this.pos] = n << 1;
        this.pos = first + n;
        return;
      }
    }
    const length = Buffer.byteLength(s, 'utf8');
    this.writeCount(length);
    this.reserve(length);
    this.pos += this.buf.write(s, this.pos, length, 'utf8');
  }

  /** writeString for a string that records repeat verbatim: its bytes are kept after the first time. */
  writeRepeatedString(s: string, what: string): void {
    const encoded = encodedStrings.get(s);
    if (encoded !== undefined) {
      this.writeRaw(encoded);
      return;
    }
    if (typeof s !== 'string') throw invalid(what, s);
    if (s.length > MAX_CACHED_LENGTH) {
      this.writeString(s, what);
      return;
    }
    const offset = this.offset;
    this.writeString(s, what);
    if (encodedStrings.size >= CACHE_LIMIT) encodedStrings.clear();
    encodedStrings.set(s, this.copySince(offset));
  }

  /** Bytes as they are, no length prefix. */
  writeRaw(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    if (n < SHORT_BYTES) {
      const out = this.buf;
      const at = this.pos;
      for (let i = 0; i < n; i++) out[at + i] = b[i];
    } else {
      this.buf.set(b, this.pos);
    }
    this.pos += n;
  }

  /** b[s, e) as it is, no length prefix. */
  writeRange(b: Buffer, s: number, e: number): void {
    const n = e - s;
    this.reserve(n);
    if (n < SHORT_FIELD) {
      const out = this.buf;
      const at = this.pos - s;
      for (let i = s; i < e; i++) out[at + i] = b[i]!;
    } else {
      b.copy(this.buf, this.pos, s, e);
    }
    this.pos += n;
  }

  writeBytes(b: Buffer, what: string): void {
    if (!Buffer.isBuffer(b)) throw invalid(what, b);
    this.writeCount(b.length);
    this.writeRaw(b);
  }

  writeDouble(v: number, what: string): void {
    if (typeof v !== 'number') throw invalid(what, v);
    this.reserve(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  writeEnum(symbols: ReadonlyMap<string, number>, symbol: string, what: string): void {
    const index = symbols.get(symbol);
    if (index === undefined) throw invalid(what, symbol);
    this.writeCount(index);
  }
}

/** What writeString writes for s: its UTF-8 length as a zig-zag varint, then the bytes. */
export function stringBytes(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const head: number[] = [];
  let z = bytes.length * 2;
  while (z > 0x7f) {
    head.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  head.push(z);
  return Buffer.concat([Buffer.from(head), bytes]);
}
