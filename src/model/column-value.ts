/**
 * One column value in its exact form. Which variant a column holds follows from its
 * ColumnType; no value ever passes through a lossy type:
 *
 * | ColumnType                                   | value                                  |
 * |----------------------------------------------|----------------------------------------|
 * | tinyint..bigint, bit                          | bigint (unsigned magnitude for UNSIGNED, the bits for BIT) |
 * | decimal                                       | string, exactly as MySQL prints it (`-348.00`) |
 * | float, double                                 | number (a FLOAT holds the float32 value widened) |
 * | date, time, datetime, year                    | TemporalValue                          |
 * | timestamp                                     | TimestampValue                         |
 * | char..longblob (text and binary)              | Buffer: the stored bytes in the column's charset |
 * | json, enum, set, uuid, inet4, inet6           | string (enum: label, '' for the invalid value; set: labels comma-joined) |
 * | geometry and subtypes                          | Buffer: WKB, without MySQL's 4-byte SRID prefix |
 *
 * SQL NULL is `null` for every type.
 */
export type ColumnValue = null | bigint | string | number | Buffer | TemporalValue | TimestampValue;

/**
 * DATE, TIME, DATETIME and YEAR as their stored components (never a JS Date).
 * A component the type does not have is null. A negative TIME has `negative: true`
 * and non-negative components here; the codec writes them negated.
 * Zero dates are all zeros.
 */
export interface TemporalValue {
  readonly kind: 'temporal';
  readonly negative: boolean;
  readonly year: number | null;
  readonly month: number | null;
  readonly day: number | null;
  readonly hour: number | null;
  readonly minute: number | null;
  readonly second: number | null;
  /** 0..999999 */
  readonly micros: number | null;
}

/** A TIMESTAMP as the instant it stores: UNIX seconds (UTC) and microseconds. Zero timestamp is 0/0. */
export interface TimestampValue {
  readonly kind: 'timestamp';
  readonly epochSeconds: number;
  /** 0..999999 */
  readonly micros: number;
}

export function isTemporalValue(v: ColumnValue): v is TemporalValue {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && (v as TemporalValue).kind === 'temporal';
}

export function isTimestampValue(v: ColumnValue): v is TimestampValue {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && (v as TimestampValue).kind === 'timestamp';
}
