/**
 * The election of one active instance among those started on one config, on Kafka's own
 * group membership: every instance joins the group `groupId` subscribed to `topic` (one
 * partition); the member that owns partition 0 is active, the others stand by. Who is in
 * the group is the group coordinator's call (JoinGroup, heartbeats, session expiry); who gets
 * partition 0 is the sticky assigner's (leader-assigner.ts).
 *
 * Fencing without transactions: the coordinator expires a member `sessionTimeoutMs` after it
 * last received one of its heartbeats, and only then can another member get partition 0. So
 * the active one may produce only until `T + sessionTimeoutMs - margin`, T being a moment
 * known to precede the broker's receipt of its last successful heartbeat (`holdsLease`).
 * kafkajs (2.2.4) only says when an answer came (consumer.events.HEARTBEAT, after the
 * response), so T is taken from what must have happened before the request was sent:
 * - a heartbeat: kafkajs sends one at a time (ConsumerGroup's shared heartbeat promise,
 *   node_modules/kafkajs/src/consumer/consumerGroup.js), so heartbeat N+1 is sent after
 *   the answer to heartbeat N came; T = when that answer was seen (the network REQUEST
 *   event, emitted synchronously as the response is read, socketRequest.js `completed`),
 *   or when the consumer was made, for the first one;
 * - a join: the coordinator restarts every member's session when it hands out the
 *   assignments (GroupCoordinator.propagateAssignment), which follows our SyncGroup, which
 *   follows a JoinGroup answer; T = when the first JoinGroup answer since the previous
 *   assignment was seen (the first, not the last: a retried or concurrent join must not
 *   move T past the SyncGroup that got the assignment).
 * T is kept on the monotonic clock (performance.now(): it runs on while the process is
 * stopped) and on the wall clock (which also runs while a VM or host is suspended), and the
 * lease holds only while both say so. After a SIGSTOP longer than the session every
 * `holdsLease()` is false from the first instruction that runs, without waiting for any
 * timer or answer; the role then goes to standby (at once when `role` or `holdsLease` is
 * read, else by a timer), and kafkajs' rejoin (UNKNOWN_MEMBER_ID) brings a standby back.
 *
 * kafkajs heartbeats only inside its fetch loop (runner.js: after an empty fetch, after each
 * batch), so the consumer runs with an `eachBatch` that ignores what it reads and a short
 * `maxWaitTimeInMs`; it is never paused by us. kafkajs' own restart after a crash is off: a
 * crashed consumer is replaced by a new one (a new member) unless `stop()` was called.
 */
import { performance } from 'node:perf_hooks';
import type { Consumer, Kafka } from 'kafkajs';
import { SyncError } from '../errors.ts';
import { createKafkaConnection, type KafkaConnectionOptions } from '../sink/kafka-connection.ts';
import { kafkaErrorToSyncError } from '../sink/kafka-errors.ts';
import type { SinkLogger } from '../sink/kafkajs-log.ts';
import { activeMemberOf, leaderAssigner, ownsActivePartition, type MemberIdentity } from './leader-assigner.ts';

export type { MemberIdentity } from './leader-assigner.ts';

/** starting: before the first assignment; stopped: after `stop()`. */
export type Role = 'starting' | 'standby' | 'active' | 'stopped';

export interface ElectionOptions {
  /** How to reach Kafka (brokers, SASL, TLS): the client is made by createKafkaConnection. */
  readonly connection: KafkaConnectionOptions;
  /** The group all instances of one task join, e.g. `dts-task.<task>`. */
  readonly groupId: string;
  /** An existing topic whose partition 0 the active member owns (not created here). */
  readonly topic: string;
  /** The group session: how long the coordinator waits for a silent member (at least 4,000; brokers refuse less than their group.min.session.timeout.ms, 6,000 by default). */
  readonly sessionTimeoutMs: number;
  /** Who this instance is, told to the group for logs and a standby's /readyz. */
  readonly identity: MemberIdentity;
  readonly logger: SinkLogger;
}

/** The timings derived from the session, and why they are safe (see the module comment). */
export interface ElectionTimings {
  /** The lease ends this long before the broker could expire the member. */
  readonly marginMs: number;
  readonly heartbeatIntervalMs: number;
  /** An idle fetch returns after this long, and the loop heartbeats. */
  readonly maxWaitMs: number;
  /**
   * At least the session: a member that does not rejoin a rebalance is dropped at the
   * rebalance timeout, which must not come before its lease ends.
   */
  readonly rebalanceTimeoutMs: number;
}

