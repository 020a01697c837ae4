/**
 * The sink's ordered send queue: one produce request at a time, in call order, and nothing
 * after a failure. Without I/O of its own (it drives a `RoundProducer`), so that its rules
 * are unit-tested with a fake producer (test/unit/sink/send-queue.test.ts).
 *
 * ## Why one request at a time
 *
 * Records of one partition must land in the order given, across consecutive `send` calls
 * too, even when the caller does not await one send before issuing the next, and even when
 * kafkajs retries. kafkajs on its own does not keep order between concurrent `sendBatch`
 * calls: each call retries by itself (its own `retrier`), so if request A fails and B
 * (issued after A) succeeds, A's retry lands after B; even without a failure, each call
 * awaits its own metadata refresh (when the metadata is older than metadataMaxAge, or a
 * topic is new) before it reaches the socket, so two calls can overtake each other.
 * `maxInFlightRequests: 1` does not help (it only throttles the socket, and a failed A
 * leaves the queue), and kafkajs' idempotent mode, which locks a broker per request, rolls
 * its sequence numbers back on a failed request while a later request may already have
 * taken the next ones (kafkajs issue #598). So:
 *
 * - A `send` is checked and planned (grouped, cut into batches: produce-plan.ts) as soon as
 *   it is called, then queued; its requests go out only after every request of the sends
 *   before it was acknowledged. With one request at a time, a retry of A is always sent
 *   before anything after A. The price: one round trip per request (latency-bound on a
 *   distant broker; hence requests of up to a full max.message.bytes batch per partition);
 *   the caller's own work (reading the binlog, encoding) overlaps the round trip.
 * - The producer retries a failed request itself (kafkajs: `retry.retries` times with
 *   backoff). If it gives up, the send rejects, and so does every send queued after it,
 *   WITHOUT sending anything of them (a later record must not land when an earlier one did
 *   not). The queue then refuses sends until it is started again with a new producer
 *   (`KafkaSink.connect()`); the caller resends from its checkpoint.
 * - Retries may duplicate a request the broker wrote but whose answer was lost
 *   (at-least-once, as DTS; consumers filter repeats); duplicates stay in order (A, A, B).
 * - A transactional producer's commit (`commit()`, delivery exactly-once) is queued like a
 *   send: it goes once everything before it was acknowledged, and nothing after it goes
 *   before it has committed, so a transaction holds exactly the sends queued before it.
 */
import { SyncError } from '../errors.ts';
import { planProduce, type PlanOptions, type ProducePlan, type ProduceRound } from './produce-plan.ts';
import type { SinkMessage, SinkObserver } from './sink.ts';

/** What the queue needs of a connected producer. */
export interface RoundProducer {
  /**
   * Sends one round (one produce request) and resolves once the brokers acknowledged it.
   * Rejects with a SyncError once the producer's own retries are spent.
   */
  sendRound(round: ProduceRound): Promise<void>;
  /**
   * A transactional producer's: commits the transaction the rounds sent since the last
   * commit are in (the next round begins a new one). Absent for other producers.
   */
  commit?(): Promise<void>;
}

export interface SendQueueOptions {
  readonly plan: PlanOptions;
  /**
   * Learns the partitions and limits of topics the plan's `limits` did not know, so that
   * the send is planned again with them; rejects with a SyncError (e.g. the topic does not exist).
   */
  readonly learnTopics: (topics: string[]) => Promise<void>;
  /** Told of each plan as its send is queued, while the sends before it are still under way (the sink starts gzip there). */
  readonly queued?: (plan: ProducePlan) => void;
  /** What the queue sends to, for messages (e.g. the broker list). */
  readonly target: string;
  /** Turns what planning or learning topics threw, when it is not a SyncError, into one. */
  readonly toSyncError: (e: unknown, doing: string) => SyncError;
  readonly observer?: SinkObserver;
  /**
   * Asked right before each produce request: an error stops the send there, as a failed
   * request does (an instance that lost its election lease must not produce; src/ha).
   */
  readonly fence?: () => SyncError | null;
}

/** A transaction's commit, in the queue among the sends (SendQueue.commit). */
interface CommitItem {
  readonly last: () => readonly SinkMessage[];
}

/** The first failure by send order: what failed, and the send (by number) that failed. */
interface Failure {
  seq: number;
  error: SyncError;
}

const noop = (): void => {};

export class SendQueue {
  private readonly o: SendQueueOptions;
  private producer: RoundProducer | undefined;
  /** Settles when every queued send has settled; never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  private failure: Failure | undefined;

  constructor(options: SendQueueOptions) {
    this.o = options;
  }

  /** Whether a send now would be sent: started, and no send failed since. */
  get accepting(): boolean {
    return this.producer !== undefined && this.failure === undefined;
  }

  /** Settles (never rejects) once every send queued so far has settled. */
  settled(): Promise<void> {
    return this.tail;
  }

  /**
   * Sends go to `producer` from now on, and an earlier failure is forgotten. Only once
   * `settled()` resolved: a send queued before the failure must not reach the new producer.
   */
  start(producer: RoundProducer): void {
    this.producer = producer;
    this.failure = undefined;
    this.tail = Promise.resolve();
  }

  /** Sends not yet under way fail (not connected) from now on; returns the producer to close. */
  stop(): RoundProducer | undefined {
    const producer = this.producer;
    this.producer = undefined;
    return producer;
  }

