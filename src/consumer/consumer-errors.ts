/**
 * What kafkajs throws while consuming, as the project's SyncError: the consumer's own cases
 * (group protocol, read permissions) here, the rest through the sink's mapping
 * (src/sink/kafka-errors.ts), with its option names put in the consumer's terms.
 */
import { SyncError } from '../errors.ts';
import { errorChain, kafkaErrorToSyncError, redact } from '../sink/kafka-errors.ts';

export interface ConsumerErrorContext {
  readonly doing: string;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly group: string;
  readonly sasl?: { mechanism: string; username: string; password: string };
}

export function consumerError(error: unknown, ctx: ConsumerErrorContext): SyncError {
  if (error instanceof SyncError) return error;
  const chain = errorChain(error);
  const types = new Set(chain.map((e) => e.type).filter((t): t is string => typeof t === 'string'));
  const secret = ctx.sasl?.password;
  const brokers = ctx.brokers.join(', ');
  const make = (code: ConstructorParameters<typeof SyncError>[0], message: string) =>
    new SyncError(code, redact(message, secret), { cause: error, retriable: false });

  if (types.has('INCONSISTENT_GROUP_PROTOCOL')) {
    return make(
      'CONSUMER_GROUP_CONFLICT',
      `group ${ctx.group} already has clients in the other mode (assign and subscribe clients cannot share a group); give this client its own group, or the same mode as the others`,
    );
  }
  if (types.has('GROUP_AUTHORIZATION_FAILED')) {
    return make('KAFKA_UNREACHABLE', `Kafka at ${brokers} refused group ${ctx.group} while ${ctx.doing}: GROUP_AUTHORIZATION_FAILED; grant the user READ on the group`);
  }
  if (types.has('TOPIC_AUTHORIZATION_FAILED')) {
    return make('KAFKA_UNREACHABLE', `Kafka at ${brokers} refused topic ${ctx.topic} while ${ctx.doing}: TOPIC_AUTHORIZATION_FAILED; grant the user READ and DESCRIBE on the topic`);
  }
  const mapped = kafkaErrorToSyncError(error, { doing: ctx.doing, brokers: ctx.brokers, topics: [ctx.topic], ...(ctx.sasl ? { sasl: ctx.sasl } : {}) });
  // The sink's messages name the synchronizer's options (kafka.sasl.username ...); the
  // consumer's options are at the top level, and it never creates topics.
  const message = mapped.message
    .replace('; create the topic, or set kafka.createTopics: true', '; check the option topic (the synchronizer creates its topics)')
    .replace(/\bkafka\.(sasl|brokers|tls)\b/g, '$1')
    // The sink's supervisor retries; the consumer stops and reports.
    .replace(/; retried later$/, '');
  return new SyncError(mapped.code, message, { cause: error, retriable: mapped.retriable });
}
