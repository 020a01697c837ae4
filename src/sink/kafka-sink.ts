/**
 * The Kafka side of the pipeline: a kafkajs producer that takes `{topic, partition, key,
 * value, timestamp}` records (already encoded) and resolves once the brokers acknowledged
 * them. Knows nothing of MySQL or DTS.
 *
 * ## Order, pipelining and retries
 *
 * Records of one partition land in the order given, across consecutive `send` calls too,
 * even when the caller does not await one send before issuing the next, and even when
 * kafkajs retries. How:
 *
 * - The sink sends ONE produce request at a time. A `send` is checked and planned (grouped,
 *   cut into batches) as soon as it is called, then queued; its requests go out only after
 *   every request of the sends before it was acknowledged. kafkajs on its own does not keep
 *   order between concurrent `sendBatch` calls: each call retries by itself (its own
 *   `retrier`), so if request A fails and B (issued after A) succeeds, A's retry lands after
 *   B; even without a failure, each call awaits its own metadata refresh (when the metadata
 *   is older than metadataMaxAge, or a topic is new) before it reaches the socket, so two
 *   calls can overtake each other. `maxInFlightRequests: 1` does not help (it only throttles
 *   the socket, and a failed A leaves the queue), and kafkajs' idempotent mode, which locks a
 *   broker per request, rolls its sequence numbers back on a failed request while a later
 *   request may already have taken the next ones (kafkajs issue #598). With one request at a
 *   time, a retry of A is always sent before anything after A. `maxInFlightRequests: 1` is
 *   set as well, so a connection never carries two produce requests. The price: one round
 *   trip per request (latency-bound on a distant broker; hence requests of up to a full
 *   max.message.bytes batch per partition); the caller's own work (reading the binlog,
 *   encoding) overlaps the round trip.
 * - kafkajs retries a failed request (connection lost, leader moved, timeout) `retry.retries`
 *   times with backoff (default 5, about 10 s). If it gives up, the send rejects, and so does
 *   every send queued after it, WITHOUT sending anything of them (a later record must not
 *   land when an earlier one did not); the sink then refuses sends until `connect()` is
 *   called again, which starts a new producer. The caller resends from its checkpoint.
 * - Retries may duplicate a request the broker wrote but whose answer was lost (at-least-once,
 *   as DTS; consumers filter repeats); duplicates stay in order (A, A, B). `idempotent: true`
 *   (with acks -1) lets the broker drop such duplicates; it is off by default because kafkajs
 *   marks it experimental and bounded retries void its guarantees anyway.
 *
 * Throughput: one `sendBatch` per request, the caller's message objects passed to kafkajs as
 * they are (no copy per record), and kafkajs' quadratic grouping by partition skipped
 * (kafkajs-grouping.ts). A partition's records are cut into record batches of at most the
 * topic's `max.message.bytes` (read with describeConfigs) and `maxBatchRecords` records,
 * because a partition's records of one request go in one batch and the broker refuses a
 * batch above that size: a send with up to about 1 MiB per partition (by default) is one
 * request. The record batches are not encoded by kafkajs (8-10 µs of CPU per 200-byte
 * record, which capped the sink near 85,000 records/s) but by record-batch.ts, which
 * kafkajs-fast-produce.ts puts into kafkajs' produce requests v3 and above (brokers >= 0.11;
 * older brokers keep kafkajs' own message sets): 1.1-1.4 µs of CPU per 200-byte record for
 * the whole sink, 370,000-480,000 records/s with acks all to a broker sharing a 2-core
 * machine, which is then the limit (scripts/bench-sink.ts, docs/benchmarks.md). gzip adds
 * its deflate (up to about 3 µs per record); it runs on libuv's thread pool, started as
 * soon as a send is queued, so that it overlaps the requests before it (compressAhead; not
 * with an idempotent producer, whose batches carry the request's sequence numbers).
 */
import net from 'node:net';
import tls from 'node:tls';
import kafkajs from 'kafkajs';
import type { Admin, ISocketFactory, Kafka as KafkaClient, KafkaConfig, Message, Producer, ProducerConfig, SASLOptions } from 'kafkajs';
import { SyncError } from '../errors.ts';
import { kafkaErrorToSyncError, type KafkaErrorContext, protocolErrorType } from './kafka-errors.ts';
import { compressAhead, ensureFastProduce, markFastBatch } from './kafkajs-fast-produce.ts';
import { withPartitionGrouping } from './kafkajs-grouping.ts';
import { kafkajsLogCreator, type SinkLogger } from './kafkajs-log.ts';
import { BATCH_OVERHEAD_BYTES, DEFAULT_MAX_MESSAGE_BYTES, planProduce, RECORD_OVERHEAD_BYTES, type PlanOptions, type ProducePlan, type ProduceRound, type TopicLimits } from './produce-plan.ts';

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

