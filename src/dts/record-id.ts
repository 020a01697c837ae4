/**
 * The record id written after encoding, for records encoded where their id is not known
 * yet (the full-data sync's chunk workers: snapshot/encoded-chunk.ts). A DTS record starts
 * with its version (int 0, one byte) and its id (a long): a record encoded with id 0 starts
 * with the two bytes 00 00, and the same record with id n is the zig-zag varint of n after
 * the version byte, then the same bytes as before. So the body after those two bytes is
 * kept, and the version and the real id are written in front of it. Pure.
 */
import type { RecordIdStamping } from './record-format.ts';

/** The version byte and the longest varint of a long. */
export const ID_ROOM = 11;
/** The version byte and the one byte of id 0. */
const UNSTAMPED_HEAD = 2;

const TWO_POW_51 = 2 ** 51;
const varint = new Uint8Array(10);

/** b[start, end) starts with version 0 and id 0: a record encoded with id 0. */
export function isUnstamped(b: Uint8Array, start: number, end: number): boolean {
  return end - start >= UNSTAMPED_HEAD && b[start] === 0 && b[start + 1] === 0;
}

/** Writes the version byte and the id's zig-zag varint to end at `end`; returns where they start. */
export function stampId(bytes: Uint8Array, end: number, id: bigint): number {
  let n = 0;
  const asNumber = Number(id);
  if (asNumber >= 0 && asNumber < TWO_POW_51) {
    let z = asNumber * 2;
    while (z >= 0x80) {
      varint[n++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    varint[n++] = z;
  } else {
    let z = id >= 0n ? id << 1n : (-id << 1n) - 1n;
    if (z >= 1n << 64n) throw new RangeError(`record id ${id} does not fit a long`);
    while (z >= 0x80n) {
      varint[n++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    varint[n++] = Number(z);
  }
  const start = end - n - 1;
  bytes[start] = 0; // version
  for (let i = 0; i < n; i++) bytes[start + 1 + i] = varint[i]!;
  return start;
}

export const dtsRecordIds: RecordIdStamping = { idRoom: ID_ROOM, unstampedHead: UNSTAMPED_HEAD, isUnstamped, stampId };
