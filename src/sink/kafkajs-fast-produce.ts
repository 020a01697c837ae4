/**
 * Makes kafkajs 2.2.4 send the sink's record batches as encoded by record-batch.ts, for
 * produce requests v3 and above (brokers >= 0.11), without patching kafkajs' files.
 *
 * Why: kafkajs' produce request v3 (src/protocol/requests/produce/v3/request.js; v4 to v7
 * are v3 with another apiVersion) builds, per record, a spread copy of the message, a Record
 * Encoder with several small Buffers and Long objects, then copies it all into the batch and
 * checksums a byte at a time: about 8-10 µs of CPU per 200-byte record, which capped the
 * sink near 85,000 records/s on one core. record-batch.ts writes the same bytes in well
 * under 1 µs.
 *
 * The hook: broker.produce() asks the Produce request definitions (`requests.Produce` of
 * src/protocol/requests/index.js, the object src/broker/index.js reads on every request)
 * for the request of the negotiated version through their `protocol({ version })`. That
 * function is wrapped: for version >= 3, when every partition of the request carries an
 * array of records the sink marked (markFastBatch), the request keeps kafkajs' apiKey,
 * apiVersion and expectResponse, but its `encode` is ours: the request body
 * (transactional_id, acks, timeout, topics, partitions with
 * their record batch) in one Buffer, handed back in a kafkajs Encoder. Everything else stays
 * kafkajs': connection, SASL, correlation, response parsing, errors, retries (a retry builds
 * a new request and so encodes again), idempotent sequences (the partition's firstSequence
 * and the producer id/epoch are taken from kafkajs' arguments). Requests of other kafkajs
 * users in the process, of produce v0-v2 (brokers before 0.11, message sets), and with a
 * compression other than none/gzip go through kafkajs unchanged.
 *
 * What the sink passes: the arrays kafkajs finds per partition are the sink's own arrays
 * (kafkajs-grouping.ts answers kafkajs' grouping with them), so the marks survive.
 *
 * gzip ahead (compressAhead): the sink sends one request at a time, so a batch compressed
 * only when its request is built would hold the line for the whole deflate (about 3 µs per
 * 200-byte record, more than all the rest of the sink). Without an idempotent producer a
 * batch's bytes do not depend on the request, so the sink starts each queued send's gzip on
 * libuv's thread pool as soon as the send is planned; it runs on the other core while earlier
 * requests are on the wire, and the request (or its retry) takes the result.
 *
 * The framing: kafkajs frames every request (src/protocol/request.js) by writing its header
 * into a new Encoder and copying the body after it, then copying both after a size into
 * another: two zero-filled buffers of the next power of two per request, several MB for a
 * large produce and most of what it allocated. Our body is written with free room in front
 * of it, and Encoder.writeEncoder is wrapped (framedWriteEncoder) so that, for such a body
 * only, the bytes written before it go into that room instead. Every other encoder's
 * writeEncoder is kafkajs' own.
 *
 * kafkajs' internals are checked before the first produce (ensureFastProduce, called by
 * KafkaSink.connect): the installed version, the shape of the Produce definitions, and, for
 * every version 3 to 7, that kafkajs' own encoder and ours give the same bytes for a sample
 * request, both as a body and as framed for the socket. Anything else stops the start with
 * ENCODE_FAILED instead of sending something the broker might read differently.
 */
import { createRequire } from 'node:module';
import { SyncError } from '../errors.ts';
import { type BatchRecord, encodeRecordBatchAsync, type RecordBatchOptions, recordBatchBound, writeRecordBatchInto } from './record-batch.ts';

const CHECKED_VERSION = '2.2.4';
/** kafkajs' codes (src/protocol/message/compression). */
const COMPRESSION_NONE = 0;
const COMPRESSION_GZIP = 1;
const FIRST_FAST_VERSION = 3;
const LAST_CHECKED_VERSION = 7;

const require = createRequire(import.meta.url);
/** On our wrapper: the kafkajs function it wraps (so that a second copy of this module never wraps a wrapper). */
const ORIGINAL = Symbol.for('dts-binlog-kafka/kafkajs-fast-produce/original');

/** One partition's part of a produce request, as kafkajs hands it to the request encoder. */
interface PartitionData {
  partition: number;
  messages: readonly BatchRecord[];
  firstSequence?: number;
}

