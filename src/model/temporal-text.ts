/**
 * The one parser of temporal text as MySQL and MariaDB print it: `YYYY-MM-DD hh:mm:ss[.ffffff]`
 * (DATETIME, TIMESTAMP), `YYYY-MM-DD` (DATE), `[-]h…h:mm:ss[.ffffff]` (TIME, up to 838
 * hours), `YYYY` (YEAR), into the exact ColumnValue forms (column-value.ts): components
 * as written (zero dates stay zeros), a TIMESTAMP printed in UTC as epoch seconds and
 * microseconds. Read from bytes without a string, a regex or a Date; `parseTemporalText`
 * reads a JS string the same way. Pure.
 */
import type { TemporalValue, TimestampValue } from './column-value.ts';

export type TemporalType = 'datetime' | 'timestamp' | 'date' | 'time' | 'year';

/**
 * The value of the text b[s, e) for a column of `type`, or null when the text has another
 * shape. A fraction has 1 to 6 digits.
 */
export function parseTemporalBytes(type: TemporalType, b: Uint8Array, s: number, e: number): TemporalValue | TimestampValue | null {
  switch (type) {
    case 'datetime':
      return dateTime(b, s, e);
    case 'timestamp': {
      const v = dateTime(b, s, e);
      return v === null ? null : timestampOf(v);
    }
    case 'date': {
      if (e - s !== 10 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d) return null;
      const y = digits(b, s, 4), mo = digits(b, s + 5, 2), d = digits(b, s + 8, 2);
      return (y | mo | d) < 0 ? null : temporal(false, y, mo, d, null, null, null, null);
    }
    case 'year': {
      const y = e - s === 4 ? digits(b, s, 4) : -1;
      return y < 0 ? null : temporal(false, y, null, null, null, null, null, null);
    }
    case 'time':
      return time(b, s, e);
  }
}

/** parseTemporalBytes of a JS string (its characters as latin1 bytes: any other character fails the shape). */
export function parseTemporalText(type: TemporalType, text: string): TemporalValue | TimestampValue | null {
  return parseTemporalBytes(type, Buffer.from(text, 'latin1'), 0, text.length);
}

/**
 * The microseconds of a fraction of n digits (1..6) at b[p], as a count of microseconds
 * (`.5` is 500000); -1 when they are not n digits.
 */
export function fractionMicros(b: Uint8Array, p: number, n: number): number {
  if (n < 1 || n > 6) return -1;
  const f = digits(b, p, n);
  return f < 0 ? -1 : f * POWERS_OF_TEN[6 - n]!;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

/** `YYYY-MM-DD hh:mm:ss[.f{1,6}]` */
function dateTime(b: Uint8Array, s: number, e: number): TemporalValue | null {
  const n = e - s;
  if (n < 19 || n === 20 || n > 26 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x20 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a) return null;
  let micros = 0;
  if (n > 19) {
    if (b[s + 19] !== 0x2e) return null;
    micros = fractionMicros(b, s + 20, n - 20);
    if (micros < 0) return null;
  }
  const y = digits(b, s, 4), mo = digits(b, s + 5, 2), d = digits(b, s + 8, 2);
  const h = digits(b, s + 11, 2), mi = digits(b, s + 14, 2), sec = digits(b, s + 17, 2);
  if ((y | mo | d | h | mi | sec) < 0) return null;
  return temporal(false, y, mo, d, h, mi, sec, micros);
}

/** `[-]h…h:mm:ss[.f{1,6}]`, hours of one digit or more */
function time(b: Uint8Array, s: number, e: number): TemporalValue | null {
  const negative = b[s] === 0x2d;
  const first = negative ? s + 1 : s;
  let colon = first;
  while (colon < e && b[colon] !== 0x3a) colon++;
  const hourDigits = colon - first;
  if (hourDigits < 1 || hourDigits > 7 || e - colon < 6 || b[colon + 3] !== 0x3a) return null;
  let micros = 0;
  const rest = e - colon - 6;
  if (rest > 0) {
    if (b[colon + 6] !== 0x2e) return null;
    micros = fractionMicros(b, colon + 7, rest - 1);
    if (micros < 0) return null;
  }
  const h = digits(b, first, hourDigits), mi = digits(b, colon + 1, 2), sec = digits(b, colon + 4, 2);
  if ((h | mi | sec) < 0) return null;
  return temporal(negative, null, null, null, h, mi, sec, micros);
}

/** A DATETIME's components read as UTC: epoch seconds; the zero date is the zero timestamp (0, 0). */
function timestampOf(v: TemporalValue): TimestampValue {
  if (v.year === 0) return { kind: 'timestamp', epochSeconds: 0, micros: 0 };
  const epochSeconds = daysFromCivil(v.year!, v.month!, v.day!) * 86400 + v.hour! * 3600 + v.minute! * 60 + v.second!;
  return { kind: 'timestamp', epochSeconds, micros: v.micros! };
}

/** The n ASCII digits at b[p] as a number, or -1 when one is not a digit. */
function digits(b: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = p; i < p + n; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function temporal(negative: boolean, year: number | null, month: number | null, day: number | null,
  hour: number | null, minute: number | null, second: number | null, micros: number | null): TemporalValue {
  return { kind: 'temporal', negative, year, month, day, hour, minute, second, micros };
}

/** Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count from 1970-01-01. */
export function civilFromDays(daysSinceEpoch: number): { year: number; month: number; day: number } {
  const z = daysSinceEpoch + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}
