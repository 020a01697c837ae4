/**
 * MySQL's binary DECIMAL (NEWDECIMAL) read into its exact text: used for DECIMAL columns
 * of binlog rows (zongji-exact-rows.ts) and for DECIMAL values inside binary JSON
 * (mysql-json.ts), which store the same format.
 */

export interface DecimalLayout {
  readonly scale: number;
  /** digits of the integer part (precision - scale) */
  readonly intDigits: number;
  /** bytes of the leading partial group of integer digits, and of the trailing partial group of fraction digits */
  readonly intLead: number;
  readonly fracTail: number;
  /** full 9-digit groups (4 bytes each) */
  readonly intGroups: number;
  readonly fracGroups: number;
  /** digits of the trailing partial fraction group */
  readonly fracTailDigits: number;
  readonly size: number;
}

const DECIMAL_GROUP_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

export function decimalLayout(precision: number, scale: number): DecimalLayout {
  const integral = precision - scale;
  const intGroups = Math.floor(integral / 9);
  const fracGroups = Math.floor(scale / 9);
  const intLead = DECIMAL_GROUP_BYTES[integral - intGroups * 9]!;
  const fracTailDigits = scale - fracGroups * 9;
  const fracTail = DECIMAL_GROUP_BYTES[fracTailDigits]!;
  return { scale, intDigits: integral, intLead, fracTail, intGroups, fracGroups, fracTailDigits, size: intLead + intGroups * 4 + fracGroups * 4 + fracTail };
}

const ZEROS = '000000000000000';

/** `v` (0 <= v < 10^digits, digits <= 15) as exactly `digits` digits. */
function padded(v: number, digits: number): string {
  const s = String(v);
  return s.length >= digits ? s : ZEROS.slice(0, digits - s.length) + s;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * A DECIMAL (NEWDECIMAL) as its exact text, as zongji's parseNewDecimal writes it: '-' for
 * a negative value, the integer digits without leading zeros ('0' when none), '.' and
 * exactly `scale` fraction digits. Storage: big-endian groups of 9 digits in 4 bytes, the
 * leading integer and trailing fraction groups shorter; the sign in the top bit of the
 * first byte (set for a positive value); a negative value has every bit inverted. A part
 * of up to 15 digits is gathered as one (exact) number and printed once.
 */
export function readDecimal(buf: Buffer, o: number, d: DecimalLayout): string {
  const negative = (buf[o]! & 0x80) === 0;
  const mask = negative ? -1 : 0;
  // The first byte with its sign bit flipped, as the value's own top byte.
  const first = buf[o]! ^ 0x80;
  let pos = o;
  let int: string;
  if (d.intDigits <= 15) {
    let v = 0;
    if (d.intLead > 0) {
      v = signedBE(buf, pos, d.intLead, first) ^ mask;
      pos += d.intLead;
    }
    for (let g = 0; g < d.intGroups; g++) {
      v = v * 1e9 + ((pos === o ? signedBE(buf, pos, 4, first) : buf.readInt32BE(pos)) ^ mask);
      pos += 4;
    }
    int = String(v);
  } else {
    int = '';
    if (d.intLead > 0) {
      const v = signedBE(buf, pos, d.intLead, first) ^ mask;
      if (v !== 0) int = String(v);
      pos += d.intLead;
    }
    for (let g = 0; g < d.intGroups; g++) {
      const v = (pos === o ? signedBE(buf, pos, 4, first) : buf.readInt32BE(pos)) ^ mask;
      int = int === '' ? (v === 0 ? '' : String(v)) : int + padded(v, 9);
      pos += 4;
    }
    if (int === '') int = '0';
  }
  const whole = negative ? `-${int}` : int;
  if (d.scale === 0) return whole;
  if (d.scale <= 15) {
    let v = 0;
    for (let g = 0; g < d.fracGroups; g++) {
      v = v * 1e9 + ((pos === o ? signedBE(buf, pos, 4, first) : buf.readInt32BE(pos)) ^ mask);
      pos += 4;
    }
    if (d.fracTail > 0) v = v * POWERS_OF_TEN[d.fracTailDigits]! + (signedBE(buf, pos, d.fracTail, pos === o ? first : buf[pos]!) ^ mask);
    return `${whole}.${padded(v, d.scale)}`;
  }
  let fraction = '';
  for (let g = 0; g < d.fracGroups; g++) {
    const v = (pos === o ? signedBE(buf, pos, 4, first) : buf.readInt32BE(pos)) ^ mask;
    fraction += padded(v, 9);
    pos += 4;
  }
  if (d.fracTail > 0) fraction += padded(signedBE(buf, pos, d.fracTail, pos === o ? first : buf[pos]!) ^ mask, d.fracTailDigits);
  return `${whole}.${fraction}`;
}

/** DECIMAL(precision, scale) stored at `offset`, as readDecimal reads it from a row (exported for tests). */
export function decodeDecimal(buf: Buffer, offset: number, precision: number, scale: number): string {
  return readDecimal(buf, offset, decimalLayout(precision, scale));
}

/** A signed big-endian integer of 1..4 bytes at pos, with `top` as its first byte. */
function signedBE(buf: Buffer, pos: number, bytes: number, top: number): number {
  switch (bytes) {
    case 1: return (top << 24) >> 24;
    case 2: return (((top << 24) >> 16) | buf[pos + 1]!);
    case 3: return (((top << 24) >> 8) | (buf[pos + 1]! << 8) | buf[pos + 2]!);
    default: return ((top << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
  }
}
