/**
 * The partition assigner of the election (election.ts): of the members of a task's group,
 * exactly one gets partition 0 of the election topic, and that member is the active one.
 *
 * Kafka's group coordinator decides who is in the group (JoinGroup, heartbeats, session
 * expiry); which member gets which partition is decided by the group leader, a member, with
 * the assigner every member announced. Ours is sticky: a member that says, in its JoinGroup
 * metadata, that it is active keeps partition 0, so that a standby joining (which makes the
 * coordinator rebalance the group) never deposes a working active one. When no member says
 * so (a new group, or the active one left or was expired), partition 0 goes to the member
 * running the longest (earliest start time, then member id): every leader picks the same one,
 * and a restarted instance does not win over one that has been waiting.
 *
 * A member says it is active only while it holds its lease (election.ts), so after a pause
 * longer than the session it rejoins as a standby, never as a second claimant. Two claims at
 * once would be a bug elsewhere; they are resolved by the same order, deterministically.
 *
 * The decision is pure (`chooseActive`, `leaderAssignment`); the kafkajs assigner around it
 * only decodes and encodes (kafkajs 2.2.4's AssignerProtocol, as src/consumer/static-assigner.ts).
 */
import kafkajs from 'kafkajs';
import type { PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

export const LEADER_ASSIGNER_NAME = 'DtsLeaderAssigner';

/** The partition whose owner is the active member. */
export const ACTIVE_PARTITION = 0;

/** Who a member is, for logs and a standby's /readyz. */
export interface MemberIdentity {
  readonly host: string;
  readonly pid: number;
  /** ISO 8601 time the instance started (not the time it joined): the longest-running member wins a free election. */
  readonly startedAt: string;
  /** a digest of the config options the instances of one task must share (run-standby.ts); absent in older members */
  readonly config?: string;
}

/** What a member tells the group leader in its JoinGroup metadata (userData). */
export interface MemberClaim {
  /** true while this member is active and holds its lease */
  readonly active: boolean;
  readonly identity: MemberIdentity;
}

/** A member as the group leader sees it: its claim, or null when its metadata is not ours. */
export interface GroupMemberClaim {
  readonly memberId: string;
  readonly claim: MemberClaim | null;
}

const CLAIM_VERSION = 1;

export function encodeClaim(claim: MemberClaim): Buffer {
  const { host, pid, startedAt, config } = claim.identity;
  return Buffer.from(JSON.stringify({ v: CLAIM_VERSION, active: claim.active, host, pid, startedAt, ...(config === undefined ? {} : { config }) }));
}

/** The claim in `userData`, or null when it is missing or not one of ours. */
export function decodeClaim(userData: Buffer | null | undefined): MemberClaim | null {
  if (!userData || userData.length === 0) return null;
  try {
    const o = JSON.parse(userData.toString('utf8')) as Record<string, unknown>;
    if (o.v !== CLAIM_VERSION || typeof o.host !== 'string' || typeof o.pid !== 'number' || typeof o.startedAt !== 'string') return null;
    const identity = { host: o.host, pid: o.pid, startedAt: o.startedAt, ...(typeof o.config === 'string' ? { config: o.config } : {}) };
    return { active: o.active === true, identity };
  } catch {
    return null;
  }
}

/** Start time in ms; a member without a readable one sorts after every member with one. */
function startOf(m: GroupMemberClaim): number {
  const t = m.claim === null ? NaN : Date.parse(m.claim.identity.startedAt);
  return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
}

function longestRunningFirst(a: GroupMemberClaim, b: GroupMemberClaim): number {
  const ta = startOf(a);
  const tb = startOf(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

/**
 * Pure: the member that gets partition 0. A member claiming to be active keeps it (sticky);
 * otherwise, and among several claimants, the longest-running one (earliest start, then the
 * smallest member id). Null only for an empty group.
 */
export function chooseActive(members: readonly GroupMemberClaim[]): string | null {
  const claimants = members.filter((m) => m.claim?.active === true);
  const pool = claimants.length > 0 ? claimants : members;
  const sorted = [...pool].sort(longestRunningFirst);
  return sorted[0]?.memberId ?? null;
}

/**
 * Pure: every member's assignment. The chosen member gets `{ [topic]: [0] }` when partition 0
 * exists; every other member (and everyone, when it does not) gets nothing, which kafkajs
 * handles as a member with no partitions: it keeps heartbeating, and fetches nothing.
 */
export function leaderAssignment(
  members: readonly GroupMemberClaim[],
  topic: string,
  partitionExists: boolean,
): Map<string, Record<string, number[]>> {
  const active = partitionExists ? chooseActive(members) : null;
  const out = new Map<string, Record<string, number[]>>();
  for (const m of members) out.set(m.memberId, m.memberId === active ? { [topic]: [ACTIVE_PARTITION] } : {});
  return out;
}

/** Whether an assignment (as kafkajs decodes it) gives its member partition 0 of `topic`. */
export function ownsActivePartition(assignment: Readonly<Record<string, readonly number[]>> | null | undefined, topic: string): boolean {
  return assignment?.[topic]?.includes(ACTIVE_PARTITION) ?? false;
}

/**
 * Pure: the active member of a described group (DescribeGroups: each member's metadata and
 * assignment as the coordinator holds them), or null when no member owns partition 0.
 */
export function activeMemberOf(
  members: readonly { memberId: string; memberMetadata: Buffer; memberAssignment: Buffer }[],
  topic: string,
): { memberId: string; identity: MemberIdentity | null } | null {
  for (const m of members) {
    let assignment: Record<string, number[]> | undefined;
    try {
      assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment;
    } catch {
      continue;
    }
    if (!ownsActivePartition(assignment, topic)) continue;
    let claim: MemberClaim | null = null;
    try {
      claim = decodeClaim(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData);
    } catch {
      claim = null;
    }
    return { memberId: m.memberId, identity: claim?.identity ?? null };
  }
  return null;
}

/**
 * The kafkajs partition assigner. `claim` is read at every JoinGroup (kafkajs calls
 * `protocol()` each time it joins), so a member's metadata says what it is at that moment.
 */
export function leaderAssigner(topic: string, claim: () => MemberClaim): PartitionAssigner {
  return ({ cluster, logger }) => ({
    name: LEADER_ASSIGNER_NAME,
    version: 0,
    async assign({ members }) {
      const decoded: GroupMemberClaim[] = members.map(({ memberId, memberMetadata }) => {
        let c: MemberClaim | null = null;
        try {
          c = decodeClaim(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData);
        } catch {
          c = null;
        }
        return { memberId, claim: c };
      });
      const exists = cluster.findTopicPartitionMetadata(topic).some((p) => p.partitionId === ACTIVE_PARTITION);
      // Without partition 0 nobody can be active: say so where an operator looks.
      if (!exists) logger.warn(`election topic ${topic} has no partition ${ACTIVE_PARTITION}: no member can be active`, { topic });
      const plan = leaderAssignment(decoded, topic, exists);
      return [...plan].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return {
        name: LEADER_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: encodeClaim(claim()) }),
      };
    },
  });
}