/** The arguments of kafkajs' produce request builders (src/protocol/requests/produce/index.js). */
export interface ProduceArgs {
  acks: number;
  timeout: number;
  compression?: number;
  topicData: { topic: string; partitions: PartitionData[] }[];
  transactionalId?: string | null;
  producerId?: number | string | bigint | { toString(): string };
  producerEpoch?: number;
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse?: () => boolean;
  encode: () => Promise<KafkajsEncoder>;
}

type RequestBuilder = (args: ProduceArgs) => { request: KafkajsRequest; response: unknown };

export interface ProduceDefinitions {
  versions: string[];
  protocol: (arg: { version: number }) => RequestBuilder | undefined;
}

/** Arrays of records the sink handed to kafkajs, one partition's record batch each. */
const fastBatches = new WeakSet<readonly BatchRecord[]>();

/** Marks one partition's records (the array kafkajs will find for the partition) for the fast encoder. */
export function markFastBatch(records: readonly BatchRecord[]): void {
  fastBatches.add(records);
}

/** Gzipped batches started ahead of their request (non-idempotent producers only: no sequence in them). */
const compressedAhead = new WeakMap<readonly BatchRecord[], Promise<Buffer>>();

/**
 * Marks the records and starts their gzip now, on libuv's thread pool, so that it runs while
 * the requests before theirs are on the wire; their request then takes the result (a retry
 * too). Only for a producer that is not idempotent: an idempotent batch carries a sequence
 * number known only when its request is built. (A broker before 0.11 takes message sets,
 * which kafkajs compresses itself: the work done ahead is then wasted, not wrong.)
 */
export function compressAhead(records: readonly BatchRecord[]): void {
  fastBatches.add(records);
  if (compressedAhead.has(records)) return;
  const batch = encodeRecordBatchAsync(records, { compression: 'gzip' });
  batch.catch(() => {}); // a failure is reported by the request that uses it
  compressedAhead.set(records, batch);
}

function notAsExpected(what: string): SyncError {
  return new SyncError(
    'ENCODE_FAILED',
    `the installed kafkajs is not what the Kafka sink's produce encoder was written for (kafkajs ${CHECKED_VERSION}, ` +
      `src/sink/kafkajs-fast-produce.ts): ${what}. Reinstall the pinned version (npm ci); a kafkajs upgrade needs that module checked again`,
  );
}