  /**
   * Plans the send now and queues it behind the earlier ones; resolves once every round of
   * it was acknowledged. Rejects at once, without queuing, after an earlier failure or before
   * `start`, and when planning refuses a record (nothing of this send is sent then, while the
   * sends before it still are).
   */
  send(messages: readonly SinkMessage[]): Promise<void> {
    const seq = this.nextSeq++;
    if (this.failure !== undefined) return Promise.reject(this.notSent(this.failure));
    if (this.producer === undefined) {
      return Promise.reject(new SyncError('KAFKA_UNREACHABLE', `the Kafka sink is not connected to ${this.o.target}; call connect() first`));
    }
    let plan: ProducePlan;
    try {
      plan = planProduce(messages, this.o.plan);
    } catch (e) {
      const error = e instanceof SyncError ? e : this.o.toSyncError(e, 'preparing records');
      this.fail(seq, error);
      return Promise.reject(error);
    }
    this.o.queued?.(plan);
    const run = this.tail.then(() => this.execute(seq, messages, plan)).then(noop);
    this.tail = run.then(noop, noop);
    const observer = this.o.observer;
    if (observer !== undefined) {
      observer.sending(messages);
      run.then(() => observer.settled(messages, null), (e: SyncError) => observer.settled(messages, e));
    }
    return run;
  }

  /**
   * A transactional producer's commit, queued behind every send before it and ahead of every
   * send after it: once all the sends before it were acknowledged, and the callbacks their
   * callers chained on them ran, `last()` is asked for the records that close the
   * transaction (the checkpoint that covers it), they are sent, and the transaction
   * commits. Resolves once committed; rejects, and stops the queue as a failed send does,
   * when a send before it or the commit failed.
   */
  commit(last: () => readonly SinkMessage[]): Promise<void> {
    const seq = this.nextSeq++;
    if (this.failure !== undefined) return Promise.reject(this.notSent(this.failure));
    if (this.producer === undefined) {
      return Promise.reject(new SyncError('KAFKA_UNREACHABLE', `the Kafka sink is not connected to ${this.o.target}; call connect() first`));
    }
    const run = this.tail.then(() => this.executeCommit(seq, { last }));
    this.tail = run.then(noop, noop);
    return run;
  }

  private async executeCommit(seq: number, item: CommitItem): Promise<void> {
    if (this.failure !== undefined && this.failure.seq < seq) throw this.notSent(this.failure);
    // The callbacks chained on the sends before it run as microtasks: all of them have run
    // once a macrotask comes, so that `last()` describes every record of the transaction.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let messages: readonly SinkMessage[];
    try {
      messages = item.last();
    } catch (e) {
      throw this.fail(seq, e instanceof SyncError ? e : this.o.toSyncError(e, 'preparing the records that close a transaction'));
    }
    const plan = messages.length === 0 ? null : this.planOrFail(seq, messages);
    const producer = await this.execute(seq, messages, plan);
    if (producer.commit === undefined) throw this.fail(seq, new SyncError('ENCODE_FAILED', 'commit() on a sink whose producer is not transactional'));
    const fenced = this.o.fence?.() ?? null;
    if (fenced !== null) throw this.fail(seq, fenced);
    try {
      await producer.commit();
    } catch (e) {
      throw this.fail(seq, e instanceof SyncError ? e : this.o.toSyncError(e, 'committing a transaction'));
    }
  }

  private planOrFail(seq: number, messages: readonly SinkMessage[]): ProducePlan {
    try {
      return planProduce(messages, this.o.plan);
    } catch (e) {
      throw this.fail(seq, e instanceof SyncError ? e : this.o.toSyncError(e, 'preparing records'));
    }
  }

  /** Sends the plan's rounds (none without a plan); returns the producer they went to. */
  private async execute(seq: number, messages: readonly SinkMessage[], initialPlan: ProducePlan | null): Promise<RoundProducer> {
    // Failed while this send waited its turn: an earlier send failed, so this one must not land.
    if (this.failure !== undefined && this.failure.seq < seq) throw this.notSent(this.failure);
    const producer = this.producer;
    if (producer === undefined) {
      throw this.fail(seq, new SyncError('KAFKA_UNREACHABLE', `the Kafka sink was disconnected from ${this.o.target} before this send; connect() and send again`));
    }
    let plan = initialPlan;
    if (plan === null) return producer;
    if (plan.unknownTopics.length > 0) {
      try {
        await this.o.learnTopics(plan.unknownTopics);
        plan = planProduce(messages, this.o.plan);
      } catch (e) {
        throw this.fail(seq, e instanceof SyncError ? e : this.o.toSyncError(e, 'preparing records'));
      }
    }
    for (const round of plan.rounds) {
      const fenced = this.o.fence?.() ?? null;
      if (fenced !== null) throw this.fail(seq, fenced);
      try {
        await producer.sendRound(round);
      } catch (e) {
        throw this.fail(seq, e instanceof SyncError ? e : this.o.toSyncError(e, `sending ${round.records} records`));
      }
    }
    return producer;
  }

  /** Records the first failure (by send order) and returns the error. */
  private fail(seq: number, error: SyncError): SyncError {
    if (this.failure === undefined || seq < this.failure.seq) this.failure = { seq, error };
    this.o.observer?.connection(false);
    return error;
  }

  private notSent(failure: Failure): SyncError {
    return new SyncError(
      failure.error.code,
      `not sent, because an earlier send failed (records must land in order): ${failure.error.message}; connect() again and resend from the last checkpoint`,
      { cause: failure.error, retriable: failure.error.retriable },
    );
  }
}
