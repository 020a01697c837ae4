/**
 * The tracked-data consumer: reads the DTS records of one topic, decodes each with the
 * project's decoder, hands it to a handler, and commits it only once the handler is done
 * (at-least-once; kafkajs' auto-commit is off).
 *
 * ```ts
 * const consumer = new DtsConsumer({ brokers: ['127.0.0.1:19092'], topic: 'dts_demo', group: 'g1' });
 * for await (const r of consumer) console.log(r.record.operation, r.record.objectName);
 * // or: await consumer.run(async (r) => { ... });   and consumer.stop() to end either
 * ```
 *
 * ## Where it starts, and what it stores
 *
 * start-offsets.ts has the rule. Checkpoints are UNIX seconds, as in DTS; a plain Kafka
 * cluster's offsetsForTimes takes milliseconds, so the consumer asks for seconds × 1000.
 * After each commit to the group (offset + `{"timestamp": s}` as the commit metadata) the
 * same is written to the local checkpoint file (local-checkpoint.ts).
 *
 * ## Processed, committed, repeated
 *
 * A record counts as processed when the handler's promise resolves (with `for await`: when
 * the loop asks for the next record; leaving the loop early leaves the last record
 * unprocessed). Processed offsets are committed every `commitIntervalMs` (0: after every
 * record), when the consumer stops, and never before the handler is done. After a crash a
 * restart repeats at most the records processed since the last commit; so may a restart
 * from a checkpoint timestamp (every record of that second). Consumers filter repeats by
 * `sourcePosition` + key (docs/consumer.md).
 *
 * ## Modes
 *
 * - assign: the listed partitions, through a group whose assignment we control
 *   (static-assigner.ts explains why: kafkajs has no assign API).
 * - subscribe: the group shares the partitions among its clients. A partition a client
 *   gets after its first assignment (another client died or left) continues from the
 *   group's committed offset: nothing committed is repeated, nothing is lost.
 *
 * On every assignment, partitions this client keeps are seeked back to its own position
 * (kafkajs would otherwise restart them from the last commit), and newly gained ones are
 * paused until their start is resolved, so no record is read from a wrong place.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaClient } from 'kafkajs';
import { SyncError } from '../errors.ts';
import { consumedRecord } from './consumed-record.ts';
import { consumerError } from './consumer-errors.ts';
import type { ConsumedRecord, ConsumerStats, DtsConsumerOptions, RecordHandler } from './consumer-types.ts';
import { type ConsumerLogger, createKafkaClient } from './kafka-client.ts';
import { type PartitionCheckpoint, readLocalCheckpoint, writeLocalCheckpoint } from './local-checkpoint.ts';
import { decideStart, offsetForTime, type StartDecision, timestampFromMetadata } from './start-offsets.ts';
import { ABANDONED, iterateRecords } from './record-iterator.ts';
import { staticAssigner } from './static-assigner.ts';

export type { ConsumedRecord, ConsumerStats, DtsConsumerOptions, RecordHandler } from './consumer-types.ts';

const { PartitionAssigners } = kafkajs;

const noop = (): void => {};
const silentLogger: ConsumerLogger = { debug: noop, info: noop, warn: noop, error: noop };


interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

export class DtsConsumer implements AsyncIterable<ConsumedRecord> {
  private readonly o: DtsConsumerOptions;
  private readonly log: ConsumerLogger;
  private readonly kafka: KafkaClient;
  private readonly mode: 'assign' | 'subscribe';
  private readonly wanted: readonly number[];
  private readonly commitEnabled: boolean;
  private readonly commitIntervalMs: number;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private failure: SyncError | Error | undefined;
  private readonly done = deferred();
  /** partitions whose start is resolved → the next offset to process */
  private readonly positions = new Map<number, bigint>();
  /** processed, not yet committed */
  private readonly pending = new Map<number, PartitionCheckpoint>();
  /** what the local file holds: its content at start, then every successful commit */
  private readonly committed = new Map<number, PartitionCheckpoint>();
  /** exitAtEnd: the high watermarks at the start */
  private readonly ends = new Map<number, bigint>();
  private joinedOnce = false;
  private joinGeneration = 0;
  private committing: Promise<void> | null = null;
  private lastCommitAt = Date.now();
  private commitTimer: NodeJS.Timeout | undefined;
  private batchInFlight: Deferred | null = null;
  private abandonIteratorRecord: (() => void) | null = null;
  private records = 0;
  private skipped = 0;

  constructor(options: DtsConsumerOptions) {
    if (options.brokers.length === 0) throw new RangeError('DtsConsumer needs at least one broker');
    this.o = options;
    this.log = options.logger ?? silentLogger;
    this.mode = options.mode ?? 'assign';
    this.wanted = this.mode === 'assign' ? [...new Set(options.partitions ?? [0])].sort((a, b) => a - b) : [];
    this.commitEnabled = options.commit ?? true;
    this.commitIntervalMs = options.commitIntervalMs ?? 1000;
    if (options.exitAtEnd && this.mode !== 'assign') throw new RangeError('exitAtEnd needs assign mode');
    this.kafka = createKafkaClient({
      brokers: options.brokers,
      clientId: options.clientId ?? 'dts-consumer',
      logger: this.log,
      ...(options.sasl ? { sasl: options.sasl } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
    });
  }

  get stats(): ConsumerStats {
    return { records: this.records, skipped: this.skipped };
  }

  /** The partitions this client reads now, in order. */
  get assignedPartitions(): number[] {
    return [...this.positions.keys()].sort((a, b) => a - b);
  }

  /**
   * Consumes until `stop()` (or, with exitAtEnd, the end); resolves once stopped, with the
   * processed records committed. Rejects with the handler's error (that record is not
   * committed) or a SyncError (DECODE_FAILED for a message that is not a DTS record,
   * KAFKA_UNREACHABLE, KAFKA_TOPIC_MISSING, CONSUMER_GROUP_CONFLICT, CHECKPOINT_CORRUPT).
   */
  async run(handler: RecordHandler): Promise<void> {
    if (this.started) throw new Error('a DtsConsumer runs once; create a new one to consume again');
    this.started = true;
    try {
      await this.prepare();
      if (!this.stopping) await this.startConsumer(handler);
    } catch (e) {
      this.fail(e);
    }
    await this.done.promise;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops: waits for the record being processed, commits, leaves the group. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  /**
   * The records one by one. A record is processed (and will be committed) when the loop asks
   * for the next one; `break` or a throw in the loop body stops the consumer and leaves the
   * record in hand unprocessed, so a restart repeats it.
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    return iterateRecords({
      run: (handler) => this.run(handler),
      stop: () => this.stop(),
      onAbandon: (abandon) => { this.abandonIteratorRecord = abandon; },
    });
  }

  /** Topic metadata, the local checkpoint, the ends (exitAtEnd). */
  private async prepare(): Promise<void> {
    const { topic, group } = this.o;
    if (this.o.checkpointFile) {
      const local = readLocalCheckpoint(this.o.checkpointFile, topic, group);
      for (const [p, c] of local?.partitions ?? []) this.committed.set(p, c);
    }
    this.admin = this.kafka.admin();
    let partitions: number[];
    try {
      await this.admin.connect();
      if (!(await this.admin.listTopics()).includes(topic)) {
        throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${this.o.brokers.join(', ')} has no topic ${topic}; check the option topic (the synchronizer creates its topics when it starts)`);
      }
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
      partitions = (topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
    } catch (e) {
      throw this.kafkaError(e, 'connecting');
    }
    const missing = this.wanted.filter((p) => !partitions.includes(p));
    if (missing.length > 0) {
      throw new SyncError(
        'CONFIG_INVALID',
        `topic ${topic} has no partition ${missing.join(', ')} (it has ${partitions.join(', ')}); fix partitions`,
      );
    }
    if (this.o.exitAtEnd) {
      for (const w of await this.admin.fetchTopicOffsets(topic)) {
        if (this.wanted.includes(w.partition)) this.ends.set(w.partition, BigInt(w.high));
      }
    }
  }

  private async startConsumer(handler: RecordHandler): Promise<void> {
    const { topic, group } = this.o;
    const sessionTimeout = this.o.sessionTimeoutMs ?? 30_000;
    const consumer = this.kafka.consumer({
      groupId: group,
      partitionAssigners: this.mode === 'assign' ? [staticAssigner(this.wanted)] : [PartitionAssigners.roundRobin],
      sessionTimeout,
      // A dead client's partitions move after sessionTimeout; a live one answers well within it.
      heartbeatInterval: Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3))),
      rebalanceTimeout: Math.max(sessionTimeout, 60_000),
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      retry: {
        retries: this.o.retries ?? 5,
        restartOnFailure: async (e) => {
          this.log.warn({ err: e.message }, 'the Kafka consumer failed; rejoining the group');
          return !this.stopping;
        },
      },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment));
    // A fetch of only transaction markers or aborted records reaches no eachBatch; its offsets hold nothing to read.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.batchSize === 0 && e.payload.topic === topic) this.skipTo(e.payload.partition, e.payload.lastOffset);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart && !this.stopping) this.fail(e.payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
    } catch (e) {
      throw this.kafkaError(e, `joining group ${group}`);
    }
    if (this.commitEnabled && this.commitIntervalMs > 0) {
      this.commitTimer = setInterval(() => {
        if (this.pending.size > 0 && Date.now() - this.lastCommitAt >= this.commitIntervalMs) void this.commit();
      }, Math.min(this.commitIntervalMs, 1000));
      this.commitTimer.unref();
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload, handler),
    });
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    const { topic } = this.o;
    const consumer = this.consumer!;
    const assigned = [...(memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    const generation = ++this.joinGeneration;
    const first = !this.joinedOnce;
    this.joinedOnce = true;
    if (this.mode === 'assign') {
      const missing = this.wanted.filter((p) => !assigned.includes(p));
      if (missing.length > 0) {
        this.fail(new SyncError(
          'CONSUMER_GROUP_CONFLICT',
          `partition ${missing.join(', ')} of topic ${topic} is already read by another assign-mode client of group ${this.o.group}; ` +
            'give each client its own group, or its own partitions',
        ));
        return;
      }
    }
    this.log.info({ topic, group: this.o.group, partitions: assigned }, `assigned partitions [${assigned.join(', ')}] of ${topic}`);
    const now = new Set(assigned);
    for (const p of [...this.positions.keys()]) {
      if (now.has(p)) continue;
      // Another client has it now and starts from the last commit; what was processed here
      // since then is repeated there (at-least-once).
      this.positions.delete(p);
      this.pending.delete(p);
      this.log.info({ partition: p }, `partition ${p} moved to another client of the group`);
    }
    for (const p of assigned) {
      const position = this.positions.get(p);
      if (position !== undefined) consumer.seek({ topic, partition: p, offset: position.toString() });
    }
    const gained = assigned.filter((p) => !this.positions.has(p));
    if (gained.length === 0) {
      this.checkEnd();
      return;
    }
    consumer.pause([{ topic, partitions: gained }]);
    const applyConfigured = first && (this.o.useConfigCheckpoint ?? true);
    this.resolveStarts(gained, applyConfigured, generation).catch((e: unknown) => this.fail(this.kafkaError(e, 'finding where to start')));
  }

  private async resolveStarts(gained: number[], applyConfigured: boolean, generation: number): Promise<void> {
    const { topic, group } = this.o;
    const admin = this.admin!;
    const [watermarks, committedTopics] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      this.commitEnabled ? admin.fetchOffsets({ groupId: group, topics: [topic] }) : Promise.resolve([]),
    ]);
    const committed = new Map<number, { offset: bigint; timestamp: number | null }>();
    for (const p of committedTopics.find((t) => t.topic === topic)?.partitions ?? []) {
      const offset = BigInt(p.offset);
      if (offset >= 0n) committed.set(p.partition, { offset, timestamp: timestampFromMetadata(p.metadata) });
    }
    const configured = this.o.checkpoint ?? null;
    const decisions = new Map<number, { decision: StartDecision; high: bigint }>();
    for (const p of gained) {
      const w = watermarks.find((x) => x.partition === p);
      const low = BigInt(w?.low ?? '0');
      const high = BigInt(w?.high ?? '0');
      const local = this.committed.get(p);
      const decision = decideStart({
        low,
        high,
        committed: committed.get(p) ?? null,
        local: local === undefined ? null : { offset: local.offset, timestamp: local.timestamp },
        configured,
        applyConfigured,
      });
      decisions.set(p, { decision, high });
    }
    // A plain Kafka cluster's ListOffsets takes milliseconds; checkpoints are seconds.
    const byTime = new Map<number, Map<number, bigint>>();
    for (const { decision } of decisions.values()) {
      if (decision.kind !== 'timestamp' || byTime.has(decision.seconds)) continue;
      const answer = await admin.fetchTopicOffsetsByTimestamp(topic, decision.seconds * 1000);
      byTime.set(decision.seconds, new Map(answer.map((a) => [a.partition, BigInt(a.offset)])));
    }
    if (generation !== this.joinGeneration || this.stopping) return; // a newer assignment took over
    for (const [p, { decision, high }] of decisions) {
      const offset = decision.kind === 'offset' ? decision.offset : offsetForTime(byTime.get(decision.seconds)?.get(p) ?? -1n, high);
      this.positions.set(p, offset);
      this.consumer!.seek({ topic, partition: p, offset: offset.toString() });
      this.log.info({ topic, partition: p, offset: offset.toString() }, `partition ${p}: starting at offset ${offset} (${decision.reason})`);
    }
    this.consumer!.resume([{ topic, partitions: gained }]);
    this.checkEnd();
  }

  private async eachBatch(payload: EachBatchPayload, handler: RecordHandler): Promise<void> {
    if (this.stopping) return;
    const { batch } = payload;
    const partition = batch.partition;
    const inFlight = deferred();
    this.batchInFlight = inFlight;
    try {
      for (const message of batch.messages) {
        if (this.stopping || !payload.isRunning() || payload.isStale()) break;
        const position = this.positions.get(partition);
        if (position === undefined) break; // not ours (any more), or its start is not resolved yet
        const offset = BigInt(message.offset);
        if (offset < position) continue;
        let record: ConsumedRecord | null;
        try {
          record = consumedRecord(batch.topic, partition, offset, message);
        } catch (e) {
          this.fail(e);
          break;
        }
        if (record !== null) {
          try {
            await handler(record);
          } catch (e) {
            if (e !== ABANDONED) this.fail(e);
            break;
          }
          this.records++;
        } else {
          this.skipped++;
        }
        payload.resolveOffset(message.offset);
        if (this.positions.has(partition)) {
          this.positions.set(partition, offset + 1n);
          const timestamp = record !== null ? Number(record.raw.sourceTimestamp) : Math.floor(Number(message.timestamp) / 1000);
          if (this.commitEnabled) this.pending.set(partition, { offset: offset + 1n, timestamp });
        }
        if (this.commitEnabled && Date.now() - this.lastCommitAt >= this.commitIntervalMs) await this.commit();
        if (this.checkEnd()) break;
        // Heartbeats are rate-limited by kafkajs; a rebalance shows here as an error kafkajs handles.
        await payload.heartbeat();
      }
      // Read to its end: the transaction markers and aborted records after the last message are passed too.
      const last = batch.messages[batch.messages.length - 1];
      if (last !== undefined && this.positions.get(partition) === BigInt(last.offset) + 1n) this.skipTo(partition, batch.lastOffset());
    } finally {
      this.batchInFlight = null;
      inFlight.resolve();
    }
  }

  /**
   * Moves the position past offsets that hold nothing to read (a transactional producer's
   * commit and abort markers, the records of aborted transactions; read_committed skips
   * them), so that the end of a partition whose last offset is a marker is reached too.
   */
  private skipTo(partition: number, lastOffset: string): void {
    const position = this.positions.get(partition);
    if (position === undefined || this.stopping || !/^\d+$/.test(lastOffset) || BigInt(lastOffset) + 1n <= position) return;
    this.positions.set(partition, BigInt(lastOffset) + 1n);
    this.checkEnd();
  }

  /** exitAtEnd: whether every partition reached its end; if so, stops. */
  private checkEnd(): boolean {
    if (!this.o.exitAtEnd || this.stopping) return false;
    for (const p of this.wanted) {
      const position = this.positions.get(p);
      if (position === undefined || position < (this.ends.get(p) ?? 0n)) return false;
    }
    this.log.info({ topic: this.o.topic }, 'read every partition to its end: stopping');
    void this.stop();
    return true;
  }

  /** Commits the processed offsets; never throws (a failed commit is retried with the next). */
  private commit(): Promise<void> {
    if (!this.commitEnabled || this.consumer === undefined) return Promise.resolve();
    if (this.committing !== null) return this.committing.then(() => (this.pending.size > 0 ? this.commit() : undefined));
    this.lastCommitAt = Date.now();
    if (this.pending.size === 0) return Promise.resolve();
    const { topic, group } = this.o;
    const entries = [...this.pending];
    this.pending.clear();
    this.committing = (async () => {
      try {
        await this.consumer!.commitOffsets(entries.map(([partition, c]) => ({
          topic,
          partition,
          offset: c.offset.toString(),
          metadata: JSON.stringify({ timestamp: c.timestamp }),
        })));
      } catch (e) {
        // Put back what no newer offset replaced; the next commit takes it.
        for (const [p, c] of entries) if (!this.pending.has(p) && this.positions.has(p)) this.pending.set(p, c);
        this.log.warn({ err: (e as Error).message }, 'committing the processed offsets failed; trying again with the next commit');
        return;
      }
      for (const [p, c] of entries) this.committed.set(p, c);
      this.log.debug({ offsets: entries.map(([p, c]) => `${p}@${c.offset}`) }, 'committed');
      if (this.o.checkpointFile) {
        try {
          writeLocalCheckpoint(this.o.checkpointFile, { topic, group, partitions: this.committed });
        } catch (e) {
          this.log.error({ file: this.o.checkpointFile, err: (e as Error).message }, 'cannot write the local checkpoint file (the group still has the commit)');
        }
      }
    })().finally(() => {
      this.committing = null;
    });
    return this.committing;
  }

  private fail(e: unknown): void {
    if (this.failure === undefined && e !== ABANDONED) {
      this.failure = e instanceof SyncError ? e : e instanceof Error && !isKafkaError(e) ? e : this.kafkaError(e, 'consuming');
      this.log.error({ err: this.failure.message }, 'the consumer stops');
    }
    void this.stop();
  }

  private kafkaError(e: unknown, doing: string): SyncError {
    const { brokers, topic, group, sasl } = this.o;
    return consumerError(e, { doing: `${doing} (topic ${topic}, group ${group})`, brokers, topic, group, ...(sasl ? { sasl } : {}) });
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.abandonIteratorRecord?.();
    if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
    // The record in hand finishes first; then its offset is committed while still a member.
    while (this.batchInFlight !== null) await this.batchInFlight.promise;
    if (this.consumer !== undefined) {
      await this.commit();
      await this.consumer.disconnect().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'leaving the group failed'));
    }
    await this.admin?.disconnect().catch(noop);
    this.done.resolve();
  }
}

/** kafkajs' errors are named KafkaJS...; everything else (a handler's own error) passes through as it is. */
function isKafkaError(e: Error): boolean {
  return e.name.startsWith('KafkaJS');
}
