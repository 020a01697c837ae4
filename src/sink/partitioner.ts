/**
 * Partition choice, compatible with Kafka's Java producer: `murmur2` is a transcription of
 * `org.apache.kafka.common.utils.Utils.murmur2(byte[])` and a partition is
 * `Utils.toPositive(Utils.murmur2(bytes)) % numPartitions`, exactly what the Java
 * `DefaultPartitioner` (and kafkajs' `Partitioners.DefaultPartitioner`) compute for a keyed
 * record. A Java (or librdkafka `murmur2_random`) consumer can therefore recompute where a
 * record went from the same bytes. Pure: no I/O.
 */

export type PartitionPolicy = 'single' | 'table' | 'primary-key';

export interface PartitionInput {
  /** Database (schema) of the record, null when the record has none. */
  database: string | null;
  /** Table of the record, null for records not tied to a table (e.g. database-level DDL). */
  table: string | null;
  /** The message key bytes (the encoded primary-key values), null when the record has none. */
  key: Buffer | null;
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2: the 32-bit MurmurHash2 with seed 0x9747b28c, reading the bytes as
 * little-endian 32-bit words, returning a signed 32-bit integer like Java's `int`.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail: Java's switch falling through from case 3 to case 1.
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[length4 + 2]! << 16;
    if (tail >= 2) h ^= data[length4 + 1]! << 8;
    h ^= data[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** `toPositive(murmur2(bytes)) % partitionCount`, the Java client's partition for a key. */
export function partitionOfBytes(bytes: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(bytes)) % partitionCount;
}

// The hash of a `database.table` name, so that a table's name is encoded and hashed once,
// not once per row. Bounded: cleared when it grows past TABLE_CACHE_LIMIT names.
const TABLE_CACHE_LIMIT = 10_000;
const tableHashes = new Map<string, number>();

function tableHash(database: string, table: string): number {
  const name = `${database}.${table}`;
  let hash = tableHashes.get(name);
  if (hash === undefined) {
    hash = toPositive(murmur2(Buffer.from(name, 'utf8')));
    if (tableHashes.size >= TABLE_CACHE_LIMIT) tableHashes.clear();
    tableHashes.set(name, hash);
  }
  return hash;
}

/**
 * The partition of a record under `policy`, for a topic of `partitionCount` partitions.
 *
 * Exactly what is hashed:
 * - `single`: nothing; always 0 (one partition: global order).
 * - `table`: the UTF-8 bytes of `database + "." + table`, names as they are (case kept, no
 *   quoting or escaping), e.g. the 10 bytes `shop.order` for table `order` of database `shop`.
 *   A record without a table or a database (database-level DDL) goes to 0.
 * - `primary-key`: the message key bytes exactly as produced (no re-encoding). A record
 *   without a key (null: DDL, tables without a usable key) goes to 0; an empty, non-null key
 *   is hashed like any other.
 *
 * Every hash becomes a partition as `(murmur2(bytes) & 0x7fffffff) % partitionCount`.
 */
export function partitionFor(policy: PartitionPolicy, partitionCount: number, input: PartitionInput): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be an integer >= 1, got ${partitionCount}`);
  }
  switch (policy) {
    case 'single':
      return 0;
    case 'table':
      if (input.database === null || input.table === null) return 0;
      return partitionCount === 1 ? 0 : tableHash(input.database, input.table) % partitionCount;
    case 'primary-key':
      if (input.key === null) return 0;
      return partitionCount === 1 ? 0 : partitionOfBytes(input.key, partitionCount);
    default: {
      const never: never = policy;
      throw new RangeError(`unknown partition policy ${String(never)}`);
    }
  }
}
