/**
 * The Kafka side of the pipeline (`Sink`, sink.ts): a kafkajs producer that takes `{topic,
 * partition, key, value, timestamp}` records (already encoded) and resolves once the brokers
 * acknowledged them. Knows nothing of MySQL or DTS.
 *
 * Order: sends go out one produce request at a time, in call order, and a failed send stops
 * every later one unsent until `connect()` (send-queue.ts says why kafkajs alone would
 * reorder them). kafkajs retries a failed request (connection lost, leader moved, timeout)
 * `retry.retries` times with backoff (default 5, about 10 s) before the send fails;
 * `maxInFlightRequests: 1` is set as well, so a connection never carries two produce
 * requests. `idempotent: true` (with acks -1) lets the broker drop the duplicates a retry may
 * make; it is off by default because kafkajs marks it experimental and bounded retries void
 * its guarantees anyway.
 *
 * Throughput: one `sendBatch` per request, the caller's message objects passed to kafkajs as
 * they are (no copy per record), and kafkajs' quadratic grouping by partition skipped
 * (kafkajs-grouping.ts). A partition's records are cut into record batches of at most the
 * topic's `max.message.bytes` (read with describeConfigs) and `maxBatchRecords` records
 * (produce-plan.ts), because a partition's records of one request go in one batch and the
 * broker refuses a batch above that size: a send with up to about 1 MiB per partition (by
 * default) is one request. The record batches are not encoded by kafkajs (8-10 µs of CPU per
 * 200-byte record, which capped the sink near 85,000 records/s) but by record-batch.ts, which
 * kafkajs-fast-produce.ts puts into kafkajs' produce requests v3 and above (brokers >= 0.11;
 * older brokers keep kafkajs' own message sets): 1.1-1.4 µs of CPU per 200-byte record for
 * the whole sink, 370,000-480,000 records/s with acks all to a broker sharing a 2-core
 * machine, which is then the limit (scripts/bench-sink.ts, docs/benchmarks.md). gzip adds
 * its deflate (up to about 3 µs per record); it runs on libuv's thread pool, started as
 * soon as a send is queued, so that it overlaps the requests before it (compressAhead; not
 * with an idempotent producer, whose batches carry the request's sequence numbers).
 *
 * Transactions (`transactionalId`, delivery exactly-once): the producer is idempotent and
 * transactional; connect() initializes its producer id, which fences every older producer
 * of the same transactional id (the broker aborts its open transaction and refuses its
 * requests from then on). Sends go into the open transaction (kafkajs adds their partitions
 * to it); `commit()` closes it behind the sends before it (send-queue.ts). disconnect()
 * aborts a transaction left open.
 */
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient, Message, Producer, ProducerConfig, Transaction } from 'kafkajs';
import { SyncError } from '../errors.ts';
import { kafkaErrorToSyncError, type KafkaErrorContext, protocolErrorType } from './kafka-errors.ts';
import { type BrokerSockets, createKafkaConnection, DEFAULT_REQUEST_TIMEOUT_MS, type KafkaRetry, type KafkaSasl, type KafkaTls } from './kafka-connection.ts';
import { compressAhead, ensureFastProduce, markFastBatch } from './kafkajs-fast-produce.ts';
import { withPartitionGrouping } from './kafkajs-grouping.ts';
import { createTopics, readMaxMessageBytes, type TopicAdminContext } from './kafka-topics.ts';
import type { SinkLogger } from './kafkajs-log.ts';
import { BATCH_OVERHEAD_BYTES, DEFAULT_MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES, type ProducePlan, type ProduceRound, type TopicLimits } from './produce-plan.ts';
import { type RoundProducer, SendQueue } from './send-queue.ts';
import type { EnsureTopicsOptions, RecordLimit, Sink, SinkMessage, SinkObserver } from './sink.ts';

const { CompressionTypes } = kafkajs;

// Where these used to be declared: kept importable from here for the code that builds a KafkaSink.
export type { SinkLogger } from './kafkajs-log.ts';
export type { EnsureTopicsOptions, SinkMessage, SinkObserver } from './sink.ts';
export type KafkaSinkSasl = KafkaSasl;
export type KafkaSinkTls = KafkaTls;
export type KafkaSinkRetry = KafkaRetry;

