/**
 * A work-around for a quadratic step in kafkajs 2.2.4's producer, without patching kafkajs.
 *
 * `sendBatch` groups a topic's messages by partition with
 *   messages.reduce((result, m) => Object.assign(result, { [p]: [...result[p], m] }), {})
 * (src/producer/groupMessagesPerPartition.js), which copies a partition's array for every
 * message: O(n²) per partition, about a fifth of the sink's CPU at 2,000 records a partition, more above.
 * The sink has already grouped the records (produce-plan.ts), so the array it hands to
 * kafkajs answers that `reduce` with the grouping it holds: the same object kafkajs would
 * build ({ partition: messages in order }), in O(partitions).
 *
 * kafkajs-fast-produce.ts relies on this too: the per-partition arrays kafkajs hands to the
 * produce request are then the sink's own, which carry the mark for the fast encoder (with
 * plain arrays kafkajs would encode every record itself, correct but several times slower;
 * test/integration/kafka-fast-produce.test.ts would notice).
 *
 * Only done for the kafkajs version this was checked against (package.json pins it); any
 * other version gets plain arrays. test/unit/sink/kafkajs-grouping.test.ts runs kafkajs' own
 * grouping function on both and requires the same result.
 */
import { createRequire } from 'node:module';

const CHECKED_VERSION = '2.2.4';

function installedVersion(): string | undefined {
  try {
    return (createRequire(import.meta.url)('kafkajs/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export const kafkajsGroupingShortcut = installedVersion() === CHECKED_VERSION;

/**
 * `messages` (all of a topic's records of one request, in order), made to answer kafkajs'
 * grouping `reduce` with `partitions`. `messages` must be an array the sink owns (it gets an
 * own, non-enumerable `reduce`), and `partitions` must hold exactly its records, each
 * partition's in order. Returns `messages`.
 */
export function withPartitionGrouping<T>(messages: T[], partitions: readonly { partition: number; messages: T[] }[]): T[] {
  if (!kafkajsGroupingShortcut) return messages;
  Object.defineProperty(messages, 'reduce', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: function groupedByPartition(): Record<number, T[]> {
      const out: Record<number, T[]> = {};
      for (const p of partitions) out[p.partition] = p.messages;
      return out;
    },
  });
  return messages;
}
