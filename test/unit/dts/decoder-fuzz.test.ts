/**
 * Fault case 8 (docs/reliability.md): the decoder fed random and damaged bytes. 120,000 cases
 * from a fixed seed (DECODER_FUZZ_SEED replays another): random byte strings, truncations,
 * byte flips, insertions and deletions in real records (the golden encodings and a record
 * with every value branch), and huge counts and lengths spliced in. Each case must end in a
 * record or a DECODE_FAILED SyncError that says where, never another exception, a crash or
 * a hang: every case is timed, and the slowest must stay far below a second.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { SyncError } from '../../../src/errors.ts';
import type { DtsDateTime, DtsImageValue, DtsRecord } from '../../../src/dts/dts-record.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeRecord } from '../../../src/dts/encoder.ts';

const SEED = Number(process.env.DECODER_FUZZ_SEED ?? 0x5eed2024);
const N = 'com.alibaba.dts.formats.avro.';

const dt = (parts: Partial<DtsDateTime>): DtsDateTime => ({ year: null, month: null, day: null, hour: null, minute: null, second: null, millis: null, ...parts });

/** One value of every image branch. */
const IMAGE = [
  { [`${N}Integer`]: { precision: 8, value: '-9223372036854775808' } },
  { [`${N}Character`]: { charset: 'utf8mb4', value: Buffer.from('héllo 😀') } },
  { [`${N}Decimal`]: { value: '-348.00', precision: 5, scale: 2 } },
  { [`${N}Float`]: { value: 1e300, precision: 0, scale: 0 } },
  { [`${N}Timestamp`]: { timestamp: 2147483647n, millis: 999999 } },
  { [`${N}DateTime`]: dt({ year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, millis: 0 }) },
  { [`${N}TimestampWithTimeZone`]: { value: dt({ year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, millis: 6 }), timezone: '+08:00' } },
  { [`${N}BinaryGeometry`]: { type: 'POINT', value: Buffer.from('0101000000000000000000f03f0000000000000040', 'hex') } },
  { [`${N}TextGeometry`]: { type: 'POINT', value: 'POINT(1 2)' } },
  { [`${N}BinaryObject`]: { type: 'BLOB', value: Buffer.from([0, 1, 2, 0xff]) } },
  { [`${N}TextObject`]: { type: 'JSON', value: '{"a":1}' } },
  { [`${N}EmptyObject`]: 'NULL' },
  null,
] as DtsImageValue[];

/** An UPDATE with every image branch in both images. */
const EVERY_BRANCH: DtsRecord = {
  version: 0,
  id: 9_007_199_254_740_993n,
  sourceTimestamp: 1_700_000_000n,
  sourcePosition: '72469@78',
  safeSourcePosition: '72000@78',
  sourceTxid: '0',
  source: { sourceType: 'MySQL', version: '10.11.19-MariaDB' },
  operation: 'UPDATE',
  objectName: 'd\\u002Eb.t',
  processTimestamps: [1n, 2n],
  tags: { pk_uk_info: '{"PRIMARY":["i"]}', thread_id: '1', server_id: '2', readerThroughoutTime: '1700000000001' },
  fields: [['i', 8], ['c', 253], ['d', 246], ['f', 5], ['ts', 7], ['dt', 12], ['tz', 12], ['g', 255], ['tg', 255], ['b', 252], ['j', 245], ['e', 6], ['n', 3]]
    .map(([name, dataTypeNumber]) => ({ name: name as string, dataTypeNumber: dataTypeNumber as number })),
  beforeImages: IMAGE,
  afterImages: IMAGE,
  bornTimestamp: 1_700_000_000n,
};

function goldens(): Buffer[] {
  const dir = new URL('../../fixtures/golden/', import.meta.url);
  return fs.readdirSync(dir).filter((f) => f.endsWith('.hex')).sort()
    .map((f) => Buffer.from(fs.readFileSync(new URL(f, dir), 'utf8').replace(/\s+/g, ''), 'hex'));
}