export interface KafkaSinkOptions {
  brokers: readonly string[];
  clientId: string;
  /** -1: all in-sync replicas, 1: the leader, 0: none (the send resolves once written to the socket). */
  acks: -1 | 0 | 1;
  compression: 'none' | 'gzip';
  sasl?: KafkaSinkSasl;
  /** TLS to the brokers: present means on. PEM contents (not file names): the caller reads the files. */
  tls?: KafkaSinkTls;
  /** Largest key + value of a record; a send with a larger one is refused before anything is sent. */
  maxRecordBytes: number;
  logger?: SinkLogger;
  retry?: KafkaSinkRetry;
  /** TCP connect timeout per attempt, ms (default 3,000). */
  connectionTimeoutMs?: number;
  /**
   * How long to wait for a broker's answer to a request, ms (default 30,000). A request that
   * gets no answer in time closes its connection (a connection cut without a clean close
   * answers nothing, and kafkajs would retry on it); the retry opens a new one.
   */
  requestTimeoutMs?: number;
  /** How long a broker may wait for the replicas' acknowledgement (the produce timeout), ms (default 30,000). */
  ackTimeoutMs?: number;
  /** Broker-side duplicate removal; needs acks -1 (default false, see the file comment). */
  idempotent?: boolean;
  /**
   * A transactional producer with this stable id (one per task): sends go into transactions
   * that `commit()` ends. Needs acks -1; implies idempotent. Brokers 0.11+.
   */
  transactionalId?: string;
  /** How long the broker lets a transaction stay open before it aborts it, ms (default 60,000). */
  transactionTimeoutMs?: number;
  /** Asked before each produce request; an error stops the send (send-queue.ts): the election's lease (src/ha). */
  fence?: () => SyncError | null;
  /** At most this many records of one partition in one record batch (default 10,000; the topic's max.message.bytes usually cuts first). */
  maxBatchRecords?: number;
  /** A produce request carries at most about this many bytes of records (default 16 MiB). */
  maxRequestBytes?: number;
  /** How long ensureTopics waits for created topics to show in the metadata, ms (default 30,000). */
  topicWaitMs?: number;
  /** Told of every send and of the producer's connection (metrics and health, src/ops; the sink knows nothing of them). */
  observer?: SinkObserver;
}

const noop = (): void => {};
const silentLogger: SinkLogger = { debug: noop, info: noop, warn: noop, error: noop };

export class KafkaSink implements Sink {
  private readonly options: KafkaSinkOptions;
  private readonly kafka: KafkaClient;
  private readonly sockets: BrokerSockets;
  private readonly logger: SinkLogger;
  private readonly brokerList: string;
  private readonly compression: number;
  private readonly topicLimits = new Map<string, TopicLimits>();
  private readonly queue: SendQueue;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private adminConnecting: Promise<Admin> | undefined;
  private connecting: Promise<void> | undefined;
  /** A transactional producer's transaction that sends went into and no commit ended yet. */
  private openTransaction: Transaction | undefined;

