/**
 * The precheck's questions to Kafka, with the config's brokers, TLS and SASL (as the sink
 * connects): can we connect and authenticate, which release the brokers run, and whether
 * the target topics exist. Reads only: topics are listed, never created, and metadata is
 * asked only for topics that exist (an old broker would auto-create a topic it is asked about).
 */
import type { Admin } from 'kafkajs';
import { checkObjectPattern, topicFor, type SyncConfig } from '../config/index.ts';
import { type TlsContents, tlsContents } from '../config/tls-files.ts';
import { tlsFailure, tlsFix } from '../tls-errors.ts';
import { errorChain, redact } from '../sink/kafka-errors.ts';
import { createKafkaConnection } from '../sink/kafka-connection.ts';
import { probeApiVersions, type ProbeResult } from './kafka-api-versions.ts';
import { inferKafkaVersion, OLDEST_EXACTLY_ONCE, OLDEST_SUPPORTED } from './kafka-version.ts';
import type { PrecheckLogger } from './logger.ts';
import { fail, listSome, pass, plural, type PrecheckCheck, skip } from './report.ts';
import type { SelectedTable } from './source-checks.ts';

export const KAFKA_CHECKS = ['kafka_connection', 'kafka_version', 'topics'] as const;

/** Short on purpose: the precheck should answer in seconds, also when a broker is down. */
const CONNECT_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 5_000;

interface Broker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface KafkaSession {
  /** kafka_connection and kafka_version */
  readonly checks: readonly PrecheckCheck[];
  /** connected, for the topic check; null when Kafka could not be reached */
  readonly admin: Admin | null;
  readonly brokers: readonly Broker[];
  close(): Promise<void>;
}

/** kafkajs' own complaints (connection refused, retries) belong to the report, not the log. */
function quiet(log: PrecheckLogger): PrecheckLogger {
  const debug = (obj: object, msg?: string) => log.debug(obj, msg);
  return { debug, info: debug, warn: debug, error: debug };
}

function unreachable(checks: PrecheckCheck[]): KafkaSession {
  return { checks: [...checks, skip('kafka_version', 'Kafka could not be reached')], admin: null, brokers: [], close: async () => {} };
}

export async function connectKafka(config: SyncConfig, log: PrecheckLogger): Promise<KafkaSession> {
  const k = config.kafka;
  const bootstrap = k.brokers.join(', ');
  const secret = k.sasl?.password;
  let tls: TlsContents | undefined;
  try {
    tls = tlsContents(k.tls, 'kafka.tls');
  } catch (e) {
    return unreachable([fail('kafka_connection', (e as Error).message, 'fix the path of kafka.tls.ca / cert / key (relative paths start at the config file)')]);
  }
  // As the sink connects (kafka-connection.ts), with the precheck's short timeouts and one retry.
  const { kafka } = createKafkaConnection({
    brokers: k.brokers,
    clientId: k.clientId,
    connectionTimeoutMs: CONNECT_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
    logger: quiet(log),
    ...(tls ? { tls } : {}),
    ...(k.sasl ? { sasl: k.sasl } : {}),
  });
  const admin = kafka.admin();
  const close = () => admin.disconnect().catch(() => {});
  let brokers: Broker[];
  let clusterId: string;
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    brokers = cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }));
    clusterId = cluster.clusterId;
  } catch (e) {
    await close();
    return unreachable([connectionFailure(e, config, secret)]);
  }
  const auth = [tls ? 'TLS' : '', k.sasl ? `SASL ${k.sasl.mechanism.toUpperCase()} as ${k.sasl.username}` : ''].filter(Boolean).join(', ');
  const connection = pass('kafka_connection',
    `${bootstrap}${auth ? ` (${auth})` : ''}: cluster ${clusterId}, ${plural(brokers.length, 'broker')} ` +
      `(${listSome(brokers.map((b) => `${b.nodeId} at ${b.host}:${b.port}`), 5)})`);
  const version = await versionCheck(config, brokers, tls);
  return { checks: [connection, version], admin, brokers, close };
}