export const MIN_SESSION_TIMEOUT_MS = 4_000;

/**
 * A heartbeat every tenth of the session (plus an idle fetch of half that), so that the
 * lease, which starts up to one heartbeat period before the heartbeat that renews it, still
 * spans a rebalance (each member notices one within a heartbeat period) with room to spare.
 */
export function electionTimings(sessionTimeoutMs: number): ElectionTimings {
  const heartbeatIntervalMs = Math.max(100, Math.round(sessionTimeoutMs / 10));
  return {
    marginMs: Math.max(2_000, Math.round(sessionTimeoutMs / 5)),
    heartbeatIntervalMs,
    maxWaitMs: Math.max(50, Math.round(heartbeatIntervalMs / 2)),
    rebalanceTimeoutMs: 2 * sessionTimeoutMs,
  };
}

/** A moment on both clocks. */
interface Instant {
  readonly mono: number;
  readonly wall: number;
}

function instantNow(): Instant {
  return { mono: performance.now(), wall: Date.now() };
}

const NEVER: Instant = { mono: Number.NEGATIVE_INFINITY, wall: Number.NEGATIVE_INFINITY };

export class Election {
  private readonly o: ElectionOptions;
  private readonly timings: ElectionTimings;
  private readonly kafka: Kafka;
  private readonly callbacks: ((role: Role, why: string) => void)[] = [];
  private readonly activeListeners: ((identity: MemberIdentity) => void)[] = [];
  private current: Role = 'starting';
  /** The live consumer and its number: events of an older one are ignored. */
  private consumer: Consumer | null = null;
  private incarnation = 0;
  /** Whether the live consumer's last assignment gave it partition 0. */
  private owns = false;
  /** Whether the live consumer got an assignment yet: until then the role stays `starting`. */
  private joined = false;
  /** When the lease was last renewed from (a moment before the broker restarted our session). */
  private leaseFrom: Instant = NEVER;
  /** Of the live consumer: the moment the next heartbeat is known to be sent after, and the one the heartbeat being answered was. */
  private heartbeatAfter: Instant = NEVER;
  private answeredHeartbeatAfter: Instant = NEVER;
  private firstJoinAnswer: Instant | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private respawnTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private active: MemberIdentity | null = null;
  private started: Promise<void> | null = null;
  private starting: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private stopping: Promise<void> | null = null;

  constructor(o: ElectionOptions) {
    if (!(o.sessionTimeoutMs >= MIN_SESSION_TIMEOUT_MS)) {
      throw new SyncError(
        'CONFIG_INVALID',
        `the election's session timeout ${o.sessionTimeoutMs} ms is too short for a membership lease: ` +
          `use at least ${MIN_SESSION_TIMEOUT_MS} ms (brokers refuse less than their group.min.session.timeout.ms, 6000 by default)`,
      );
    }
    this.o = o;
    this.timings = electionTimings(o.sessionTimeoutMs);
    this.kafka = createKafkaConnection(o.connection).kafka;
  }

  /**
   * Joins the group; resolves once this member's first assignment is known (the role is then
   * active or standby), or at `stop()`. Rejects with a SyncError when joining fails for a
   * reason no retry fixes (authentication, authorization, a missing topic); retriable
   * failures are retried. A second call returns the first one's promise.
   */
  start(): Promise<void> {
    if (this.started !== null) return this.started;
    if (this.stopping !== null) return (this.started = Promise.resolve());
    this.started = new Promise<void>((resolve, reject) => {
      this.starting = { resolve, reject };
    });
    this.spawn();
    return this.started;
  }

  get role(): Role {
    this.expireIfDue();
    return this.current;
  }

  /** `cb` is called, synchronously, on every change of role, with the reason. */
  onRoleChange(cb: (role: Role, why: string) => void): void {
    this.callbacks.push(cb);
  }

  /**
   * True only while this member is active and its membership lease holds: the broker cannot
   * have given partition 0 to another member yet. Check before every produce request.
   * `nowMs` is on performance.now()'s clock.
   */
  holdsLease(nowMs: number = performance.now()): boolean {
    const holds = this.current === 'active' && this.leaseValid(nowMs, Date.now());
    if (!holds) this.expireIfDue();
    return holds;
  }

