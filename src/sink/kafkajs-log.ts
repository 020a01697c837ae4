/**
 * Routes kafkajs' own log lines (warn and error only) to the project's pino-like logger,
 * without the SASL password.
 */
import kafkajs from 'kafkajs';
import type { LogEntry, logCreator } from 'kafkajs';
import { redact } from './kafka-errors.ts';

const { logLevel } = kafkajs;

/** The part of a pino logger the sink uses. */
export interface SinkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * kafkajs messages that only restate a choice the sink made on purpose, or an answer that
 * is part of the normal flow: logged at debug. (An idempotent producer with bounded
 * retries: the sink bounds them so that a failure reaches the pipeline; order is kept by the
 * sink sending one request at a time. A transaction's first send while the broker still
 * writes the previous one's markers: retried at once, see transactionalRetry in kafka-sink.ts.)
 */
const EXPECTED = [/^Limiting retries for the idempotent producer/, /another concurrent operation on the same transaction was ongoing/];

function clean(value: unknown, secret: string | undefined, depth: number): unknown {
  if (typeof value === 'string') return redact(value, secret);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 3) return '[…]';
  if (Array.isArray(value)) return value.map((v) => clean(v, secret, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'password' || k === 'sasl') continue;
    out[k] = clean(v, secret, depth + 1);
  }
  return out;
}

/**
 * A kafkajs `logCreator` writing to `logger`: kafkajs ERROR → logger.error, WARN →
 * logger.warn (the Kafka client is created at logLevel WARN, so nothing below reaches it).
 * Each line has `{ component: 'kafkajs', namespace, ...kafkajs' fields }`, without its
 * timestamp and stack, and with every occurrence of `secret` replaced by `***`.
 */
export function kafkajsLogCreator(logger: SinkLogger, secret: string | undefined): logCreator {
  return () => (entry: LogEntry) => {
    const { timestamp: _timestamp, message, stack: _stack, logger: _logger, ...extra } = entry.log;
    const text = redact(String(message), secret);
    const fields = { component: 'kafkajs', namespace: entry.namespace, ...(clean(extra, secret, 0) as object) };
    if (EXPECTED.some((re) => re.test(text))) {
      logger.debug(fields, text);
    } else if (entry.level === logLevel.ERROR) {
      logger.error(fields, text);
    } else if (entry.level === logLevel.WARN) {
      logger.warn(fields, text);
    } else {
      logger.debug(fields, text);
    }
  };
}
