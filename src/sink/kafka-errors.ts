/**
 * Turns what kafkajs throws into the project's SyncError, so that a user reads what is wrong
 * and what to do, and the one retry helper knows whether trying again can help. Pure: it only
 * looks at the error (and its causes) and the context it is given.
 */
import { SyncError } from '../errors.ts';
import { tlsFailure, tlsFix } from '../tls-errors.ts';

export interface KafkaErrorContext {
  /** What the sink was doing, as a phrase: "connecting", "sending 5000 records to dts_demo". */
  doing: string;
  brokers: readonly string[];
  sasl?: { mechanism: string; username: string; password: string };
  /** For RECORD_TOO_LARGE raised by the broker: what was being sent. */
  tooLarge?: () => string;
  /** Topics involved, for a topic the broker does not know. */
  topics?: readonly string[];
  /** A transactional producer's id: a fenced epoch then means another producer of that id took over. */
  transactionalId?: string;
}

/** What kafkajs errors look like, as far as this module reads them. */
interface KafkaLikeError {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

const SASL_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const AUTHORIZATION_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);
/** The broker lost or refused the producer's idempotence state: a new producer fixes it. */
const PRODUCER_STATE_TYPES = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);
/** A transactional producer's epoch refused: a newer producer of its transactional id exists (code 90 is PRODUCER_FENCED, unknown to kafkajs 2.2.4). */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/** kafkajs errors that mean the network or a broker is (for now) not there. */
const CONNECTION_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

/** The error and everything it was caused by, outermost first (kafkajs nests retries and aggregates). */
export function errorChain(error: unknown): KafkaLikeError[] {
  const out: KafkaLikeError[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 32) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || out.includes(e as KafkaLikeError)) continue;
    const k = e as KafkaLikeError;
    out.push(k);
    queue.push(k.cause, k.originalError);
    if (Array.isArray(k.errors)) queue.push(...k.errors);
  }
  return out;
}

/** The first Kafka protocol error type (e.g. MESSAGE_TOO_LARGE) in the chain, if any. */
export function protocolErrorType(error: unknown): string | undefined {
  for (const e of errorChain(error)) if (typeof e.type === 'string') return e.type;
  return undefined;
}

function innermost(chain: KafkaLikeError[]): KafkaLikeError {
  return chain[chain.length - 1] ?? {};
}

/** Replaces every occurrence of the secret (a SASL password) in text. */
export function redact(text: string, secret: string | undefined): string {
  return secret === undefined || secret === '' ? text : text.split(secret).join('***');
}

function messageOf(e: KafkaLikeError): string {
  return typeof e.message === 'string' && e.message !== '' ? e.message : String(e.name ?? 'unknown error');
}

/** Whether trying again can help: kafkajs' verdict on the innermost error, or a connection error anywhere. */
function transient(chain: KafkaLikeError[]): boolean {
  if (chain.some((e) => typeof e.name === 'string' && CONNECTION_NAMES.has(e.name))) return true;
  const root = innermost(chain);
  if (root.name === 'TypeError' || root.name === 'RangeError' || root.name === 'ReferenceError' || root.name === 'SyntaxError') return false;
  return root.retriable === true;
}

/**
 * The SyncError for an error kafkajs threw while doing `ctx.doing` (a SyncError of ours that
 * kafkajs wrapped is returned as it is):
 * - SASL refused (wrong user/password, mechanism, or a listener without SASL): KAFKA_UNREACHABLE,
 *   NOT retriable, naming the mechanism and user (never the password);
 * - MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE: RECORD_TOO_LARGE;
 * - UNKNOWN_TOPIC_OR_PARTITION (once kafkajs gave up): KAFKA_TOPIC_MISSING;
 * - authorization failures: KAFKA_UNREACHABLE, not retriable, naming the permission to grant;
 * - a transactional producer's epoch refused (fenced): NOT_ACTIVE, another producer of its
 *   transactional id (another instance of the task) took over;
 * - lost producer state (idempotence): KAFKA_UNREACHABLE, retriable (a new producer fixes it);
 * - anything else: KAFKA_UNREACHABLE, retriable when the cause is transient (connection,
 *   timeout, leader change) and not otherwise.
 * The password, when given, is removed from every message.
 */
