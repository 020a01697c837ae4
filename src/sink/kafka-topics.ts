/**
 * The sink's topic administration: creating missing topics (and waiting for their leaders)
 * and reading each topic's max.message.bytes, which the produce plan cuts batches by. Kept
 * apart from kafka-sink.ts, which holds the producer side.
 */
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { SyncError } from '../errors.ts';
import { type KafkaErrorContext, protocolErrorType } from './kafka-errors.ts';
import type { SinkLogger } from './kafkajs-log.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from './produce-plan.ts';
import type { EnsureTopicsOptions } from './sink.ts';

const { ConfigResourceTypes } = kafkajs;

/** What the topic functions need of the sink. */
export interface TopicAdminContext {
  readonly brokerList: string;
  readonly logger: SinkLogger;
  readonly toSyncError: (e: unknown, ctx: Pick<KafkaErrorContext, 'doing' | 'topics'>) => SyncError;
  /** How long to wait for created topics to show in the metadata, ms (default 30,000). */
  readonly topicWaitMs?: number;
}

export async function createTopics(admin: Admin, missing: string[], opts: EnsureTopicsOptions, o: TopicAdminContext): Promise<void> {
  const waitMs = o.topicWaitMs ?? 30_000;
  try {
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor })),
      waitForLeaders: true,
      timeout: waitMs,
    });
  } catch (e) {
    const type = protocolErrorType(e);
    const mapped = o.toSyncError(e, { doing: `creating topics ${missing.join(', ')}`, topics: missing });
    if (mapped.retriable || type === undefined || type.includes('AUTHORIZATION')) throw mapped;
    const fix =
      type === 'INVALID_REPLICATION_FACTOR'
        ? `kafka.topicReplicationFactor (${opts.replicationFactor}) is more than the brokers Kafka has: lower it`
        : type === 'INVALID_PARTITIONS'
          ? `kafka.topicPartitions (${opts.partitions}) is not accepted: use a count from 1 up`
          : 'create the topics by hand, or fix what the broker names';
    throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${o.brokerList} could not create topic ${missing.join(', ')}: ${type} (${mapped.message}); ${fix}`, {
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
        throw o.toSyncError(e, { doing: `waiting for topics ${missing.join(', ')}`, topics: missing });
      }
    }
    if (ready) return;
    if (Date.now() > deadline) {
      throw new SyncError(
        'KAFKA_TOPIC_MISSING',
        `Kafka at ${o.brokerList} created topic ${missing.join(', ')}, but its metadata shows no leader for every partition after ${waitMs} ms; check the brokers' health and retry`,
        { retriable: true },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Each topic's max.message.bytes; a topic the broker will not describe (e.g. no DESCRIBE_CONFIGS right) is left out. */
export async function readMaxMessageBytes(admin: Admin, topics: string[], o: TopicAdminContext): Promise<Map<string, number>> {
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
    const mapped = o.toSyncError(e, { doing: `reading max.message.bytes of ${topics.join(', ')}` });
    if (mapped.retriable) throw mapped;
    o.logger.warn(
      { topics, error: mapped.message },
      `cannot read max.message.bytes of the topics; assuming the broker default ${DEFAULT_MAX_MESSAGE_BYTES} when cutting record batches`,
    );
  }
  for (const topic of topics) {
    if (!out.has(topic)) o.logger.debug({ topic }, `max.message.bytes of ${topic} unknown; assuming ${DEFAULT_MAX_MESSAGE_BYTES}`);
  }
  return out;
}