function connectionFailure(e: unknown, config: SyncConfig, secret: string | undefined): PrecheckCheck {
  const chain = errorChain(e);
  const root = chain[chain.length - 1] ?? {};
  const cause = redact(typeof root.message === 'string' ? root.message : String(e), secret);
  const bootstrap = config.kafka.brokers.join(', ');
  const sasl = config.kafka.sasl;
  if (chain.some((x) => x.name === 'KafkaJSSASLAuthenticationError' || (typeof x.type === 'string' && x.type.includes('SASL')))) {
    return fail('kafka_connection', `${bootstrap} refused SASL ${sasl?.mechanism.toUpperCase() ?? ''} authentication as ${sasl?.username ?? '(none)'}: ${cause}`,
      'check kafka.sasl.username, kafka.sasl.password and kafka.sasl.mechanism');
  }
  const tls = tlsFailure(e);
  if (tls) return fail('kafka_connection', `TLS to Kafka at ${bootstrap} failed (${tls.code}): ${cause}`, tlsFix(tls, 'kafka.tls'));
  return fail('kafka_connection', `cannot reach Kafka at ${bootstrap}: ${cause}`,
    'check kafka.brokers, that the brokers run and that this host reaches them, and kafka.tls / kafka.sasl if their listener needs TLS or SASL', true);
}

async function versionCheck(config: SyncConfig, brokers: readonly Broker[], tls: TlsContents | undefined): Promise<PrecheckCheck> {
  const results = await Promise.all(
    brokers.map(async (b) => ({
      broker: b,
      result: await probeApiVersions({ host: b.host, port: b.port, clientId: config.kafka.clientId, timeoutMs: CONNECT_TIMEOUT_MS, ...(tls ? { tls } : {}) }),
    })),
  );
  const failed = results.filter((r): r is { broker: Broker; result: Extract<ProbeResult, { ok: false }> } => !r.result.ok);
  if (failed.length > 0) {
    const closed = failed.filter((f) => f.result.reason === 'closed');
    const detail = failed.map((f) => `broker ${f.broker.nodeId} at ${f.broker.host}:${f.broker.port}: ${f.result.message}`).join('; ');
    return closed.length === failed.length
      ? fail('kafka_version', `${detail}: brokers before 0.10.0 do that (or the listener expects another protocol)`,
          `run Kafka ${OLDEST_SUPPORTED} or newer, and check kafka.tls for a TLS listener`)
      : fail('kafka_version', `${detail}`,
          "each broker must be reachable from this host at the address it advertises: check the brokers' advertised.listeners, and kafka.tls", true);
  }
  const ranges = results.map((r) => ({ broker: r.broker, range: inferKafkaVersion((r.result as Extract<ProbeResult, { ok: true }>).answer.apis) }));
  const labels = [...new Set(ranges.map((r) => `${r.range.label} (${r.range.basis})`))];
  const detail = labels.length === 1
    ? `Kafka ${labels[0]}`
    : `brokers differ: ${ranges.map((r) => `${r.broker.nodeId}: ${r.range.label}`).join(', ')}`;
  const old = ranges.filter((r) => !r.range.supported);
  if (old.length > 0) {
    return fail('kafka_version', `${detail}; older than ${OLDEST_SUPPORTED}, the oldest release DTS and this synchronizer support (${old.map((r) => `broker ${r.broker.nodeId}`).join(', ')})`,
      `upgrade the brokers to Kafka ${OLDEST_SUPPORTED} or newer`);
  }
  const noTransactions = ranges.filter((r) => !r.range.exactlyOnce);
  if (config.delivery === 'exactly-once' && noTransactions.length > 0) {
    return fail('kafka_version',
      `${detail}; delivery exactly-once needs Kafka ${OLDEST_EXACTLY_ONCE} or newer (InitProducerId v3, KIP-360: a transactional producer that can recover), ` +
        `and ${noTransactions.map((r) => `broker ${r.broker.nodeId}`).join(', ')} ${noTransactions.length === 1 ? 'is' : 'are'} older`,
      `upgrade the brokers to Kafka ${OLDEST_EXACTLY_ONCE} or newer, or set delivery: at-least-once (with checkpoint.store kafka a takeover then repeats the records since the last checkpoint)`);
  }
  return pass('kafka_version', `${detail}; ${OLDEST_SUPPORTED} or newer is supported${config.delivery === 'exactly-once' ? `, and ${OLDEST_EXACTLY_ONCE} or newer for delivery exactly-once` : ''}`);
}