/** xorshift32: the same cases on every run and machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Zig-zag varint bytes of a (possibly huge) count or length. */
function varint(n: bigint): Buffer {
  let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const out: number[] = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z > 0n) b |= 0x80;
    out.push(b);
  } while (z > 0n);
  return Buffer.from(out);
}

describe('decoder fuzz (fixed seed)', () => {
  const samples = [...goldens(), encodeRecord(EVERY_BRANCH)];

  it('decodes every sample (the mutations start from valid records)', () => {
    assert.ok(samples.length >= 6);
    for (const s of samples) renderRecord(decodeRecord(s));
  });

  it('120,000 random, truncated and corrupted inputs: a record or DECODE_FAILED saying where; no other error, no hang', () => {
    const next = rng(SEED);
    const pick = <T>(list: readonly T[]): T => list[next() % list.length]!;
    const counts = { random: 0, truncated: 0, flipped: 0, inserted: 0, deleted: 0, huge: 0 };
    let decoded = 0;
    let failed = 0;
    let slowest = 0;
    let slowestCase = -1;
    const started = process.hrtime.bigint();
    for (let i = 0; i < 120_000; i++) {
      const kind = i % 12;
      let input: Buffer;
      if (kind < 3) {
        counts.random++;
        input = Buffer.alloc(next() % 512);
        for (let j = 0; j < input.length; j++) input[j] = next() & 0xff;
      } else if (kind < 5) {
        counts.truncated++;
        const s = pick(samples);
        input = s.subarray(0, next() % s.length);
      } else if (kind < 8) {
        counts.flipped++;
        input = Buffer.from(pick(samples));
        for (let flips = 1 + (next() % 8); flips > 0; flips--) {
          const at = next() % input.length;
          input[at] = next() % 3 === 0 ? input[at]! ^ (1 << (next() % 8)) : next() & 0xff;
        }
      } else if (kind < 10) {
        const s = pick(samples);
        const at = next() % s.length;
        if (kind === 8) {
          counts.inserted++;
          const extra = Buffer.alloc(1 + (next() % 16));
          for (let j = 0; j < extra.length; j++) extra[j] = next() & 0xff;
          input = Buffer.concat([s.subarray(0, at), extra, s.subarray(at)]);
        } else {
          counts.deleted++;
          input = Buffer.concat([s.subarray(0, at), s.subarray(Math.min(s.length, at + 1 + (next() % 16)))]);
        }
      } else {
        // A count or length claiming far more than there is (up to 2^62), or a negative one.
        counts.huge++;
        const s = pick(samples);
        const at = next() % s.length;
        const claim = next() % 4 === 0 ? -BigInt(next()) : BigInt(next()) << BigInt(next() % 31);
        input = Buffer.concat([s.subarray(0, at), varint(claim), s.subarray(Math.min(s.length, at + 1 + (next() % 3)))]);
      }
      const t0 = process.hrtime.bigint();
      try {
        renderRecord(decodeRecord(input));
        decoded++;
      } catch (e) {
        failed++;
        if (!(e instanceof SyncError) || e.code !== 'DECODE_FAILED' || !/byte offset \d+|record id -?\d+|unknown image value branch/.test(e.message)) {
          assert.fail(`case ${i} (seed ${SEED}, ${input.length} bytes ${input.subarray(0, 64).toString('hex')}...): ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms > slowest) {
        slowest = ms;
        slowestCase = i;
      }
    }
    const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`decoder fuzz, seed ${SEED}: ${JSON.stringify(counts)}; ${decoded} decoded, ${failed} DECODE_FAILED; ` +
      `${totalMs.toFixed(0)} ms in all, slowest case ${slowestCase} ${slowest.toFixed(2)} ms`);
    assert.ok(failed > 60_000, `only ${failed} inputs were refused`);
    assert.ok(slowest < 250, `case ${slowestCase} took ${slowest.toFixed(1)} ms`);
  });
});
