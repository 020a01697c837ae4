#!/usr/bin/env node
/**
 * `npm run consume -- --config consume.yaml [flags]`: prints the DTS records of a topic,
 * decoded, as text or JSON lines (stdout), with logs on stderr. Every option of the file
 * has a flag that overrides it; without --config, the flags are the whole configuration.
 * A first SIGTERM/SIGINT stops cleanly (the record in hand finished, offsets committed);
 * a second one exits at once.
 */
import { once } from 'node:events';
import { Command } from 'commander';
import pino from 'pino';
import { DtsConsumer } from '../consumer/consumer.ts';
import { loadConsumeConfig, OPTION_FLAGS, type ConsumeOverrides } from '../consumer/load-consume-config.ts';
import { consumerOptionsFromConfig } from '../consumer/options-from-config.ts';
import { formatJson, formatText } from '../consumer/record-format.ts';
import { isSyncError } from '../errors.ts';

const DUPLICATES_NOTE = `
Duplicates: delivery is at-least-once. After a crash or a restart, the records processed
since the last commit (at most commit-interval-ms of them) are printed again, and a start
from a checkpoint timestamp repeats every record of that second (and the synchronizer
itself re-produces records after its own crash). Filter repeats downstream by
sourcePosition plus the message key (the row's key values): a record whose
(objectName, sourcePosition, key, operation) was already applied is a repeat; for a row
changed several times in one statement also compare the images. The record id is NOT a
unique key (a re-produced record gets a new id).

Checkpoints are UNIX timestamps in seconds (not milliseconds).

Examples:
  npm run consume -- --config consume.yaml
  npm run consume -- --config consume.yaml --checkpoint 1714557600 --format json | jq .operation
  npm run consume -- --brokers 127.0.0.1:19092 --topic dts_demo --group g1 --mode subscribe --use-config-checkpoint false

Options and their defaults: docs/consumer.md`;

/** commander's option names (camelCase) → the config option they override. */
const FLAG_OPTIONS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(OPTION_FLAGS).map(([option, flag]) => [flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), option]),
);

const program = new Command('consume')
  .description('print the DTS records of a topic, decoded (the tracked-data consumer)')
  .option('-c, --config <file>', 'the YAML config file (see docs/consumer.md); flags override its options')
  .option('--brokers <list>', 'bootstrap brokers, comma-separated host:port')
  .option('--topic <name>', 'topic to read')
  .option('--group <id>', 'consumer group id')
  .option('--client-id <id>', 'Kafka client id')
  .option('--sasl-mechanism <name>', 'plain, scram-sha-256 or scram-sha-512')
  .option('--username <name>', 'SASL user name')
  .option('--account <name>', 'DTS: SASL user name becomes <account>-<group>')
  .option('--password <secret>', 'SASL password (prefer ${VAR} in the config file: a flag shows in ps)')
  .option('--tls', 'connect over TLS')
  .option('--tls-ca <file>', 'PEM file of the CA to trust')
  .option('--tls-cert <file>', 'PEM client certificate')
  .option('--tls-key <file>', 'PEM client key')
  .option('--tls-reject-unauthorized <bool>', "verify the brokers' certificates (true|false)")
  .option('--checkpoint <seconds>', 'initial checkpoint, UNIX seconds')
  .option('--use-config-checkpoint <bool>', 'true: start from --checkpoint at each start; false: from the stored checkpoint')
  .option('--mode <mode>', 'assign (the listed partitions) or subscribe (join the group, fail over)')
  .option('--partitions <list>', 'assign mode: partitions, comma-separated (default 0)')
  .option('--checkpoint-file <file>', 'local checkpoint file ("none": keep none)')
  .option('--commit-interval-ms <ms>', 'commit processed offsets this often (0: after every record)')
  .option('--session-timeout-ms <ms>', 'group session timeout (how soon a dead client\'s partitions move)')
  .option('--format <format>', 'text or json (one object per line)')
  .option('--max-value-chars <n>', 'text format: cut longer values (0: never)')
  .option('--exit-at-end', 'assign mode: stop at the end of the partitions as of the start')
  .option('--log-level <level>', 'trace, debug, info, warn or error (logs go to stderr)')
  .addHelpText('after', DUPLICATES_NOTE)
  .showHelpAfterError();

function overridesFrom(opts: Record<string, unknown>): ConsumeOverrides {
  const out: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(opts)) {
    const option = FLAG_OPTIONS[name];
    if (option !== undefined && value !== undefined) out[option] = value as string | boolean;
  }
  return out;
}

async function main(): Promise<void> {
  program.parse(process.argv);
  const opts = program.opts<Record<string, unknown>>();
  const config = loadConsumeConfig(typeof opts.config === 'string' ? opts.config : null, overridesFrom(opts));
  const logger = pino(
    { level: config.log.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    process.stderr.isTTY
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } })
      : pino.destination(2),
  );
  const consumer = new DtsConsumer(consumerOptionsFromConfig(config, logger));

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    logger.info({ signal: sig }, 'stopping: finishing the record in hand and committing (signal again to exit at once)');
    void consumer.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A closed pipe (`| head`) ends the run like a signal; what was printed is committed.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') void consumer.stop();
  });

  const format = config.format === 'json' ? formatJson : (r: Parameters<typeof formatText>[0]) => formatText(r, { maxValueChars: config.maxValueChars });
  await consumer.run(async (record) => {
    // Printed means processed: wait for stdout to take it before the offset may be committed.
    if (!process.stdout.write(format(record))) await once(process.stdout, 'drain');
  });
  const { records, skipped } = consumer.stats;
  logger.info({ records, skipped }, `stopped after ${records} records`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (isSyncError(err)) {
      process.stderr.write(`error [${err.code}]: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