export type { SinkLogger } from './kafkajs-log.ts';

/** One record for Kafka. `timestamp` is milliseconds since the epoch, as a decimal string. */
export interface SinkMessage {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer;
  timestamp: string;
}

export interface KafkaSinkSasl {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

/** TLS to the brokers: present means on. PEM contents (not file names): the caller reads the files. */
export interface KafkaSinkTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

export interface KafkaSinkRetry {
  /** Retries of a failed request or connection attempt (kafkajs default 5). */
  retries?: number;
  /** First backoff in ms (kafkajs default 300), doubled each time up to maxRetryTime. */
  initialRetryTime?: number;
  /** Largest backoff in ms (kafkajs default 30,000). */
  maxRetryTime?: number;
  factor?: number;
  multiplier?: number;
}

export interface KafkaSinkOptions {
  brokers: readonly string[];
  clientId: string;
  /** -1: all in-sync replicas, 1: the leader, 0: none (the send resolves once written to the socket). */
  acks: -1 | 0 | 1;
  compression: 'none' | 'gzip';
  sasl?: KafkaSinkSasl;
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
  /** At most this many records of one partition in one record batch (default 10,000; the topic's max.message.bytes usually cuts first). */
  maxBatchRecords?: number;
  /** A produce request carries at most about this many bytes of records (default 16 MiB). */
  maxRequestBytes?: number;
  /** How long ensureTopics waits for created topics to show in the metadata, ms (default 30,000). */
  topicWaitMs?: number;
  /** Told of every send and of the producer's connection (metrics and health, src/ops; the sink knows nothing of them). */
  observer?: SinkObserver;
}

export interface SinkObserver {
  /** A send was queued. Each is followed by exactly one `settled`. */
  sending(messages: readonly SinkMessage[]): void;
  /** The send was acknowledged (`error` null) or failed. */
  settled(messages: readonly SinkMessage[], error: SyncError | null): void;
  /** The producer connected (true), or was disconnected or failed a send, so that it needs connect() again (false). */
  connection(up: boolean): void;
}

export interface EnsureTopicsOptions {
  create: boolean;
  partitions: number;
  replicationFactor: number;
}

const noop = (): void => {};
const silentLogger: SinkLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** The sink's state after a failed send: what failed, and the send (by number) that failed. */
interface Failure {
  seq: number;
  error: SyncError;
}

export class KafkaSink {
  private readonly options: KafkaSinkOptions;
  private readonly kafka: KafkaClient;
  private readonly logger: SinkLogger;
  private readonly brokerList: string;
  private readonly compression: number;
  private readonly planOptions: PlanOptions;
  private readonly topicLimits = new Map<string, TopicLimits>();
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private adminConnecting: Promise<Admin> | undefined;
  private connecting: Promise<void> | undefined;
  /** Settles when every queued send has settled; never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  private failure: Failure | undefined;
  /** Open sockets by broker (`host:port`), to close those of a broker whose request timed out. */
  private readonly sockets = new Map<string, Set<net.Socket>>();

