/**
 * Assign mode on kafkajs, which has no `assign()` API (only group subscriptions).
 *
 * Two ways were possible: a fetch loop of our own on kafkajs' internal broker objects, or a
 * group whose assignment we control. The internal API is undocumented and differs per
 * protocol version, so the consumer joins the group with this partition assigner instead:
 * each member announces the partitions it wants in its JoinGroup metadata (`userData`), and
 * the group leader gives each member exactly those. Group membership is plain JoinGroup /
 * SyncGroup / Heartbeat, which Kafka has had since 0.9, so it works the same on Kafka 1.0.2
 * and 3.9; commits then go through the group as in subscribe mode, and the group's committed
 * offsets hold the checkpoint in both modes.
 *
 * A partition claimed by two members (two assign-mode clients of one group reading the same
 * partition) goes to one of them; the other sees it missing from its assignment and stops
 * with CONSUMER_GROUP_CONFLICT. Clients of one group in different modes cannot join at all
 * (the broker answers INCONSISTENT_GROUP_PROTOCOL).
 */
import kafkajs from 'kafkajs';
import type { PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

export const STATIC_ASSIGNER_NAME = 'DtsStaticAssigner';

/** The partitions a member wants, as JoinGroup userData. */
export function encodeWanted(partitions: readonly number[]): Buffer {
  return Buffer.from(JSON.stringify({ partitions }));
}

export function decodeWanted(userData: Buffer | null | undefined): number[] {
  if (!userData || userData.length === 0) return [];
  try {
    const parsed = JSON.parse(userData.toString('utf8')) as { partitions?: unknown };
    return Array.isArray(parsed.partitions) ? parsed.partitions.filter((p): p is number => Number.isInteger(p) && p >= 0) : [];
  } catch {
    return [];
  }
}

/**
 * Pure: each member gets the partitions it wants that exist and that no member sorted
 * before it (by member id) already got.
 */
export function staticAssignment(
  members: readonly { memberId: string; topics: readonly string[]; wanted: readonly number[] }[],
  partitionsOf: (topic: string) => readonly number[],
): Map<string, Record<string, number[]>> {
  const taken = new Map<string, Set<number>>();
  const out = new Map<string, Record<string, number[]>>();
  for (const m of [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))) {
    const assignment: Record<string, number[]> = {};
    for (const topic of m.topics) {
      const exists = new Set(partitionsOf(topic));
      const used = taken.get(topic) ?? new Set<number>();
      taken.set(topic, used);
      const mine = m.wanted.filter((p) => exists.has(p) && !used.has(p));
      for (const p of mine) used.add(p);
      assignment[topic] = mine;
    }
    out.set(m.memberId, assignment);
  }
  return out;
}

/** The kafkajs partition assigner for assign mode, announcing `wanted`. */
export function staticAssigner(wanted: readonly number[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: STATIC_ASSIGNER_NAME,
    version: 0,
    async assign({ members, topics }) {
      const decoded = members.map(({ memberId, memberMetadata }) => {
        const meta = AssignerProtocol.MemberMetadata.decode(memberMetadata);
        return { memberId, topics: meta?.topics ?? topics, wanted: decodeWanted(meta?.userData) };
      });
      const plan = staticAssignment(decoded, (topic) => cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId));
      return [...plan].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return {
        name: STATIC_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: encodeWanted(wanted) }),
      };
    },
  });
}