export function kafkaErrorToSyncError(error: unknown, ctx: KafkaErrorContext): SyncError {
  if (error instanceof SyncError) return error;
  const chain = errorChain(error);
  // Our own code inside kafkajs (the record batch encoder, kafkajs-fast-produce.ts) already said what is wrong.
  const ours = chain.find((e): e is KafkaLikeError & SyncError => e instanceof SyncError);
  if (ours !== undefined) return ours;
  const root = innermost(chain);
  const types = new Set(chain.map((e) => e.type).filter((t): t is string => typeof t === 'string'));
  const brokers = ctx.brokers.join(', ');
  const secret = ctx.sasl?.password;
  const cause = redact(messageOf(root), secret);
  const make = (code: ConstructorParameters<typeof SyncError>[0], message: string, retriable?: boolean) =>
    new SyncError(code, redact(message, secret), retriable === undefined ? { cause: error } : { cause: error, retriable });

  const saslType = [...types].find((t) => SASL_TYPES.has(t));
  if (saslType !== undefined || chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError')) {
    const who = ctx.sasl === undefined
      ? 'SASL authentication'
      : `SASL ${ctx.sasl.mechanism.toUpperCase()} authentication as user ${JSON.stringify(ctx.sasl.username)}`;
    const fix =
      saslType === 'ILLEGAL_SASL_STATE'
        ? 'the broker listener does not take SASL: connect to its SASL listener, or remove kafka.sasl if the cluster has no authentication'
        : saslType === 'UNSUPPORTED_SASL_MECHANISM'
          ? 'the broker does not enable this mechanism: set kafka.sasl.mechanism to one the broker enables'
          : 'check kafka.sasl.username, kafka.sasl.password and kafka.sasl.mechanism';
    return make('KAFKA_UNREACHABLE', `${who} failed on ${brokers} while ${ctx.doing}: ${cause}; ${fix}. Not retried: the same credentials would fail again`, false);
  }

  if ([...types].some((t) => TOO_LARGE_TYPES.has(t))) {
    const what = ctx.tooLarge?.() ?? 'a record batch';
    return make(
      'RECORD_TOO_LARGE',
      `Kafka refused ${what} as too large (${[...types].filter((t) => TOO_LARGE_TYPES.has(t)).join(', ')}: ${cause}); ` +
        "raise the topic's max.message.bytes (and the brokers' message.max.bytes and replica.fetch.max.bytes), " +
        "or set kafka.maxRecordBytes no higher than the topic's max.message.bytes so such a record is reported before it is sent",
    );
  }

  if (types.has('UNKNOWN_TOPIC_OR_PARTITION')) {
    const topics = ctx.topics !== undefined && ctx.topics.length > 0 ? ctx.topics.join(', ') : 'the topic';
    return make(
      'KAFKA_TOPIC_MISSING',
      `Kafka at ${brokers} does not have ${topics} (or one of its partitions) while ${ctx.doing}: ${cause}; ` +
        'create the topic, or set kafka.createTopics: true',
    );
  }

  const authorization = [...types].find((t) => AUTHORIZATION_TYPES.has(t));
  if (authorization !== undefined) {
    const fix =
      authorization === 'TOPIC_AUTHORIZATION_FAILED'
        ? 'grant the user WRITE and DESCRIBE on the topics (and CREATE, DESCRIBE_CONFIGS for kafka.createTopics)'
        : authorization === 'CLUSTER_AUTHORIZATION_FAILED'
          ? 'grant the user the cluster permission the request needs (IDEMPOTENT_WRITE for an idempotent producer on Kafka before 3.0, CREATE for kafka.createTopics)'
          : 'grant the user the permission the request needs';
    return make('KAFKA_UNREACHABLE', `Kafka at ${brokers} refused the request while ${ctx.doing}: ${authorization} (${cause}); ${fix}`, false);
  }

  if (ctx.transactionalId !== undefined && ([...types].some((t) => FENCED_TYPES.has(t)) || chain.some((e) => (e as { code?: unknown }).code === 90))) {
    return make('NOT_ACTIVE',
      `Kafka fenced this producer while ${ctx.doing}: a newer producer with transactional id ${ctx.transactionalId} started ` +
        `(another instance of the task took over); what this one sent since its last commit is aborted (${cause})`, false);
  }

  const producerState = [...types].find((t) => PRODUCER_STATE_TYPES.has(t));
  if (producerState !== undefined) {
    return make(
      'KAFKA_UNREACHABLE',
      `Kafka at ${brokers} no longer accepts this producer's sequence while ${ctx.doing} (${producerState}: ${cause}); ` +
        'reconnecting with a new producer and resending from the last checkpoint fixes it',
      true,
    );
  }

  // An untrusted certificate or a port without TLS looks like a failed connection to kafkajs; retrying cannot fix it.
  const tls = tlsFailure(error);
  if (tls !== undefined) {
    return make('KAFKA_UNREACHABLE', `TLS to Kafka at ${brokers} failed while ${ctx.doing} (${tls.code}: ${cause}); ${tlsFix(tls, 'kafka.tls')}. Not retried`, false);
  }

  const retriable = transient(chain);
  const attempts = chain.find((e) => e.name === 'KafkaJSNumberOfRetriesExceeded') !== undefined ? ' (gave up after retrying)' : '';
  const hint = retriable
    ? 'check kafka.brokers, that the brokers run and that this host reaches them (and kafka.tls / kafka.sasl if their listener needs TLS or SASL); retried later'
    : 'this is not expected to pass on retry';
  return make('KAFKA_UNREACHABLE', `Kafka at ${brokers} failed while ${ctx.doing}${attempts}: ${cause}; ${hint}`, retriable);
}