/** kafkajs' version and Produce request definitions, as installed. */
function loadKafkajs(): { version: unknown; definitions: unknown } {
  try {
    return {
      version: (require('kafkajs/package.json') as { version?: unknown }).version,
      definitions: (require('kafkajs/src/protocol/requests/index.js') as { requests?: { Produce?: unknown } }).requests?.Produce,
    };
  } catch (e) {
    throw notAsExpected(`cannot load its produce request definitions (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The Produce definitions, once their shape is checked: the pinned version, a protocol function, versions 0 to 7. */
export function checkedDefinitions(version: unknown, definitions: unknown): ProduceDefinitions {
  if (version !== CHECKED_VERSION) throw notAsExpected(`version ${String(version)} is installed`);
  const d = definitions as Partial<ProduceDefinitions> | null | undefined;
  if (d === undefined || d === null || typeof d.protocol !== 'function' || !Array.isArray(d.versions)) {
    throw notAsExpected('requests.Produce has no protocol function or versions list');
  }
  for (let v = 0; v <= LAST_CHECKED_VERSION; v++) {
    if (!d.versions.includes(String(v))) throw notAsExpected(`requests.Produce has no version ${v}`);
  }
  return d as ProduceDefinitions;
}

/** Whether the fast encoder takes this request: a known compression, only marked partitions. */
function takes(args: ProduceArgs): boolean {
  const compression = args.compression ?? COMPRESSION_NONE;
  if (compression !== COMPRESSION_NONE && compression !== COMPRESSION_GZIP) return false;
  if (!Array.isArray(args.topicData) || args.topicData.length === 0) return false;
  for (const t of args.topicData) {
    if (!Array.isArray(t.partitions) || t.partitions.length === 0) return false;
    for (const p of t.partitions) if (!fastBatches.has(p.messages)) return false;
  }
  return true;
}

/**
 * The body of a produce request v3..v7 (all the same) for `args`:
 *   transactional_id NULLABLE_STRING, acks INT16, timeout INT32,
 *   [topic STRING, [partition INT32, record_set RECORDS (INT32 size + record batch)]]
 * Without gzip, all encoding is synchronous; with it, the partitions compress at once on
 * libuv's thread pool, or were compressed ahead (not idempotent only: an idempotent batch
 * carries this request's sequence).
 */
export async function encodeProduceBody(args: ProduceArgs, headroom = 0): Promise<Buffer> {
  const gzip = (args.compression ?? COMPRESSION_NONE) === COMPRESSION_GZIP;
  const producerId = BigInt(String(args.producerId ?? -1));
  // Without a producer id (not idempotent), epoch and sequence are "none" too, as the Java client writes them.
  const idempotent = producerId >= 0n;
  const transactionalId = args.transactionalId === undefined || args.transactionalId === null ? null : Buffer.from(args.transactionalId, 'utf8');
  const base: RecordBatchOptions = {
    compression: gzip ? 'gzip' : 'none',
    producerId,
    producerEpoch: idempotent ? (args.producerEpoch ?? 0) : -1,
    transactional: transactionalId !== null,
  };
  const options = (p: PartitionData): RecordBatchOptions => ({ ...base, baseSequence: idempotent ? (p.firstSequence ?? 0) : -1 });
  let size = 2 + (transactionalId?.length ?? 0) + 2 + 4 + 4;
  const topicNames: Buffer[] = [];
  const compressing: Promise<Buffer>[] = [];
  for (const t of args.topicData) {
    const name = Buffer.from(t.topic, 'utf8');
    topicNames.push(name);
    size += 2 + name.length + 4;
    for (const p of t.partitions) {
      size += 4 + 4;
      if (gzip) compressing.push((idempotent ? undefined : compressedAhead.get(p.messages)) ?? encodeRecordBatchAsync(p.messages, options(p)));
      else size += recordBatchBound(p.messages);
    }
  }
  // Compressed batches are copied in; plain ones are written in place (the size is a bound then).
  const compressed = gzip ? await Promise.all(compressing) : [];
  for (const b of compressed) size += b.length;

  const request = Buffer.allocUnsafe(headroom + size);
  const body = request.subarray(headroom);
  let pos = body.writeInt16BE(transactionalId === null ? -1 : transactionalId.length, 0);
  if (transactionalId !== null) {
    body.set(transactionalId, pos);
    pos += transactionalId.length;
  }
  pos = body.writeInt16BE(args.acks, pos);
  pos = body.writeInt32BE(args.timeout, pos);
  pos = body.writeInt32BE(args.topicData.length, pos);
  let k = 0;
  args.topicData.forEach((t, i) => {
    const name = topicNames[i]!;
    pos = body.writeInt16BE(name.length, pos);
    body.set(name, pos);
    pos += name.length;
    pos = body.writeInt32BE(t.partitions.length, pos);
    for (const p of t.partitions) {
      pos = body.writeInt32BE(p.partition, pos);
      const batchAt = pos + 4;
      let end: number;
      if (gzip) {
        const batch = compressed[k++]!;
        body.set(batch, batchAt);
        end = batchAt + batch.length;
      } else {
        end = writeRecordBatchInto(p.messages, options(p), body, batchAt);
      }
      body.writeInt32BE(end - batchAt, pos);
      pos = end;
    }
  });
  return body.subarray(0, pos);
}

type EncoderClass = (new (initialSize?: number) => KafkajsEncoder) & { prototype: { writeEncoder: (this: KafkajsEncoder, value: KafkajsEncoder) => KafkajsEncoder } };
let Encoder: EncoderClass | undefined;

/**
 * Room left before a produce request's body for what kafkajs' request framing puts in front
 * of it (src/protocol/request.js: size, apiKey, apiVersion, correlationId, clientId), so
 * that the framing writes there instead of copying the body twice (framedWriteEncoder).
 */
const REQUEST_HEADROOM = 256;

/** Encoders whose bytes have free room in front of them: buf is full.subarray(start). */
const headrooms = new WeakMap<KafkajsEncoder, { readonly full: Buffer; readonly start: number }>();

/** A kafkajs Encoder holding `bytes`, which is what kafkajs' request framing expects from encode(). */
function asEncoder(bytes: Buffer, headroom = 0): KafkajsEncoder {
  Encoder ??= require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const encoder = new Encoder(0);
  encoder.buf = bytes;
  encoder.offset = bytes.length;
  if (headroom > 0 && bytes.byteOffset >= headroom) {
    const full = Buffer.from(bytes.buffer, bytes.byteOffset - headroom, headroom + bytes.length);
    headrooms.set(encoder, { full, start: headroom });
  }
  return encoder;
}

/**
 * kafkajs' Encoder.writeEncoder, for an encoder with room in front of its bytes: this
 * encoder's bytes (the request header kafkajs' framing wrote) go into that room and this
 * encoder takes over the buffer, instead of kafkajs copying the body into a new zero-filled
 * buffer of the next power of two, twice per request. Those copies were most of the memory
 * a produce request allocated, and the garbage collections they forced. The bytes are the
 * same (ensureFastProduce checks it); any other value takes kafkajs' own writeEncoder.
 */
function framedWriteEncoder(original: (this: KafkajsEncoder, value: KafkajsEncoder) => KafkajsEncoder) {
  return function writeEncoder(this: KafkajsEncoder, value: KafkajsEncoder): KafkajsEncoder {
    const room = value === null || value === undefined ? undefined : headrooms.get(value);
    if (room === undefined || !Buffer.isBuffer(this.buf) || this.offset > room.start) return original.call(this, value);
    headrooms.delete(value); // its bytes are this encoder's now
    const start = room.start - this.offset;
    this.buf.copy(room.full, start, 0, this.offset);
    this.buf = room.full.subarray(start);
    this.offset += value.offset;
    headrooms.set(this, { full: room.full, start });
    return this;
  };
}

/**
 * `original` (kafkajs' Produce `protocol`) with our encoder for versions >= 3, for the
 * requests it takes; every other request is kafkajs' own, untouched.
 */
export function fastProtocol(original: ProduceDefinitions['protocol']): ProduceDefinitions['protocol'] {
  const wrapped = function fastProduceProtocol(arg: { version: number }) {
    const build = original(arg);
    if (build === undefined || !(arg.version >= FIRST_FAST_VERSION)) return build;
    return (args: ProduceArgs) => {
      const built = build(args);
      if (!takes(args)) return built;
      return { ...built, request: { ...built.request, encode: async () => asEncoder(await encodeProduceBody(args, REQUEST_HEADROOM), REQUEST_HEADROOM) } };
    };
  };
  return Object.assign(wrapped, { [ORIGINAL]: original });
}

/** kafkajs' own `protocol` behind `protocol` (itself when it is not one of our wrappers). */
export function kafkajsProtocol(protocol: ProduceDefinitions['protocol']): ProduceDefinitions['protocol'] {
  return (protocol as { [ORIGINAL]?: ProduceDefinitions['protocol'] })[ORIGINAL] ?? protocol;
}

/**
 * The sample request the check encodes both ways: null key, empty value, several timestamps,
 * two partitions; without a producer, or as a transactional producer's.
 */
function sampleArgs(compression: number, transactional: boolean): ProduceArgs {
  const records = (n: number): BatchRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      key: i === 0 ? null : Buffer.from(`key-${i}`),
      value: i === 1 ? Buffer.alloc(0) : Buffer.alloc(40 + i, i),
      timestamp: String(1_700_000_000_000 + ((i * 37) % 11)),
    }));
  const partitions = [
    { partition: 0, messages: records(5), firstSequence: transactional ? 17 : -1 },
    { partition: 3, messages: records(2), firstSequence: transactional ? 0 : -1 },
  ];
  for (const p of partitions) markFastBatch(p.messages);
  const topicData = [{ topic: 'fast-produce-check', partitions }];
  if (transactional) return { acks: -1, timeout: 30_000, compression, topicData, transactionalId: 'dts-task.check', producerId: '4242', producerEpoch: 3 };
  return { acks: -1, timeout: 30_000, compression, topicData, producerId: -1, producerEpoch: -1 };
}

/**
 * Checks that `wrapped` gives the same bytes as kafkajs' `original` for sample requests of
 * every version 3 to 7 (none and gzip; producer fields "none" as ours writes them, and a
 * transactional producer's), and
 * leaves versions 0 to 2 to kafkajs. Rejects with ENCODE_FAILED when not.
 */
export async function compareWithKafkajs(original: ProduceDefinitions['protocol'], wrapped: ProduceDefinitions['protocol']): Promise<void> {
  for (let version = 0; version <= LAST_CHECKED_VERSION; version++) {
    const theirBuilder = original({ version });
    const ourBuilder = wrapped({ version });
    if (theirBuilder === undefined || ourBuilder === undefined) throw notAsExpected(`requests.Produce gives no request for version ${version}`);
    if (version < FIRST_FAST_VERSION) {
      // Message sets (brokers before 0.11): kafkajs' own builder, untouched.
      if (ourBuilder !== theirBuilder) throw notAsExpected(`produce v${version} is not kafkajs' own`);
      continue;
    }
    for (const [compression, transactional] of [[COMPRESSION_NONE, false], [COMPRESSION_GZIP, false], [COMPRESSION_NONE, true], [COMPRESSION_GZIP, true]] as const) {
      const args = sampleArgs(compression, transactional);
      if (!takes(args)) throw notAsExpected('the sample request is not one the fast encoder takes');
      let theirs: KafkajsRequest;
      let ours: KafkajsRequest;
      let same: boolean;
      try {
        theirs = theirBuilder(args).request;
        ours = ourBuilder(args).request;
        same = (await theirs.encode()).buffer.equals((await ours.encode()).buffer);
      } catch (e) {
        throw notAsExpected(`encoding a sample produce v${version} request failed (${e instanceof Error ? e.message : String(e)})`);
      }
      if (theirs.apiKey !== 0 || theirs.apiVersion !== version || ours.apiKey !== 0 || ours.apiVersion !== version) {
        throw notAsExpected(`produce v${version} comes as apiKey ${theirs.apiKey}, apiVersion ${theirs.apiVersion}`);
      }
      if (!same) throw notAsExpected(`kafkajs' produce v${version} request (compression ${compression}${transactional ? ', transactional' : ''}) differs from the sink's for the same records`);
      // The whole request as kafkajs frames it for the socket: the header written into the
      // body's front room (framedWriteEncoder) must give kafkajs' bytes.
      let framed: boolean;
      try {
        const frame = (request: KafkajsRequest) => createRequest({ correlationId: 0x1234567, clientId: 'dts-binlog-kafka-check', request });
        framed = (await frame(theirBuilder(args).request)).buffer.equals((await frame(ourBuilder(args).request)).buffer);
      } catch (e) {
        throw notAsExpected(`framing a sample produce v${version} request failed (${e instanceof Error ? e.message : String(e)})`);
      }
      if (!framed) throw notAsExpected(`kafkajs' framed produce v${version} request (compression ${compression}${transactional ? ', transactional' : ''}) differs from the sink's`);
    }
  }
}