  constructor(options: KafkaSinkOptions) {
    if (options.brokers.length === 0) throw new RangeError('KafkaSink needs at least one broker');
    if (!Number.isInteger(options.maxRecordBytes) || options.maxRecordBytes < 1) {
      throw new RangeError(`maxRecordBytes must be an integer >= 1, got ${options.maxRecordBytes}`);
    }
    if (options.idempotent === true && options.acks !== -1) {
      throw new RangeError('an idempotent producer needs acks -1 (all)');
    }
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.brokerList = options.brokers.join(', ');
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.planOptions = {
      maxRecordBytes: options.maxRecordBytes,
      maxBatchRecords: options.maxBatchRecords ?? 10_000,
      maxRequestBytes: options.maxRequestBytes ?? 16 * 1024 * 1024,
      limits: (topic) => this.topicLimits.get(topic),
    };

    const config: KafkaConfig = {
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(this.logger, options.sasl?.password),
      socketFactory: this.trackedSockets(),
    };
    if (options.retry !== undefined) config.retry = { ...options.retry };
    if (options.sasl !== undefined) {
      const { mechanism, username, password } = options.sasl;
      config.sasl = { mechanism, username, password } as SASLOptions;
    }
    if (options.tls !== undefined) {
      const { ca, cert, key, rejectUnauthorized } = options.tls;
      config.ssl = {
        ...(ca === undefined ? {} : { ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        rejectUnauthorized: rejectUnauthorized ?? true,
      };
    }
    this.kafka = new Kafka(config);
  }

  /**
   * Connects the producer (bootstrap, API versions, SASL, metadata). After a failed send it
   * waits for the sends issued before the failure to settle, starts a new producer and
   * accepts sends again. Rejects with KAFKA_UNREACHABLE: retriable when the brokers could not
   * be reached, not retriable when SASL was refused; with ENCODE_FAILED when the installed
   * kafkajs is not the one the produce encoder was checked against (kafkajs-fast-produce.ts).
   */
  async connect(): Promise<void> {
    if (this.producer !== undefined && this.failure === undefined) return;
    this.connecting ??= this.startProducer().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async startProducer(): Promise<void> {
    // Sends issued before a failure may still be under way: let them finish with the old producer.
    await this.tail;
    if (this.producer !== undefined) {
      const old = this.producer;
      this.producer = undefined;
      await old.disconnect().catch(noop);
    }
    // Before the first produce request: our record batch encoder in kafkajs, checked (kafkajs-fast-produce.ts).
    await ensureFastProduce();
    const config: ProducerConfig = {
      allowAutoTopicCreation: false,
      idempotent: this.options.idempotent === true,
      maxInFlightRequests: 1,
      // Every message carries its partition (see partitioner.ts); this only reads it.
      createPartitioner: () => ({ message }) => message.partition as number,
    };
    if (this.options.retry !== undefined) config.retry = { ...this.options.retry };
    const producer = this.kafka.producer(config);
    producer.on(producer.events.REQUEST_TIMEOUT, (e) => this.onRequestTimeout(e.payload.broker, e.payload.apiName));
    try {
      await producer.connect();
    } catch (e) {
      await producer.disconnect().catch(noop);
      throw this.toSyncError(e, { doing: 'connecting' });
    }
    this.producer = producer;
    this.failure = undefined;
    this.tail = Promise.resolve();
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
      await this.createTopics(admin, missing, opts);
    }

    let partitionCounts: Map<string, number>;
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: unique });
      partitionCounts = new Map(metadata.map((t) => [t.name, t.partitions.length]));
    } catch (e) {
      throw this.toSyncError(e, { doing, topics: unique });
    }
    const maxMessageBytes = await this.readMaxMessageBytes(admin, unique);
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
   * produce request at a time (see the file comment). Rejects with RECORD_TOO_LARGE, before
   * sending anything of this call, when a record's key + value is above maxRecordBytes (and
   * when the broker refuses one as too large); with KAFKA_TOPIC_MISSING for a topic or
   * partition Kafka does not have; with retriable KAFKA_UNREACHABLE when the connection was
   * lost and kafkajs' retries did not help. After a failure, this and every later send is
   * rejected until `connect()` is called again. The caller must not change the messages or
   * their buffers until the send settled.
   */
  send(messages: readonly SinkMessage[]): Promise<void> {
    const seq = this.nextSeq++;
    if (this.failure !== undefined) return Promise.reject(this.notSent(this.failure));
    if (this.producer === undefined) {
      return Promise.reject(new SyncError('KAFKA_UNREACHABLE', `the Kafka sink is not connected to ${this.brokerList}; call connect() first`));
    }
    let plan: ProducePlan;
    try {
      plan = planProduce(messages, this.planOptions);
    } catch (e) {
      const error = e instanceof SyncError ? e : this.toSyncError(e, { doing: 'preparing records' });
      this.fail(seq, error);
      return Promise.reject(error);
    }
    // gzip on libuv's thread pool now, while the sends before this one are on the wire (see the file comment).
    if (this.compression === CompressionTypes.GZIP && this.options.idempotent !== true) {
      for (const round of plan.rounds) for (const t of round.topicMessages) for (const p of t.partitions) compressAhead(p.messages);
    }
    const run = this.tail.then(() => this.execute(seq, messages, plan));
    this.tail = run.then(noop, noop);
    const observer = this.options.observer;
    if (observer !== undefined) {
      observer.sending(messages);
      run.then(() => observer.settled(messages, null), (e: SyncError) => observer.settled(messages, e));
    }
    return run;
  }

