/**
 * The checkpoint kept in a compacted Kafka topic (`checkpoint.store: kafka`), so that an
 * instance on another host can take over where the active one stopped: one record per
 * write, keyed by the task name, its value the same JSON document the checkpoint file holds
 * (validated on read by the file's own rules, `parseCheckpoint`). Compaction keeps the last
 * value of each key; a tombstone (null value) means "no checkpoint".
 *
 * One partition, always: the election (election.ts) makes the member that owns the topic's
 * single partition the active one, and one partition also gives every write of a task one
 * total order. A topic with more partitions is refused; one without compaction is used with
 * a warning (retention would delete the checkpoint of a task that stopped writing).
 *
 * Reading takes committed data only (READ_COMMITTED fetches, kafkajs' default), because the
 * exactly-once path writes the checkpoint inside its Kafka transactions: a checkpoint of an
 * aborted transaction must never be resumed from.
 *
 * Works from Kafka 0.10.1 (CreateTopics with configs); DescribeConfigs, used to check the
 * cleanup policy of an existing topic, came with 0.11: on older brokers the policy is not
 * checked, and that is logged.
 */
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { type Checkpoint, parseCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { SyncError } from '../errors.ts';
import { createKafkaConnection, type KafkaConnectionOptions } from '../sink/kafka-connection.ts';
import { errorChain, kafkaErrorToSyncError, protocolErrorType } from '../sink/kafka-errors.ts';
import type { SinkLogger } from '../sink/kafkajs-log.ts';
import type { SinkMessage } from '../sink/sink.ts';

const { ConfigResourceTypes, Partitioners } = kafkajs;

/** What a store keeps: the checkpoint without the fields written with each record. */
export type CheckpointDocument = Omit<Checkpoint, 'version' | 'updatedAt'>;

/** The topic's only partition: everything is written to and read from it. */
export const CHECKPOINT_PARTITION = 0;

const [DEFAULT_READ_TIMEOUT_MS, DEFAULT_TOPIC_WAIT_MS, DEFAULT_ACK_TIMEOUT_MS] = [60_000, 30_000, 30_000];

export interface KafkaCheckpointStoreOptions {
  /** The cluster and how to reach it (SASL, TLS): the same options the sink takes. */
  readonly connection: KafkaConnectionOptions;
  /** The compacted checkpoint topic (checkpoint.topic, default `<kafka.clientId>.checkpoints`). */
  readonly topic: string;
  /** Where the store's own messages go (default: the connection's logger). */
  readonly logger?: SinkLogger;
  /** How long `read` may take before it gives up with a retriable KAFKA_UNREACHABLE (default 60 s). */
  readonly readTimeoutMs?: number;
  /** How long to wait for a created topic to have a leader (default 30 s). */
  readonly topicWaitMs?: number;
  /** How long the brokers may take to acknowledge a write (default 30 s). */
  readonly ackTimeoutMs?: number;
}

/** How messages name the checkpoint of `task`. */
export function checkpointWhere(topic: string, task: string): string {
  return `checkpoint of task ${JSON.stringify(task)} in topic ${topic}`;
}

/** What to do about a corrupt checkpoint record: the Kafka counterpart of the file's fix. */
export function corruptCheckpointFix(topic: string, task: string): string {
  return (
    `To start anyway, write a tombstone (key ${JSON.stringify(task)}, null value) to topic ${topic} and give the start explicitly ` +
    '(--start-position FILE:POS or --start-timestamp SECONDS), or without one start from the current end of the binlog ' +
    '(mode incremental) or with a fresh snapshot (mode initial).'
  );
}

function assertTask(task: string): void {
  if (typeof task !== 'string' || task === '') throw new TypeError(`a checkpoint task name must be a non-empty string, got ${JSON.stringify(task)}`);
}

/**
 * The record that stores `checkpoint` for `task` in `topic`: the document `writeCheckpoint`
 * writes (version 1, stamped with `now`), as compact JSON, keyed by the task name, for the
 * topic's one partition. Pure, so that the exactly-once path can put it in its own
 * transaction next to the records it covers.
 */
export function checkpointMessage(topic: string, task: string, checkpoint: CheckpointDocument, now: Date = new Date()): SinkMessage {
  assertTask(task);
  const full: Checkpoint = { version: 1, ...checkpoint, updatedAt: now.toISOString() };
  return {
    topic,
    partition: CHECKPOINT_PARTITION,
    key: Buffer.from(task, 'utf8'),
    value: Buffer.from(JSON.stringify(full), 'utf8'),
    timestamp: String(now.getTime()),
  };
}

/** The checkpoint in a record's value (null for a tombstone), or CHECKPOINT_CORRUPT naming the task, topic and offset. */
export function parseCheckpointRecord(topic: string, task: string, value: Buffer | null, offset: string): Checkpoint | null {
  if (value === null) return null;
  return parseCheckpoint(value.toString('utf8'), `${checkpointWhere(topic, task)} (offset ${offset})`, corruptCheckpointFix(topic, task));
}

/** Whether a topic's cleanup.policy (e.g. `compact`, `compact,delete`) compacts. */
export function compacts(cleanupPolicy: string | undefined): boolean {
  return cleanupPolicy !== undefined && cleanupPolicy.split(',').some((p) => p.trim() === 'compact');
}

/** Replication factor of a created checkpoint topic: 3 where the cluster has them, else every broker. */
export function checkpointReplicationFactor(brokers: number): number {
  return Math.max(1, Math.min(3, brokers));
}

/** The error for a checkpoint topic of the wrong shape: the election needs exactly one partition. */
export function tooManyPartitionsError(topic: string, partitions: number): SyncError {
  return new SyncError(
    'CONFIG_INVALID',
    `checkpoint topic ${topic} has ${partitions} partitions; checkpoint.store kafka needs exactly 1 (the active instance is the one that owns ` +
      'its single partition, and each task\'s checkpoints must stay in one order). Set checkpoint.topic to a topic that does not exist yet ' +
      `(it is created with 1 partition, compacted), or delete ${topic} if it holds nothing else`,
  );
}

/** The warning for an existing checkpoint topic that is not compacted, with the fix. */
export function notCompactedWarning(topic: string, cleanupPolicy: string | undefined, broker: string): string {
  return (
    `checkpoint topic ${topic} has cleanup.policy=${cleanupPolicy ?? '(unknown)'}, not compact: Kafka deletes old records by retention, ` +
    'and with them the checkpoint of a task that stops writing for longer than retention.ms. Make it compacted: ' +
    `kafka-configs.sh --bootstrap-server ${broker} --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact ` +
    '(on Kafka before 2.2: --zookeeper ZK instead of --bootstrap-server)'
  );
}

/** A record as the scan sees it. */
export interface ScannedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/**
 * The last record of one task in the partition below `end`, from what a consumer hands on.
 * Pure. Records at or after `end` (written after the read began) are left out, so that a
 * read returns the state of the partition as of its start, whatever the fetch brought back.
 */
export class CheckpointScan {
  private readonly key: Buffer;
  private readonly end: bigint;
  private position = -1n;
  private found: { offset: string; value: Buffer | null } | null = null;

  constructor(task: string, end: bigint) {
    assertTask(task);
    this.key = Buffer.from(task, 'utf8');
    this.end = end;
  }

  /** The records of one fetched batch (control records and aborted transactions already left out). */
  add(records: readonly ScannedRecord[]): void {
    for (const r of records) {
      if (BigInt(r.offset) >= this.end) continue;
      if (r.key !== null && this.key.equals(r.key)) this.found = { offset: r.offset, value: r.value };
    }
  }

  /**
   * A batch up to `lastOffset` was handed on (including control records and aborted ones the
   * consumer filtered out); returns whether the read reached its end.
   */
  reached(lastOffset: string): boolean {
    this.position = BigInt(lastOffset) > this.position ? BigInt(lastOffset) : this.position;
    return this.done;
  }

  get done(): boolean {
    return this.position + 1n >= this.end;
  }

  /** The offset after the last one handed on so far, for messages. */
  get next(): string { return String(this.position + 1n); }

  /** The task's last record below the end, or null when it has none. */
  get last(): { offset: string; value: Buffer | null } | null { return this.found; }
}

const noop = (): void => {};

/**
 * The checkpoints of one or more tasks in one compacted topic. `connect` makes sure the
 * topic exists and has the right shape; `read` and `write` connect when needed.
 */
export class KafkaCheckpointStore {
  readonly topic: string;
  private readonly o: KafkaCheckpointStoreOptions;
  private readonly kafka: Kafka;
  private readonly logger: SinkLogger;
  private connecting: Promise<Admin> | undefined;
  private admin: Admin | undefined;
  private producing: Promise<Producer> | undefined;
  /** the write under way, so that the next one goes out after it: one in flight keeps call order */
  private writing: Promise<void> = Promise.resolve();

  constructor(o: KafkaCheckpointStoreOptions) {
    this.o = o;
    this.topic = o.topic;
    this.logger = o.logger ?? o.connection.logger;
    this.kafka = createKafkaConnection(o.connection).kafka;
  }

  /** Connects the admin client and makes sure the topic exists with one partition (creating it compacted when missing). */
  async connect(): Promise<void> {
    if (this.connecting === undefined) {
      this.connecting = this.connectAdmin();
      // A failed connect is tried afresh by the next call.
      this.connecting.catch(() => {
        this.connecting = undefined;
      });
    }
    await this.connecting;
  }

  /**
   * The last committed checkpoint of `task`, or null when it has none (no record, or a
   * tombstone last). Reads the partition from its start up to its end as the read begins
   * (the last stable offset: ListOffsets asked READ_COMMITTED, as kafkajs' admin asks it) and
   * stops there, so a checkpoint written meanwhile is not waited for.
   *
   * An open transaction holds the last stable offset where it began: a checkpoint committed
   * after that is not seen until the transaction ends. So the caller fences an earlier
   * producer of the task first (initTransactions with the task's transactional.id aborts
   * what it left open), then reads. The read is bounded by readTimeoutMs and fails then with
   * a retriable KAFKA_UNREACHABLE.
   *
   * The records are fetched by a consumer of a group of its own (`<clientId>.checkpoint-reader.<random>`,
   * kafkajs fetches only in a group) that never commits and leaves when done: with ACLs, the
   * user needs READ on that group prefix and on the topic.
   */
  async read(task: string): Promise<Checkpoint | null> {
    assertTask(task);
    await this.connect();
    const doing = `reading the ${checkpointWhere(this.topic, task)}`;
    let low: bigint;
    let end: bigint;
    try {
      const offsets = await this.admin!.fetchTopicOffsets(this.topic);
      const p = offsets.find((o) => o.partition === CHECKPOINT_PARTITION);
      if (p === undefined) throw new SyncError('KAFKA_TOPIC_MISSING', `checkpoint topic ${this.topic} shows no partition ${CHECKPOINT_PARTITION}`, { retriable: true });
      [low, end] = [BigInt(p.low), BigInt(p.high)];
    } catch (e) {
      throw this.toSyncError(e, doing);
    }
    if (end <= low) {
      this.logger.debug({ topic: this.topic, task }, `no ${checkpointWhere(this.topic, task)}: the topic is empty`);
      return null;
    }
    const last = await this.scan(task, end, doing);
    if (last === null) {
      this.logger.debug({ topic: this.topic, task, end: String(end) }, `no ${checkpointWhere(this.topic, task)}`);
      return null;
    }
    const checkpoint = parseCheckpointRecord(this.topic, task, last.value, last.offset);
    this.logger.debug({ topic: this.topic, task, offset: last.offset, tombstone: checkpoint === null }, `read the ${checkpointWhere(this.topic, task)}`);
    return checkpoint;
  }

  /** The record `write` would produce now: for a caller that produces it itself (in its own transaction). */
  writeMessage(task: string, checkpoint: CheckpointDocument): SinkMessage {
    return checkpointMessage(this.topic, task, checkpoint);
  }

  /**
   * Produces the checkpoint of `task` (acks from all in-sync replicas) and resolves once it
   * is acknowledged. Calls land in call order: each write goes out after the one before it
   * settled. Rejects with a SyncError (KAFKA_UNREACHABLE, retriable when the brokers may be
   * back later); a failed write does not stop the next.
   */
  write(task: string, checkpoint: CheckpointDocument): Promise<void> {
    const message = this.writeMessage(task, checkpoint);
    const result = this.writing.then(() => this.produce(message, task));
    this.writing = result.catch(noop);
    return result;
  }

  /** `task`'s checkpoint as a store of one task: what the checkpoint writer takes. */
  forTask(task: string): { readonly where: string; write(doc: CheckpointDocument): Promise<void> } {
    assertTask(task);
    return { where: checkpointWhere(this.topic, task), write: (doc) => this.write(task, doc) };
  }

  /** Waits for the write under way, then closes the connections. */
  async close(): Promise<void> {
    await this.writing;
    const { connecting, producing } = this;
    [this.connecting, this.producing, this.admin] = [undefined, undefined, undefined];
    await Promise.all([connecting?.then((a) => a.disconnect()).catch(noop), producing?.then((p) => p.disconnect()).catch(noop)]);
  }

  private async connectAdmin(): Promise<Admin> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
    } catch (e) {
      await admin.disconnect().catch(noop);
      throw this.toSyncError(e, 'connecting the admin client');
    }
    try {
      await this.ensureTopic(admin);
    } catch (e) {
      await admin.disconnect().catch(noop);
      throw e;
    }
    this.admin = admin;
    return admin;
  }

  private async ensureTopic(admin: Admin): Promise<void> {
    const { topic } = this;
    const doing = `checking checkpoint topic ${topic}`;
    let created = false;
    try {
      if (!(await admin.listTopics()).includes(topic)) created = await this.createTopic(admin);
    } catch (e) {
      throw this.toSyncError(e, doing);
    }
    let partitions: number;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      partitions = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    } catch (e) {
      throw this.toSyncError(e, doing);
    }
    if (partitions > 1) throw tooManyPartitionsError(topic, partitions);
    if (partitions === 0) {
      throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${this.brokers} shows no partition of checkpoint topic ${topic}; check the brokers' health and retry`, { retriable: true });
    }
    // A topic this store created is compacted; one found, or made by another host meanwhile, may not be.
    if (!created) await this.checkCompaction(admin);
  }

  /** Creates the topic (1 partition, compacted); false when another host created it first. */
  private async createTopic(admin: Admin): Promise<boolean> {
    const { topic } = this;
    const waitMs = this.o.topicWaitMs ?? DEFAULT_TOPIC_WAIT_MS;
    const { brokers } = await admin.describeCluster();
    const replicationFactor = checkpointReplicationFactor(brokers.length);
    let created: boolean;
    try {
      created = await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        waitForLeaders: true,
        timeout: waitMs,
      });
    } catch (e) {
      const mapped = this.toSyncError(e, `creating checkpoint topic ${topic}`);
      const type = protocolErrorType(e);
      if (mapped.retriable || type === undefined || type.includes('AUTHORIZATION')) throw mapped;
      throw new SyncError(
        'KAFKA_TOPIC_MISSING',
        `Kafka at ${this.brokers} could not create checkpoint topic ${topic}: ${type} (${mapped.message}); create it by hand with 1 partition ` +
          `and cleanup.policy=compact (kafka-topics.sh --create --topic ${topic} --partitions 1 --config cleanup.policy=compact ...), or fix what the broker names`,
        { cause: e },
      );
    }
    // createTopics waited for the controller's metadata; the broker answering the next requests may be behind it.
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        if (topics.some((t) => t.name === topic && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) break;
      } catch (e) {
        const type = protocolErrorType(e);
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw e;
      }
      if (Date.now() > deadline) {
        throw new SyncError('KAFKA_TOPIC_MISSING', `checkpoint topic ${topic} was created, but has no leader after ${waitMs} ms; check the brokers' health and retry`, { retriable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (created) this.logger.info({ topic, replicationFactor }, `created checkpoint topic ${topic} (1 partition, compacted, replication factor ${replicationFactor})`);
    return created;
  }

  /** Warns when the topic is not compacted; a broker that cannot tell (before 0.11, or no DESCRIBE_CONFIGS right) is logged, not fatal. */
  private async checkCompaction(admin: Admin): Promise<void> {
    const { topic } = this;
    let policy: string | undefined;
    try {
      const result = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
      });
      const resource = result.resources.find((r) => r.resourceName === topic);
      if (resource === undefined || resource.errorCode !== 0) {
        this.logger.warn({ topic, errorCode: resource?.errorCode, error: resource?.errorMessage }, `cannot read cleanup.policy of checkpoint topic ${topic}; make sure it is compacted`);
        return;
      }
      policy = resource.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue;
    } catch (e) {
      if (errorChain(e).some((x) => x.name === 'KafkaJSServerDoesNotSupportApiKey')) {
        this.logger.warn({ topic }, `the broker (before Kafka 0.11) cannot describe topic configs: cleanup.policy of checkpoint topic ${topic} is not checked; make sure it is compacted`);
        return;
      }
      const mapped = this.toSyncError(e, `reading cleanup.policy of checkpoint topic ${topic}`);
      if (mapped.retriable) throw mapped;
      this.logger.warn({ topic, error: mapped.message }, `cannot read cleanup.policy of checkpoint topic ${topic}; make sure it is compacted`);
      return;
    }
    if (!compacts(policy)) this.logger.warn({ topic, cleanupPolicy: policy }, notCompactedWarning(topic, policy, this.o.connection.brokers[0] ?? 'BROKER'));
  }

  /** Fetches the partition from its start up to `end` and returns the task's last record there. */
  private async scan(task: string, end: bigint, doing: string): Promise<{ offset: string; value: Buffer | null } | null> {
    const { topic } = this;
    const timeoutMs = this.o.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    const scan = new CheckpointScan(task, end);
    const consumer = this.kafka.consumer({
      groupId: `${this.o.connection.clientId}.checkpoint-reader.${randomBytes(6).toString('hex')}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // Only waited when the fetch is at the end of what is there, which the read stops before.
      maxWaitTimeInMs: 100,
    });
    let lastError: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          const why = lastError === undefined ? '' : `; last error: ${this.toSyncError(lastError, doing).message}`;
          reject(new SyncError(
            'KAFKA_UNREACHABLE',
            `${doing}: did not reach offset ${end} within ${timeoutMs} ms (read up to ${scan.next})${why}; ` +
              'check the brokers; an open transaction of a producer not fenced first holds back the end of committed data',
            { retriable: true, ...(lastError === undefined ? {} : { cause: lastError }) },
          ));
        }, timeoutMs);
        // Emitted after each batch handed on, also one the consumer filtered to nothing (control records, aborted data).
        consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
          if (e.payload.topic === topic && e.payload.partition === CHECKPOINT_PARTITION && scan.reached(e.payload.lastOffset)) resolve();
        });
        consumer.on(consumer.events.CRASH, (e) => {
          lastError = e.payload.error;
          // kafkajs restarts the consumer after a retriable failure; the timeout bounds that.
          if (!e.payload.restart) reject(this.toSyncError(e.payload.error, doing));
        });
        (async () => {
          await consumer.connect();
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          await consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition === CHECKPOINT_PARTITION) scan.add(batch.messages);
            },
          });
        })().catch((e: unknown) => reject(this.toSyncError(e, doing)));
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(noop);
    }
    return scan.last;
  }

  private async produce(message: SinkMessage, task: string): Promise<void> {
    const doing = `writing the ${checkpointWhere(this.topic, task)}`;
    await this.connect();
    const producer = await this.getProducer();
    const { topic, partition, key, value, timestamp } = message;
    try {
      await producer.send({ topic, acks: -1, timeout: this.o.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, messages: [{ partition, key, value, timestamp }] });
    } catch (e) {
      throw this.toSyncError(e, doing);
    }
  }

  private getProducer(): Promise<Producer> {
    if (this.producing === undefined) {
      // Plain (not idempotent): works on every broker without IDEMPOTENT_WRITE; one write in
      // flight keeps the order, and a retried duplicate of the last checkpoint changes nothing.
      const producer = this.kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      const producing = producer.connect().then(
        () => producer,
        async (e: unknown) => {
          this.producing = undefined;
          await producer.disconnect().catch(noop);
          throw this.toSyncError(e, 'connecting the checkpoint producer');
        },
      );
      this.producing = producing;
    }
    return this.producing;
  }

  private get brokers(): string { return this.o.connection.brokers.join(', '); }

  private toSyncError(e: unknown, doing: string): SyncError {
    return kafkaErrorToSyncError(e, { doing, brokers: this.o.connection.brokers, sasl: this.o.connection.sasl, topics: [this.topic] });
  }
}
