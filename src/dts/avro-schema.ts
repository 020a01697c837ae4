import { readFileSync } from 'node:fs';
import avsc from 'avsc';

const RECORD_NAME = 'com.alibaba.dts.formats.avro.Record';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// avsc hands the 8 bytes to packLongBytes and is done with them before the next long,
// so one scratch buffer saves an allocation per long written.
const scratch = Buffer.alloc(8);

/**
 * Avro `long` as bigint both ways. avsc's default long is a JS number that refuses values
 * beyond 2^53; `id` is a counter that must stay exact however large it grows, and one
 * representation for every long keeps readers and writers simple.
 */
const longType = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(0),
  toBuffer: (n: bigint): Buffer => {
    scratch.writeBigInt64LE(n, 0);
    return scratch;
  },
  fromJSON: (v: number | string | bigint): bigint => BigInt(v),
  toJSON: (n: bigint): number | string =>
    n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString(),
  isValid: (n: unknown): boolean => typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX,
  compare: (a: bigint, b: bigint): number => (a === b ? 0 : a < b ? -1 : 1),
});

function loadRecordType(): avsc.Type {
  const text = readFileSync(new URL('../../avro/Record.avsc', import.meta.url), 'utf8');
  const schemas = JSON.parse(text) as avsc.Schema[];
  // One registry for all 14 named types, parsed in file order, so that later types
  // can refer to earlier ones by name, as the DTS demos parse the file.
  // wrapUnions 'auto' leaves every union plain except the image item union, whose
  // eleven record branches need wrapping to be told apart.
  const opts = { registry: { long: longType } as Record<string, avsc.Type>, wrapUnions: 'auto' as const };
  let last: avsc.Type | undefined;
  for (const schema of schemas) last = avsc.Type.forSchema(schema, opts);
  const record = opts.registry[RECORD_NAME];
  if (!record || record !== last) throw new Error(`avro/Record.avsc must define ${RECORD_NAME} last`);
  return record;
}

/** The compiled DTS `Record` type: the one writer and reader schema of every message. */
export const recordType: avsc.Type = loadRecordType();