  /**
   * The largest key + value a record for `topic` may have to be accepted: kafka.maxRecordBytes,
   * or, when lower, what fits alone in a record batch under the topic's max.message.bytes
   * (known after ensureTopics; the broker default until then). With compression the broker
   * checks the compressed batch, so only maxRecordBytes is certain: `compressed` is true then.
   */
  recordLimit(topic: string): { bytes: number; maxRecordBytes: number; maxMessageBytes: number; compressed: boolean } {
    const maxMessageBytes = this.topicLimits.get(topic)?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const compressed = this.compression !== CompressionTypes.None;
    const fits = maxMessageBytes - BATCH_OVERHEAD_BYTES - RECORD_OVERHEAD_BYTES;
    const bytes = compressed ? this.options.maxRecordBytes : Math.max(1, Math.min(this.options.maxRecordBytes, fits));
    return { bytes, maxRecordBytes: this.options.maxRecordBytes, maxMessageBytes, compressed };
  }

  /** kafkajs' own socket factory (net or tls, keep-alive 60 s), keeping each socket by broker. */
  private trackedSockets(): ISocketFactory {
    return ({ host, port, ssl, onConnect }) => {
      const socket = ssl
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(ssl as tls.ConnectionOptions) }, onConnect)
        : net.connect({ host, port }, onConnect);
      socket.setKeepAlive(true, 60_000);
      const broker = `${host}:${port}`;
      let set = this.sockets.get(broker);
      if (set === undefined) this.sockets.set(broker, (set = new Set()));
      set.add(socket);
      socket.once('close', () => {
        set.delete(socket);
        if (set.size === 0 && this.sockets.get(broker) === set) this.sockets.delete(broker);
      });
      return socket;
    };
  }

  /**
   * A request got no answer within requestTimeoutMs: the connection is presumed dead (cut
   * without a clean close, or a broker that hangs). kafkajs would retry on the same socket
   * and wait as long again each time, so its sockets to that broker are closed with an error:
   * kafkajs fails what was pending on them and reconnects for the retry.
   */
  private onRequestTimeout(broker: string, apiName: string): void {
    const set = this.sockets.get(broker);
    if (set === undefined || set.size === 0) return;
    this.logger.warn(
      { broker, apiName, requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000 },
      `Kafka broker ${broker} did not answer a ${apiName} request in time: closing its ${set.size} connection(s) and connecting again`,
    );
    for (const socket of [...set]) socket.destroy(new Error(`no answer from ${broker} within the request timeout; connection closed`));
  }

  /** Closes the producer and the admin client. Does not wait for sends in flight (await them first); they fail. */
  async disconnect(): Promise<void> {
    await this.connecting?.catch(noop);
    const producer = this.producer;
    const admin = this.admin;
    const adminConnecting = this.adminConnecting;
    this.producer = undefined;
    this.admin = undefined;
    this.adminConnecting = undefined;
    this.options.observer?.connection(false);
    await Promise.all([
      producer?.disconnect().catch(noop),
      admin?.disconnect().catch(noop),
      adminConnecting?.then((a) => a.disconnect()).catch(noop),
    ]);
  }

  private async execute(seq: number, messages: readonly SinkMessage[], initialPlan: ProducePlan): Promise<void> {
    if (this.failure !== undefined && this.failure.seq < seq) throw this.notSent(this.failure);
    const producer = this.producer;
    if (producer === undefined) {
      throw this.fail(seq, new SyncError('KAFKA_UNREACHABLE', `the Kafka sink was disconnected from ${this.brokerList} before this send; connect() and send again`));
    }
    let plan = initialPlan;
    try {
      if (plan.unknownTopics.length > 0) {
        // Topics ensureTopics was not told about: learn their partitions and limits, then check again.
        await this.ensureTopics(plan.unknownTopics, { create: false, partitions: 1, replicationFactor: 1 });
        plan = planProduce(messages, this.planOptions);
      }
    } catch (e) {
      throw this.fail(seq, e instanceof SyncError ? e : this.toSyncError(e, { doing: 'preparing records' }));
    }
    const { acks } = this.options;
    const timeout = this.options.ackTimeoutMs ?? 30_000;
    for (const round of plan.rounds) {
      try {
        const topicMessages = round.topicMessages.map((t) => {
          for (const p of t.partitions) markFastBatch(p.messages);
          return { topic: t.topic, messages: withPartitionGrouping(t.messages, t.partitions) as Message[] };
        });
        await producer.sendBatch({ acks, timeout, compression: this.compression, topicMessages });
      } catch (e) {
        const topics = round.topicMessages.map((t) => t.topic);
        throw this.fail(
          seq,
          this.toSyncError(e, {
            doing: `sending ${round.records} records to ${topics.join(', ')}`,
            topics,
            tooLarge: () => this.describeTooLarge(round),
          }),
        );
      }
    }
  }

  /** Records the first failure (by send order) and returns the error. */
  private fail(seq: number, error: SyncError): SyncError {
    if (this.failure === undefined || seq < this.failure.seq) this.failure = { seq, error };
    this.options.observer?.connection(false);
    return error;
  }

  private notSent(failure: Failure): SyncError {
    return new SyncError(
      failure.error.code,
      `not sent, because an earlier send failed (records must land in order): ${failure.error.message}; connect() again and resend from the last checkpoint`,
      { cause: failure.error, retriable: failure.error.retriable },
    );
  }

  private toSyncError(e: unknown, ctx: Omit<KafkaErrorContext, 'brokers' | 'sasl'>): SyncError {
    return kafkaErrorToSyncError(e, { ...ctx, brokers: this.options.brokers, sasl: this.options.sasl });
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

  private getAdmin(): Promise<Admin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    if (this.adminConnecting === undefined) {
      const admin = this.kafka.admin(this.options.retry === undefined ? {} : { retry: { ...this.options.retry } });
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

  private async createTopics(admin: Admin, missing: string[], opts: EnsureTopicsOptions): Promise<void> {
    const waitMs = this.options.topicWaitMs ?? 30_000;
    try {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor })),
        waitForLeaders: true,
        timeout: waitMs,
      });
    } catch (e) {
      const type = protocolErrorType(e);
      const mapped = this.toSyncError(e, { doing: `creating topics ${missing.join(', ')}`, topics: missing });
      if (mapped.retriable || type === undefined || type.includes('AUTHORIZATION')) throw mapped;
      const fix =
        type === 'INVALID_REPLICATION_FACTOR'
          ? `kafka.topicReplicationFactor (${opts.replicationFactor}) is more than the brokers Kafka has: lower it`
          : type === 'INVALID_PARTITIONS'
            ? `kafka.topicPartitions (${opts.partitions}) is not accepted: use a count from 1 up`
            : 'create the topics by hand, or fix what the broker names';
      throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${this.brokerList} could not create topic ${missing.join(', ')}: ${type} (${mapped.message}); ${fix}`, {
        cause: e,
      });
    }

    // Wait until every partition of every new topic has a leader in the metadata.
    const deadline = Date.now() + waitMs;
    for (;;) {
      let ready = false;
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: missing });
        ready =
          topics.length === missing.length &&
          topics.every((t) => t.partitions.length === opts.partitions && t.partitions.every((p) => p.leader >= 0));
      } catch (e) {
        if (protocolErrorType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION' && protocolErrorType(e) !== 'LEADER_NOT_AVAILABLE') {
          throw this.toSyncError(e, { doing: `waiting for topics ${missing.join(', ')}`, topics: missing });
        }
      }
      if (ready) return;
      if (Date.now() > deadline) {
        throw new SyncError(
          'KAFKA_TOPIC_MISSING',
          `Kafka at ${this.brokerList} created topic ${missing.join(', ')}, but its metadata shows no leader for every partition after ${waitMs} ms; check the brokers' health and retry`,
          { retriable: true },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Each topic's max.message.bytes; a topic the broker will not describe (e.g. no DESCRIBE_CONFIGS right) is left out. */
  private async readMaxMessageBytes(admin: Admin, topics: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const result = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
      });
      for (const resource of result.resources) {
        if (resource.errorCode !== 0) continue;
        const entry = resource.configEntries.find((c) => c.configName === 'max.message.bytes');
        const value = Number(entry?.configValue);
        if (Number.isInteger(value) && value > 0) out.set(resource.resourceName, value);
      }
    } catch (e) {
      const mapped = this.toSyncError(e, { doing: `reading max.message.bytes of ${topics.join(', ')}` });
      if (mapped.retriable) throw mapped;
      this.logger.warn(
        { topics, error: mapped.message },
        `cannot read max.message.bytes of the topics; assuming the broker default ${DEFAULT_MAX_MESSAGE_BYTES} when cutting record batches`,
      );
    }
    for (const topic of topics) {
      if (!out.has(topic)) this.logger.debug({ topic }, `max.message.bytes of ${topic} unknown; assuming ${DEFAULT_MAX_MESSAGE_BYTES}`);
    }
    return out;
  }
}
