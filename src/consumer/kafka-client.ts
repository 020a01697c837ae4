/**
 * A kafkajs client for reading: brokers, SASL (PLAIN, SCRAM) and TLS as the sink sets them
 * up, with kafkajs' own warnings routed to the caller's logger without the password.
 */
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, KafkaConfig, SASLOptions } from 'kafkajs';
import { kafkajsLogCreator, type SinkLogger } from '../sink/kafkajs-log.ts';

const { Kafka, logLevel } = kafkajs;

export type ConsumerLogger = SinkLogger;

export interface ConsumerSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** TLS to the brokers: present means on. PEM contents (not file names). */
export interface ConsumerTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized?: boolean;
}

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
  const config: KafkaConfig = {
    clientId: o.clientId,
    brokers: [...o.brokers],
    connectionTimeout: o.connectionTimeoutMs ?? 3_000,
    requestTimeout: 30_000,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(o.logger, o.sasl?.password),
    retry: { retries: o.retries ?? 5 },
  };
  if (o.sasl !== undefined) {
    const { mechanism, username, password } = o.sasl;
    config.sasl = { mechanism, username, password } as SASLOptions;
  }
  if (o.tls !== undefined) {
    const { ca, cert, key, rejectUnauthorized } = o.tls;
    config.ssl = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      rejectUnauthorized: rejectUnauthorized ?? true,
    };
  }
  return new Kafka(config);
}