  constructor(options: KafkaSinkOptions) {
    if (options.brokers.length === 0) throw new RangeError('KafkaSink needs at least one broker');
    if (!Number.isInteger(options.maxRecordBytes) || options.maxRecordBytes < 1) {
      throw new RangeError(`maxRecordBytes must be an integer >= 1, got ${options.maxRecordBytes}`);
    }
    if ((options.idempotent === true || options.transactionalId !== undefined) && options.acks !== -1) {
      throw new RangeError('an idempotent or transactional producer needs acks -1 (all)');
    }
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.brokerList = options.brokers.join(', ');
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    // gzip on libuv's thread pool as soon as a send is queued, while the sends before it are on the wire (see the file comment).
    const gzipAhead = this.compression === CompressionTypes.GZIP && options.idempotent !== true && options.transactionalId === undefined;
    this.queue = new SendQueue({
      plan: {
        maxRecordBytes: options.maxRecordBytes,
        maxBatchRecords: options.maxBatchRecords ?? 10_000,
        maxRequestBytes: options.maxRequestBytes ?? 16 * 1024 * 1024,
        limits: (topic) => this.topicLimits.get(topic),
      },
      // Topics ensureTopics was not told about: learn their partitions and limits (never creating one).
      learnTopics: async (topics) => void (await this.ensureTopics(topics, { create: false, partitions: 1, replicationFactor: 1 })),
      ...(gzipAhead ? { queued: compressPlanAhead } : {}),
      target: this.brokerList,
      toSyncError: (e, doing) => this.toSyncError(e, { doing }),
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.fence ? { fence: options.fence } : {}),
    });
    ({ kafka: this.kafka, sockets: this.sockets } = createKafkaConnection({
      brokers: options.brokers,
      clientId: options.clientId,
      logger: this.logger,
      ...(options.sasl ? { sasl: options.sasl } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: options.connectionTimeoutMs } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    }));
  }

  /**
   * Connects the producer (bootstrap, API versions, SASL, metadata). After a failed send it
   * waits for the sends issued before the failure to settle, starts a new producer and
   * accepts sends again. Rejects with KAFKA_UNREACHABLE: retriable when the brokers could not
   * be reached, not retriable when SASL was refused; with ENCODE_FAILED when the installed
   * kafkajs is not the one the produce encoder was checked against (kafkajs-fast-produce.ts).
   */
  async connect(): Promise<void> {
    if (this.queue.accepting) return;
    this.connecting ??= this.startProducer().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async startProducer(): Promise<void> {
    // Sends issued before a failure may still be under way: let them finish with the old producer.
    await this.queue.settled();
    if (this.producer !== undefined) {
      const old = this.producer;
      this.producer = undefined;
      this.queue.stop();
      // Its open transaction is aborted by the broker when the new producer takes the id.
      this.openTransaction = undefined;
      await old.disconnect().catch(noop);
    }
    // Before the first produce request: our record batch encoder in kafkajs, checked (kafkajs-fast-produce.ts).
    await ensureFastProduce();
    const { transactionalId } = this.options;
    const config: ProducerConfig = {
      allowAutoTopicCreation: false,
      idempotent: this.options.idempotent === true || transactionalId !== undefined,
      maxInFlightRequests: 1,
      // Every message carries its partition (see partitioner.ts); this only reads it.
      createPartitioner: () => ({ message }) => message.partition as number,
      ...(transactionalId !== undefined
        ? { transactionalId, transactionTimeout: this.options.transactionTimeoutMs ?? 60_000, retry: transactionalRetry(this.options.retry) }
        : {}),
    };
    const producer = this.kafka.producer(config);
    producer.on(producer.events.REQUEST_TIMEOUT, (e) => this.onRequestTimeout(e.payload.broker, e.payload.apiName));
    try {
      await producer.connect();
      // The producer id and a new epoch now, before anything is read or sent: every older
      // producer of this id is fenced, its open transaction aborted (an empty transaction,
      // begun and ended, sends nothing else).
      if (transactionalId !== undefined) await (await producer.transaction()).abort();
    } catch (e) {
      await producer.disconnect().catch(noop);
      throw this.toSyncError(e, { doing: 'connecting' });
    }
    this.producer = producer;
    this.queue.start(this.roundProducer(producer));
    this.options.observer?.connection(true);
  }

/**
   * Makes sure the topics exist and returns their partition counts. A missing topic is
   * created with `partitions` and `replicationFactor` when `create` is set (waiting until
   * the metadata shows it with a leader for every partition); otherwise it is
   * KAFKA_TOPIC_MISSING. Also reads each topic's max.message.bytes, which `send` uses to cut
   * batches. Never creates a topic through a metadata request (auto-creation).
   */
  async ensureTopics(topics: readonly string[], opts: EnsureTopicsOptions): Promise<Map<string, number>> {
    const unique = [...new Set(topics)];
    if (unique.length === 0) return new Map();
    if (opts.create && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) {
      throw new RangeError(`partitions must be an integer >= 1, got ${opts.partitions}`);
    }
    if (opts.create && (!Number.isInteger(opts.replicationFactor) || opts.replicationFactor < 1)) {
      throw new RangeError(`replicationFactor must be an integer >= 1, got ${opts.replicationFactor}`);
    }
    const admin = await this.getAdmin();
    const doing = `checking topics ${unique.join(', ')}`;

    let existing: Set<string>;
    try {
      existing = new Set(await admin.listTopics());
    } catch (e) {
      throw this.toSyncError(e, { doing, topics: unique });
    }
    const missing = unique.filter((t) => !existing.has(t));
    if (missing.length > 0 && !opts.create) {
      const first = missing[0]!;
      throw new SyncError(
        'KAFKA_TOPIC_MISSING',
        `Kafka at ${this.brokerList} has no topic ${missing.join(', ')}; create ${missing.length === 1 ? 'it' : 'them'} ` +
          `(e.g. kafka-topics.sh --bootstrap-server ${this.options.brokers[0]} --create --topic ${first} --partitions 1 ` +
          '--replication-factor 1; the partition count must not change while syncing), or set kafka.createTopics: true',
      );
    }
    if (missing.length > 0) {
      await createTopics(admin, missing, opts, this.topicAdmin());
    }

    let partitionCounts: Map<string, number>;
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: unique });
      partitionCounts = new Map(metadata.map((t) => [t.name, t.partitions.length]));
    } catch (e) {
      throw this.toSyncError(e, { doing, topics: unique });
    }
    const maxMessageBytes = await readMaxMessageBytes(admin, unique, this.topicAdmin());
    for (const topic of unique) {
      const partitions = partitionCounts.get(topic);
      if (partitions === undefined || partitions === 0) {
        throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${this.brokerList} shows no partitions for topic ${topic}; create the topic, or set kafka.createTopics: true`);
      }
      this.topicLimits.set(topic, { partitions, maxMessageBytes: maxMessageBytes.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES });
    }
    return new Map(unique.map((t) => [t, partitionCounts.get(t)!]));
  }

  /**
   * Sends the records and resolves once the brokers acknowledged all of them (per acks).
   * May be called again before an earlier send settled: sends go out in call order, one
   * produce request at a time (send-queue.ts). Rejects with RECORD_TOO_LARGE, before
   * sending anything of this call, when a record's key + value is above maxRecordBytes (and
   * when the broker refuses one as too large); with KAFKA_TOPIC_MISSING for a topic or
   * partition Kafka does not have; with retriable KAFKA_UNREACHABLE when the connection was
   * lost and kafkajs' retries did not help. After a failure, this and every later send is
   * rejected until `connect()` is called again. The caller must not change the messages or
   * their buffers until the send settled.
   */
  send(messages: readonly SinkMessage[]): Promise<void> {
    return this.queue.send(messages);
  }

  /**
   * With a transactionalId: commits the open transaction once every send before this call
   * was acknowledged, with the records `last()` returns then (the checkpoint covering the
   * transaction) as its last ones. Sends after this call go into the next transaction.
   * Rejects with NOT_ACTIVE when a newer producer of the id fenced this one.
   */
  commit(last: () => readonly SinkMessage[]): Promise<void> {
    if (this.options.transactionalId === undefined) {
      return Promise.reject(new SyncError('CONFIG_INVALID', 'commit() on a Kafka sink without a transactionalId'));
    }
    return this.queue.commit(last);
  }

  /**
   * The largest key + value a record for `topic` may have to be accepted: kafka.maxRecordBytes,
   * or, when lower, what fits alone in a record batch under the topic's max.message.bytes
   * (known after ensureTopics; the broker default until then). With compression the broker
   * checks the compressed batch, so only maxRecordBytes is certain: `compressed` is true then.
   */
  recordLimit(topic: string): RecordLimit {
    const maxMessageBytes = this.topicLimits.get(topic)?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const compressed = this.compression !== CompressionTypes.None;
    const fits = maxMessageBytes - BATCH_OVERHEAD_BYTES - RECORD_OVERHEAD_BYTES;
    const bytes = compressed ? this.options.maxRecordBytes : Math.max(1, Math.min(this.options.maxRecordBytes, fits));
    return { bytes, maxRecordBytes: this.options.maxRecordBytes, maxMessageBytes, compressed };
  }

  /**
   * A request got no answer within requestTimeoutMs: the connection is presumed dead (cut
   * without a clean close, or a broker that hangs). kafkajs would retry on the same socket
   * and wait as long again each time, so its sockets to that broker are closed with an error:
   * kafkajs fails what was pending on them and reconnects for the retry.
   */
  private onRequestTimeout(broker: string, apiName: string): void {
    const reason = `no answer from ${broker} within the request timeout; connection closed`;
    const closed = this.sockets.destroy(broker, reason);
    if (closed === 0) return;
    this.logger.warn(
      { broker, apiName, requestTimeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS },
      `Kafka broker ${broker} did not answer a ${apiName} request in time: closing its ${closed} connection(s) and connecting again`,
    );
  }

  /** Closes the producer and the admin client. Does not wait for sends in flight (await them first); they fail. */
  async disconnect(): Promise<void> {
    await this.connecting?.catch(noop);
    const producer = this.producer;
    const admin = this.admin;
    const adminConnecting = this.adminConnecting;
    this.producer = undefined;
    this.queue.stop();
    this.admin = undefined;
    this.adminConnecting = undefined;
    this.options.observer?.connection(false);
    await this.openTransaction?.abort().catch(noop);
    this.openTransaction = undefined;
    await Promise.all([
      producer?.disconnect().catch(noop),
      admin?.disconnect().catch(noop),
      adminConnecting?.then((a) => a.disconnect()).catch(noop),
    ]);
  }

  /**
   * One produce request per round through kafkajs, its batches encoded by record-batch.ts
   * (the file comment); with a transactionalId, in the open transaction (begun by the first
   * round after a commit).
   */
  private roundProducer(producer: Producer): RoundProducer {
    const { acks, transactionalId } = this.options;
    const timeout = this.options.ackTimeoutMs ?? 30_000;
    const compression = this.compression;
    const target = async (): Promise<Pick<Producer, 'sendBatch'>> => {
      if (transactionalId === undefined) return producer;
      this.openTransaction ??= await producer.transaction();
      return this.openTransaction;
    };
    return {
      sendRound: async (round) => {
        try {
          const topicMessages = round.topicMessages.map((t) => {
            for (const p of t.partitions) markFastBatch(p.messages);
            return { topic: t.topic, messages: withPartitionGrouping(t.messages, t.partitions) as Message[] };
          });
          await (await target()).sendBatch({ acks, timeout, compression, topicMessages });
        } catch (e) {
          const topics = round.topicMessages.map((t) => t.topic);
          throw this.toSyncError(e, {
            doing: `sending ${round.records} records to ${topics.join(', ')}`,
            topics,
            tooLarge: () => this.describeTooLarge(round),
          });
        }
      },
      ...(transactionalId === undefined ? {} : {
        commit: async () => {
          const transaction = this.openTransaction;
          this.openTransaction = undefined;
          try {
            await transaction?.commit();
          } catch (e) {
            throw this.toSyncError(e, { doing: 'committing a transaction' });
          }
        },
      }),
    };
  }

  private toSyncError(e: unknown, ctx: Omit<KafkaErrorContext, 'brokers' | 'sasl' | 'transactionalId'>): SyncError {
    const { brokers, sasl, transactionalId } = this.options;
    return kafkaErrorToSyncError(e, { ...ctx, brokers, sasl, ...(transactionalId !== undefined ? { transactionalId } : {}) });
  }

  /** For a broker-side MESSAGE_TOO_LARGE: the round's largest record and the topic's limit. */
  private describeTooLarge(round: ProduceRound): string {
    let best: SinkMessage | undefined;
    let bestSize = -1;
    for (const { messages } of round.topicMessages) {
      for (const m of messages) {
        const size = m.value.length + (m.key?.length ?? 0);
        if (size > bestSize) {
          best = m;
          bestSize = size;
        }
      }
    }
    if (best === undefined) return 'a record batch';
    const limit = this.topicLimits.get(best.topic)?.maxMessageBytes;
    return (
      `a record batch for topic ${best.topic}: its largest record, for partition ${best.partition}, has ${bestSize} bytes (key + value), ` +
      `and the topic's max.message.bytes is ${limit === undefined ? 'unknown' : String(limit)}`
    );
  }

  private topicAdmin(): TopicAdminContext {
    return {
      brokerList: this.brokerList,
      logger: this.logger,
      toSyncError: (e, ctx) => this.toSyncError(e, ctx),
      ...(this.options.topicWaitMs !== undefined ? { topicWaitMs: this.options.topicWaitMs } : {}),
    };
  }

  private getAdmin(): Promise<Admin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    if (this.adminConnecting === undefined) {
      // The client's retry settings (kafka-connection.ts) apply to the admin client too.
      const admin = this.kafka.admin();
      admin.on(admin.events.REQUEST_TIMEOUT, (e) => this.onRequestTimeout(e.payload.broker, e.payload.apiName));
      this.adminConnecting = admin.connect().then(
        () => {
          this.admin = admin;
          this.adminConnecting = undefined;
          return admin;
        },
        async (e: unknown) => {
          this.adminConnecting = undefined;
          await admin.disconnect().catch(noop);
          throw this.toSyncError(e, { doing: 'connecting the admin client' });
        },
      );
    }
    return this.adminConnecting;
  }

}

/**
 * A transactional producer's retries. The first send of a transaction adds its partitions
 * to it, and the broker answers CONCURRENT_TRANSACTIONS while it still writes the previous
 * transaction's markers (a few ms after each commit); kafkajs retries that through its
 * produce retrier. Starting at 20 ms instead of 300 ms, with as many more doublings as keep
 * the whole retry window about as long, keeps that wait short at every commit.
 */
const FIRST_TRANSACTION_RETRY_MS = 20;

export function transactionalRetry(r: KafkaSinkRetry | undefined): KafkaSinkRetry {
  const initial = r?.initialRetryTime ?? 300;
  if (initial <= FIRST_TRANSACTION_RETRY_MS) return { ...r };
  return { ...r, initialRetryTime: FIRST_TRANSACTION_RETRY_MS, retries: (r?.retries ?? 5) + Math.round(Math.log2(initial / FIRST_TRANSACTION_RETRY_MS)) };
}

function compressPlanAhead(plan: ProducePlan): void {
  for (const round of plan.rounds) for (const t of round.topicMessages) for (const p of t.partitions) compressAhead(p.messages);
}
