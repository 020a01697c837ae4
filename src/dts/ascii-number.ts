/**
 * Numbers read from ASCII text without making values on the way: the decimal scan of the
 * DTS Decimal item (its precision and scale), over a string (binlog values) and over bytes
 * (the full-data sync's text fields), and fixed-width digit runs. Pure.
 */

/** Set by scanDecimal: the precision and scale of the last text it accepted. */
export let scannedPrecision = 0;
export let scannedScale = 0;

/**
 * value-mapper.ts' decimalPrecisionScale without an object per value, for the encoder: true
 * when the text is a plain MySQL decimal, its precision and scale then in
 * scannedPrecision and scannedScale.
 */
export function scanDecimal(text: string): boolean {
  const length = text.length;
  let i = length > 0 && text.charCodeAt(0) === 45 ? 1 : 0;
  const integerStart = i;
  let significant = 0;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) break;
    if (c < 48 || c > 57) return false;
    if (significant > 0 || c !== 48) significant++;
  }
  if (i === integerStart) return false;
  let scale = 0;
  if (i < length) {
    const fractionStart = ++i;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    scale = length - fractionStart;
    if (scale === 0) return false;
  }
  scannedPrecision = Math.max(1, significant + scale);
  scannedScale = scale;
  return true;
}

/**
 * scanDecimal over the ASCII bytes b[s, e): the same scan, for text-protocol fields, which
 * would otherwise need a string per value. Sets scannedPrecision and scannedScale alike.
 */
export function scanDecimalBytes(b: Uint8Array, s: number, e: number): boolean {
  let i = s < e && b[s] === 45 ? s + 1 : s;
  const integerStart = i;
  let significant = 0;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === 46) break;
    if (c < 48 || c > 57) return false;
    if (significant > 0 || c !== 48) significant++;
  }
  if (i === integerStart) return false;
  let scale = 0;
  if (i < e) {
    const fractionStart = ++i;
    for (; i < e; i++) {
      const c = b[i]!;
      if (c < 48 || c > 57) return false;
    }
    scale = e - fractionStart;
    if (scale === 0) return false;
  }
  scannedPrecision = Math.max(1, significant + scale);
  scannedScale = scale;
  return true;
}

/** The decimal digits b[at, at + count) as a number; -1 when one of them is not a digit. */
export function digitsAt(b: Uint8Array, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