/**
 * The topics the synchronizer will write: each selected table's (topicFor), and
 * topics.default for DDL records when they are on. Without the source's table list
 * (unreachable), `db.*` entries stand for their mapping or the default topic, plus the
 * mappings of their tables.
 */
export function targetTopics(config: SyncConfig, tables: readonly SelectedTable[] | null): string[] {
  const topics: string[] = [];
  if (tables !== null) {
    for (const t of tables) topics.push(topicFor(config, t.database, t.table));
  } else {
    for (const o of config.objects) {
      topics.push(topicFor(config, o.database, o.table));
      if (o.table === '*') {
        for (const [key, topic] of Object.entries(config.topics.mapping)) {
          const parsed = checkObjectPattern(key);
          if (parsed.ok && parsed.pattern.database === o.database) topics.push(topic);
        }
      }
    }
  }
  if (config.ddl.emit) topics.push(config.topics.default);
  return [...new Set(topics)];
}

/** Whether each target topic exists (with its partitions), or would be created at start. */
export async function checkTopics(session: KafkaSession, topics: readonly string[], config: SyncConfig, partial: boolean): Promise<PrecheckCheck> {
  const admin = session.admin;
  if (admin === null) return skip('topics', 'Kafka could not be reached');
  if (topics.length === 0) return skip('topics', 'no selected table exists and ddl.emit is off, so no topic is written');
  const k = config.kafka;
  let existing: Set<string>;
  let partitions: Map<string, number>;
  try {
    existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const { topics: metadata } = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    partitions = new Map(metadata.map((t) => [t.name, t.partitions.length]));
  } catch (e) {
    const chain = errorChain(e);
    const root = chain[chain.length - 1] ?? {};
    return fail('topics', `cannot list the topics: ${redact(String(root.message ?? e), k.sasl?.password)}`,
      'grant the user DESCRIBE on the topics (and on the cluster to list them), and check that the brokers stay up', true);
  }
  const found = topics.filter((t) => existing.has(t)).map((t) => `${t} (${plural(partitions.get(t) ?? 0, 'partition')})`);
  const missing = topics.filter((t) => !existing.has(t));
  const note = partial ? ' (the source could not be read: tables of db.* entries are not known)' : '';
  const foundText = found.length > 0 ? `${listSome(found)} ${found.length === 1 ? 'exists' : 'exist'}` : '';
  if (missing.length === 0) return pass('topics', `${foundText}${note}`);
  const missingText = `${listSome(missing)} ${missing.length === 1 ? 'does' : 'do'} not exist`;
  if (!k.createTopics) {
    return fail('topics', `${[missingText, foundText].filter(Boolean).join('; ')}, and kafka.createTopics is off${note}`,
      `create ${missing.length === 1 ? 'it' : 'them'} (e.g. kafka-topics.sh --bootstrap-server ${k.brokers[0]} --create --topic ${missing[0]} ` +
        `--partitions ${k.topicPartitions} --replication-factor ${k.topicReplicationFactor}; the partition count must not change while syncing), ` +
        'or set kafka.createTopics: true');
  }
  if (session.brokers.length > 0 && k.topicReplicationFactor > session.brokers.length) {
    return fail('topics', `${missingText} and would be created with kafka.topicReplicationFactor ${k.topicReplicationFactor}, ` +
        `but the cluster has ${plural(session.brokers.length, 'broker')}: creating ${missing.length === 1 ? 'it' : 'them'} would fail`,
      `set kafka.topicReplicationFactor to at most ${session.brokers.length}, or create the topics yourself`);
  }
  const willCreate = `${listSome(missing)} will be created (kafka.createTopics is on; ${plural(k.topicPartitions, 'partition')}, replication factor ${k.topicReplicationFactor})`;
  return pass('topics', `${[foundText, willCreate].filter(Boolean).join('; ')}${note}`);
}
