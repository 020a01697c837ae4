/**
 * The one place a kafkajs client is configured: brokers, client id, SASL, TLS, the socket
 * factory, retries and the log adapter, for the sink, the precheck's Kafka checks and the
 * consumer alike, so that a change to how we talk to Kafka (SNI, keep-alive, SASL, a
 * kafkajs upgrade) reaches every client; each caller only picks its timeouts, retries and
 * logger.
 *
 * TLS comes in as PEM contents: the files are read by src/config/tls-files.ts, the one
 * reader of TLS files in the program, so that a missing file is the same CONFIG_INVALID
 * message naming the option wherever it is read.
 */
import net from 'node:net';
import tls from 'node:tls';
import kafkajs from 'kafkajs';
import type { ISocketFactory, Kafka as KafkaClient, KafkaConfig, SASLOptions } from 'kafkajs';
import { kafkajsLogCreator, type SinkLogger } from './kafkajs-log.ts';

const { Kafka, logLevel } = kafkajs;

export interface KafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** TLS to the brokers: present means on. PEM contents (not file names): src/config/tls-files.ts reads the files. */
export interface KafkaTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Default true: the broker's certificate and host name are checked. */
  readonly rejectUnauthorized?: boolean;
}

export interface KafkaRetry {
  /** Retries of a failed request or connection attempt (kafkajs default 5). */
  retries?: number;
  /** First backoff in ms (kafkajs default 300), doubled each time up to maxRetryTime. */
  initialRetryTime?: number;
  /** Largest backoff in ms (kafkajs default 30,000). */
  maxRetryTime?: number;
  factor?: number;
  multiplier?: number;
}

export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly sasl?: KafkaSasl;
  readonly tls?: KafkaTls;
  /** Where kafkajs' own warnings and errors go, without the SASL password. */
  readonly logger: SinkLogger;
  /** kafkajs' retries, for every producer, consumer and admin client made from the client. */
  readonly retry?: KafkaRetry;
  /** TCP connect timeout per attempt, ms (default 3,000). */
  readonly connectionTimeoutMs?: number;
  /** How long to wait for a broker's answer to a request, ms (default 30,000). */
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * kafkajs' own socket factory (net or tls with SNI, keep-alive 60 s) that also keeps each
 * open socket by broker (`host:port`): kafkajs retries a request that timed out on the same
 * socket, so the sink closes a silent broker's sockets itself (KafkaSink.onRequestTimeout).
 */
export class BrokerSockets {
  private readonly open = new Map<string, Set<net.Socket>>();

  readonly factory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(ssl as tls.ConnectionOptions) }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    const broker = `${host}:${port}`;
    let set = this.open.get(broker);
    if (set === undefined) this.open.set(broker, (set = new Set()));
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.open.get(broker) === set) this.open.delete(broker);
    });
    return socket;
  };

  /** Closes, with `reason` as the error, every open socket to `broker`; returns how many. */
  destroy(broker: string, reason: string): number {
    const set = this.open.get(broker);
    if (set === undefined) return 0;
    const sockets = [...set];
    for (const socket of sockets) socket.destroy(new Error(reason));
    return sockets.length;
  }
}

/** The kafkajs config for `o`, its sockets made by `sockets`. */
export function kafkaClientConfig(o: KafkaConnectionOptions, sockets: BrokerSockets): KafkaConfig {
  const config: KafkaConfig = {
    clientId: o.clientId,
    brokers: [...o.brokers],
    connectionTimeout: o.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeout: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    // Below WARN kafkajs narrates every connection; the adapter maps what is left to our levels.
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(o.logger, o.sasl?.password),
    socketFactory: sockets.factory,
  };
  if (o.retry !== undefined) config.retry = { ...o.retry };
  if (o.sasl !== undefined) {
    const { mechanism, username, password } = o.sasl;
    // kafkajs' SASLOptions is a union keyed by mechanism literal; ours is the same three.
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
  return config;
}

/** A kafkajs client for `o`, and the sockets it opens. */
export function createKafkaConnection(o: KafkaConnectionOptions): { kafka: KafkaClient; sockets: BrokerSockets } {
  const sockets = new BrokerSockets();
  return { kafka: new Kafka(kafkaClientConfig(o, sockets)), sockets };
}
