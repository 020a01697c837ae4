/**
 * A kafkajs client for reading: brokers, SASL (PLAIN, SCRAM) and TLS configured as the sink's
 * (src/sink/kafka-connection.ts, the one place a kafkajs client is configured), with kafkajs'
 * own warnings routed to the caller's logger without the password.
 */
import type { Kafka as KafkaClient } from 'kafkajs';
import { createKafkaConnection, type KafkaSasl, type KafkaTls } from '../sink/kafka-connection.ts';
import type { SinkLogger } from '../sink/kafkajs-log.ts';

export type ConsumerLogger = SinkLogger;

export type ConsumerSasl = KafkaSasl;

/** TLS to the brokers: present means on. PEM contents (not file names). */
export type ConsumerTls = KafkaTls;

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly sasl?: ConsumerSasl;
  readonly tls?: ConsumerTls;
  readonly logger: ConsumerLogger;
  /** TCP connect timeout per attempt, ms (default 3,000) */
  readonly connectionTimeoutMs?: number;
  /** kafkajs' retries of a failed request (default 5, about 10 s) */
  readonly retries?: number;
}

export function createKafkaClient(o: KafkaClientOptions): KafkaClient {
  return createKafkaConnection({
    brokers: o.brokers,
    clientId: o.clientId,
    logger: o.logger,
    retry: { retries: o.retries ?? 5 },
    ...(o.sasl ? { sasl: o.sasl } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: o.connectionTimeoutMs } : {}),
  }).kafka;
}
