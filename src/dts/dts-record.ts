/**
 * The in-memory shape of a DTS `Record` as the compiled avsc type (avro-schema.ts) reads
 * and writes it.
 *
 * - Every Avro `long` is a bigint, both ways (see avro-schema.ts).
 * - Unions whose branches avsc can tell apart by JS type (`["null","string"]`,
 *   `["null","string",{array}]`, DateTime's `["null","int"]`) are plain values.
 * - The image-array item union has eleven record branches that no JS type tells apart,
 *   so each non-null item is wrapped: `{ 'com.alibaba.dts.formats.avro.Integer': {...} }`.
 */

export const AVRO_NAMESPACE = 'com.alibaba.dts.formats.avro';

/** Branch names of the image item union, in schema order (index 0 is `null`). */
export const INTEGER = 'com.alibaba.dts.formats.avro.Integer';
export const CHARACTER = 'com.alibaba.dts.formats.avro.Character';
export const DECIMAL = 'com.alibaba.dts.formats.avro.Decimal';
export const FLOAT = 'com.alibaba.dts.formats.avro.Float';
export const TIMESTAMP = 'com.alibaba.dts.formats.avro.Timestamp';
export const DATE_TIME = 'com.alibaba.dts.formats.avro.DateTime';
export const TIMESTAMP_WITH_TIME_ZONE = 'com.alibaba.dts.formats.avro.TimestampWithTimeZone';
export const BINARY_GEOMETRY = 'com.alibaba.dts.formats.avro.BinaryGeometry';
export const TEXT_GEOMETRY = 'com.alibaba.dts.formats.avro.TextGeometry';
export const BINARY_OBJECT = 'com.alibaba.dts.formats.avro.BinaryObject';
export const TEXT_OBJECT = 'com.alibaba.dts.formats.avro.TextObject';
export const EMPTY_OBJECT = 'com.alibaba.dts.formats.avro.EmptyObject';

export interface DtsInteger { readonly precision: number; readonly value: string }
export interface DtsCharacter { readonly charset: string; readonly value: Buffer }
export interface DtsDecimal { readonly value: string; readonly precision: number; readonly scale: number }
export interface DtsFloat { readonly value: number; readonly precision: number; readonly scale: number }
/** `millis` holds microseconds (docs/format.md). */
export interface DtsTimestamp { readonly timestamp: bigint; readonly millis: number }
/** `millis` holds microseconds (docs/format.md). */
export interface DtsDateTime {
  readonly year: number | null;
  readonly month: number | null;
  readonly day: number | null;
  readonly hour: number | null;
  readonly minute: number | null;
  readonly second: number | null;
  readonly millis: number | null;
}
export interface DtsTimestampWithTimeZone { readonly value: DtsDateTime; readonly timezone: string }
export interface DtsBinaryGeometry { readonly type: string; readonly value: Buffer }
export interface DtsTextGeometry { readonly type: string; readonly value: string }
export interface DtsBinaryObject { readonly type: string; readonly value: Buffer }
export interface DtsTextObject { readonly type: string; readonly value: string }
export type DtsEmptyObject = 'NULL' | 'NONE';

/** One item of beforeImages/afterImages. */
export type DtsImageValue =
  | null
  | { readonly [INTEGER]: DtsInteger }
  | { readonly [CHARACTER]: DtsCharacter }
  | { readonly [DECIMAL]: DtsDecimal }
  | { readonly [FLOAT]: DtsFloat }
  | { readonly [TIMESTAMP]: DtsTimestamp }
  | { readonly [DATE_TIME]: DtsDateTime }
  | { readonly [TIMESTAMP_WITH_TIME_ZONE]: DtsTimestampWithTimeZone }
  | { readonly [BINARY_GEOMETRY]: DtsBinaryGeometry }
  | { readonly [TEXT_GEOMETRY]: DtsTextGeometry }
  | { readonly [BINARY_OBJECT]: DtsBinaryObject }
  | { readonly [TEXT_OBJECT]: DtsTextObject }
  | { readonly [EMPTY_OBJECT]: DtsEmptyObject };

export interface DtsField { readonly name: string; readonly dataTypeNumber: number }

export type DtsOperation =
  | 'INSERT' | 'UPDATE' | 'DELETE' | 'DDL' | 'BEGIN' | 'COMMIT' | 'ROLLBACK' | 'ABORT'
  | 'HEARTBEAT' | 'CHECKPOINT' | 'COMMAND' | 'FILL' | 'FINISH' | 'CONTROL' | 'RDB' | 'NOOP' | 'INIT';

export type DtsSourceType =
  | 'MySQL' | 'Oracle' | 'SQLServer' | 'PostgreSQL' | 'MongoDB' | 'Redis' | 'DB2' | 'PPAS'
  | 'DRDS' | 'HBASE' | 'HDFS' | 'FILE' | 'OTHER';

export interface DtsRecord {
  readonly version: number;
  readonly id: bigint;
  readonly sourceTimestamp: bigint;
  readonly sourcePosition: string;
  readonly safeSourcePosition: string;
  readonly sourceTxid: string;
  readonly source: { readonly sourceType: DtsSourceType; readonly version: string };
  readonly operation: DtsOperation;
  readonly objectName: string | null;
  readonly processTimestamps: readonly bigint[] | null;
  readonly tags: { readonly [key: string]: string };
  readonly fields: readonly DtsField[] | string | null;
  readonly beforeImages: readonly DtsImageValue[] | string | null;
  readonly afterImages: readonly DtsImageValue[] | string | null;
  readonly bornTimestamp: bigint;
}
