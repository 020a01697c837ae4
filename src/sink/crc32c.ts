/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of a Kafka v2 record
 * batch. Every byte the sink produces goes through it, so it is taken from
 * @node-rs/crc32 (prebuilt native code using the CPU's CRC32 instruction, about 6 GB/s
 * here) where that package has a build for the platform. Node 20 has no CRC-32C of its own
 * (zlib.crc32 is CRC-32, and only from Node 22), and kafkajs' one goes a byte at a time
 * (about 370 MB/s). Elsewhere, and for short inputs where a native call costs more than
 * the bytes, the table-driven "slicing-by-16" below (sixteen 256-entry tables in one array,
 * sixteen bytes per step, read as 32-bit words; about 0.8-1.1 GB/s in V8) computes it.
 * test/unit/sink/crc32c.test.ts holds both to the same vectors and to each other.
 */
import { createRequire } from 'node:module';

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

/** @node-rs/crc32's crc32c, when it loads and gives the check value; else null. */
function loadNative(): NativeCrc32c | null {
  try {
    const m = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: unknown };
    const f = m.crc32c as NativeCrc32c | undefined;
    if (typeof f === 'function' && f(Buffer.from('123456789', 'latin1')) >>> 0 === 0xe3069283) return f;
  } catch {
    // no build for this platform: the JS one below
  }
  return null;
}

const native = loadNative();
/** Inputs shorter than this take the JS path even when the native one is there. */
const NATIVE_FROM = 256;

/** Whether crc32c runs native code here (else JS only). */
export const crc32cIsNative = native !== null;

/**
 * The CRC-32C of `buf[start, end)` as an unsigned 32-bit number. `crc` continues an earlier
 * result (the CRC of the bytes before `start`), so a checksum can be taken in pieces.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  if (native !== null && end - start >= NATIVE_FROM) {
    return native(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start), crc) >>> 0;
  }
  return crc32cJs(buf, start, end, crc);
}

const POLY = 0x82f63b78;

/** Table k (at k * 256) maps a byte to its CRC contribution k bytes further back. */
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let k = 1; k < 16; k++) {
  for (let n = 0; n < 256; n++) {
    const prev = T[(k - 1) * 256 + n]!;
    T[k * 256 + n] = (prev >>> 8) ^ T[prev & 0xff]!;
  }
}

/** Int32Array reads are little-endian here (all platforms Node runs on in practice; checked, not assumed). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** crc32c in JS only. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= 64) {
    // Bytes up to a 4-byte boundary, then 16 bytes a step read as four aligned 32-bit words
    // (a quarter of the loads; about 1.5 times as fast as reading bytes).
    for (; ((buf.byteOffset + i) & 3) !== 0; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
    const steps = (end - i) >>> 4;
    const words = new Int32Array(buf.buffer, buf.byteOffset + i, steps * 4);
    for (let j = 0; j < words.length; j += 4) {
      const a = c ^ words[j]!;
      const b = words[j + 1]!;
      const d = words[j + 2]!;
      const e = words[j + 3]!;
      c =
        T[3840 + (a & 0xff)]! ^
        T[3584 + ((a >>> 8) & 0xff)]! ^
        T[3328 + ((a >>> 16) & 0xff)]! ^
        T[3072 + (a >>> 24)]! ^
        T[2816 + (b & 0xff)]! ^
        T[2560 + ((b >>> 8) & 0xff)]! ^
        T[2304 + ((b >>> 16) & 0xff)]! ^
        T[2048 + (b >>> 24)]! ^
        T[1792 + (d & 0xff)]! ^
        T[1536 + ((d >>> 8) & 0xff)]! ^
        T[1280 + ((d >>> 16) & 0xff)]! ^
        T[1024 + (d >>> 24)]! ^
        T[768 + (e & 0xff)]! ^
        T[512 + ((e >>> 8) & 0xff)]! ^
        T[256 + ((e >>> 16) & 0xff)]! ^
        T[e >>> 24]!;
    }
    i += steps * 16;
  } else {
    const end16 = end - 15;
    for (; i < end16; i += 16) {
      const w = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
      c =
        T[3840 + (w & 0xff)]! ^
        T[3584 + ((w >>> 8) & 0xff)]! ^
        T[3328 + ((w >>> 16) & 0xff)]! ^
        T[3072 + (w >>> 24)]! ^
        T[2816 + buf[i + 4]!]! ^
        T[2560 + buf[i + 5]!]! ^
        T[2304 + buf[i + 6]!]! ^
        T[2048 + buf[i + 7]!]! ^
        T[1792 + buf[i + 8]!]! ^
        T[1536 + buf[i + 9]!]! ^
        T[1280 + buf[i + 10]!]! ^
        T[1024 + buf[i + 11]!]! ^
        T[768 + buf[i + 12]!]! ^
        T[512 + buf[i + 13]!]! ^
        T[256 + buf[i + 14]!]! ^
        T[buf[i + 15]!]!;
    }
  }
  for (; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