  /** The active member's identity as last seen (this one's own while active), or null when unknown. */
  /** Tells `cb` the active member's identity each time a standby learns it (after each join). */
  onActiveIdentity(cb: (identity: MemberIdentity) => void): void {
    this.activeListeners.push(cb);
  }

  get activeIdentity(): MemberIdentity | null {
    return this.role === 'active' ? this.o.identity : this.active;
  }

  /**
   * Stops at once: the role becomes `stopped` (no lease) before the group is left, so that a
   * standby takes over without waiting for the session to time out.
   */
  stop(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.setRole('stopped', 'stop() was called');
    this.clearTimers();
    this.starting?.resolve();
    this.starting = null;
    const consumer = this.consumer;
    this.consumer = null;
    this.incarnation++;
    this.stopping = (consumer === null ? Promise.resolve() : consumer.disconnect()).catch((e: unknown) => {
      this.o.logger.warn({ groupId: this.o.groupId, err: (e as Error).message }, 'election: leaving the group failed; the coordinator drops this member when its session times out');
    });
    return this.stopping;
  }

  private leaseValid(mono: number, wall: number): boolean {
    const lease = this.o.sessionTimeoutMs - this.timings.marginMs;
    return mono < this.leaseFrom.mono + lease && wall < this.leaseFrom.wall + lease;
  }

  /** What this member tells the group leader at each join: active only while it holds its lease. */
  private claim(): { active: boolean; identity: MemberIdentity } {
    return { active: this.holdsLease(), identity: this.o.identity };
  }

  private setRole(role: Role, why: string): void {
    if (this.current === role || this.current === 'stopped') return;
    this.current = role;
    if (role === 'active') this.armLeaseTimer();
    for (const cb of this.callbacks) {
      try {
        cb(role, why);
      } catch (e) {
        this.o.logger.error({ groupId: this.o.groupId, err: (e as Error).message }, 'election: a role change callback threw');
      }
    }
  }

  /** Active, and the lease ran out: standby now, whatever else is pending. */
  private expireIfDue(): void {
    if (this.current === 'active' && !this.leaseValid(performance.now(), Date.now())) {
      this.setRole('standby', `the membership lease ran out (no successful heartbeat for ${this.o.sessionTimeoutMs - this.timings.marginMs} ms): another member may be active by now`);
    }
  }

  /** Active exactly while owning partition 0 with a valid lease; called on every news from the group. */
  private evaluate(why: string): void {
    if (this.current === 'stopped') return;
    if (this.owns && this.leaseValid(performance.now(), Date.now())) this.setRole('active', why);
    else if (this.current === 'active' || (this.current === 'starting' && this.joined)) this.setRole('standby', why);
  }

  private renew(from: Instant): void {
    if (from.mono > this.leaseFrom.mono) this.leaseFrom = from;
  }