type CreateRequest = (arg: { correlationId: number; clientId: string; request: KafkajsRequest }) => Promise<{ buffer: Buffer }>;

/** kafkajs' request framing (src/protocol/request.js), as the connection calls it. */
function createRequest(arg: Parameters<CreateRequest>[0]): ReturnType<CreateRequest> {
  return (require('kafkajs/src/protocol/request.js') as CreateRequest)(arg);
}

/** Puts framedWriteEncoder in place of kafkajs' Encoder.writeEncoder; returns how to undo it. */
function installFraming(): () => void {
  Encoder ??= require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const proto = Encoder.prototype as { writeEncoder: EncoderClass['prototype']['writeEncoder'] & { [ORIGINAL]?: unknown } };
  if (typeof proto.writeEncoder !== 'function') throw notAsExpected('its Encoder has no writeEncoder');
  const original = (proto.writeEncoder[ORIGINAL] ?? proto.writeEncoder) as EncoderClass['prototype']['writeEncoder'];
  proto.writeEncoder = Object.assign(framedWriteEncoder(original), { [ORIGINAL]: original });
  return () => {
    proto.writeEncoder = original;
  };
}

let installed: Promise<void> | undefined;

/**
 * Once per process: checks kafkajs (checkedDefinitions, compareWithKafkajs) and, only when
 * all is as expected, puts our encoder into its Produce definitions. Rejects with
 * ENCODE_FAILED otherwise, and kafkajs is left as it was.
 */
export function ensureFastProduce(): Promise<void> {
  installed ??= (async () => {
    const { version, definitions: loaded } = loadKafkajs();
    const definitions = checkedDefinitions(version, loaded);
    const original = kafkajsProtocol(definitions.protocol);
    const wrapped = fastProtocol(original);
    const uninstallFraming = installFraming();
    try {
      await compareWithKafkajs(original, wrapped);
    } catch (e) {
      uninstallFraming();
      throw e;
    }
    definitions.protocol = wrapped;
  })();
  return installed;
}