  /** A timer at the end of the lease, so that the role changes even when nobody asks. */
  private armLeaseTimer(): void {
    if (this.leaseTimer !== null) return;
    const lease = this.o.sessionTimeoutMs - this.timings.marginMs;
    const wait = Math.max(0, Math.min(this.leaseFrom.mono + lease - performance.now(), this.leaseFrom.wall + lease - Date.now()));
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = null;
      this.expireIfDue();
      if (this.current === 'active') this.armLeaseTimer();
    }, Math.ceil(wait) + 1);
    this.leaseTimer.unref();
  }

  private clearTimers(): void {
    if (this.leaseTimer !== null) clearTimeout(this.leaseTimer);
    if (this.respawnTimer !== null) clearTimeout(this.respawnTimer);
    this.leaseTimer = null;
    this.respawnTimer = null;
  }

  /** A new consumer (a new member of the group), its events wired to this election. */
  private spawn(): void {
    const inc = ++this.incarnation;
    const { groupId, topic, sessionTimeoutMs, logger } = this.o;
    const t = this.timings;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: t.rebalanceTimeoutMs,
      heartbeatInterval: t.heartbeatIntervalMs,
      maxWaitTimeInMs: t.maxWaitMs,
      maxBytesPerPartition: 256 * 1024,
      // A missing election topic must not be created with the broker's default partitions.
      allowAutoTopicCreation: false,
      partitionAssigners: [leaderAssigner(topic, () => this.claim())],
      // We replace a crashed consumer ourselves (a fresh member, a fresh lease bookkeeping).
      retry: { restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    this.owns = false;
    this.heartbeatAfter = instantNow();
    this.answeredHeartbeatAfter = NEVER;
    this.firstJoinAnswer = null;
    const live = () => inc === this.incarnation;
    const { REQUEST, HEARTBEAT, GROUP_JOIN, REBALANCING, CRASH } = consumer.events;

    consumer.on(REQUEST, ({ payload }) => {
      if (!live()) return;
      if (payload.apiName === 'Heartbeat') {
        // This answer's heartbeat was sent after the previous answer; the next one will be sent after this one.
        this.answeredHeartbeatAfter = this.heartbeatAfter;
        this.heartbeatAfter = instantNow();
      } else if (payload.apiName === 'JoinGroup') {
        this.firstJoinAnswer ??= instantNow();
      }
    });
    consumer.on(HEARTBEAT, () => {
      if (!live()) return;
      this.renew(this.answeredHeartbeatAfter);
      this.evaluate(`a heartbeat confirmed this member owns partition 0 of ${topic}`);
    });
    consumer.on(GROUP_JOIN, ({ payload }) => {
      if (!live()) return;
      this.failures = 0;
      this.joined = true;
      this.owns = ownsActivePartition(payload.memberAssignment, topic);
      this.renew(this.firstJoinAnswer ?? NEVER);
      this.firstJoinAnswer = null;
      logger.debug({ groupId, memberId: payload.memberId, isLeader: payload.isLeader, owns: this.owns }, 'election: joined the group');
      this.evaluate(this.owns
        ? `this member got partition 0 of ${topic} in group ${groupId}`
        : `partition 0 of ${topic} belongs to another member of group ${groupId}`);
      if (this.owns) this.active = this.o.identity;
      else this.describeActive(inc, consumer);
      this.starting?.resolve();
      this.starting = null;
    });
    consumer.on(REBALANCING, ({ payload }) => {
      if (live()) logger.debug({ groupId, memberId: payload.memberId }, 'election: the group is rebalancing');
    });
    consumer.on(CRASH, ({ payload }) => this.failed(inc, payload.error));

    const run = async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        // Nothing to read: the loop runs for its heartbeats (kafkajs heartbeats after each batch and each empty fetch).
        eachBatch: async () => {},
      });
    };
    run().catch((e: unknown) => this.failed(inc, e));
  }

  /** The consumer `inc` crashed or could not start: standby, and a new member after a backoff. */
  private failed(inc: number, error: unknown): void {
    if (inc !== this.incarnation || this.stopping !== null) return;
    const { groupId, topic, connection, logger } = this.o;
    const err = kafkaErrorToSyncError(error, {
      doing: `taking part in the election of group ${groupId} on topic ${topic}`,
      brokers: connection.brokers,
      topics: [topic],
      ...(connection.sasl ? { sasl: connection.sasl } : {}),
    });
    const old = this.consumer;
    this.consumer = null;
    this.incarnation++;
    this.owns = false;
    old?.disconnect().catch(() => {});
    this.evaluate(`this member's consumer failed: ${err.message}`);
    if (this.starting !== null && !err.retriable) {
      const { reject } = this.starting;
      this.starting = null;
      this.setRole('stopped', err.message);
      this.stopping = Promise.resolve();
      reject(err);
      return;
    }
    const backoff = Math.min(30_000, 1_000 * 2 ** Math.min(this.failures, 5));
    this.failures++;
    logger.warn({ groupId, code: err.code, err: err.message, retryInMs: backoff }, 'election: the group consumer failed; joining again as a new member');
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = null;
      if (this.stopping === null) this.spawn();
    }, backoff);
  }

  /** Learns who the active member is (for a standby's logs and /readyz) from the coordinator. */
  private describeActive(inc: number, consumer: Consumer): void {
    consumer
      .describeGroup()
      .then((group) => {
        if (inc !== this.incarnation) return;
        const found = activeMemberOf(group.members, this.o.topic);
        this.active = found?.identity ?? null;
        if (this.active !== null) for (const cb of this.activeListeners) cb(this.active);
      })
      .catch((e: unknown) => {
        this.o.logger.debug({ groupId: this.o.groupId, err: (e as Error).message }, 'election: could not describe the group');
      });
  }
}
