#!/usr/bin/env node
/**
 * `npm run verify -- --config config.yaml`: compares the topics the synchronizer wrote with
 * the source tables (docs/verify.md). Prints the report on stdout, logs on stderr. Exit
 * code 0 when every table matches, 1 when there are differences, 2 on an error.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import { isSyncError } from '../errors.ts';
import { differences, renderReport } from '../verify/report.ts';
import { runVerify } from '../verify/run-verify.ts';

function positiveInt(what: string, min: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < min) throw new InvalidArgumentError(`${what} must be a whole number of at least ${min}`);
    return Number(text);
  };
}

const program = new Command('verify')
  .description('compare the synced topics with the source tables: missing, extra and different rows per table')
  .requiredOption('-c, --config <file>', "the synchronizer's YAML config file (see docs/config.md)")
  .option('--tables <list>', 'only these tables (db.table or db.*, comma-separated) of the config\'s objects')
  .option('--examples <n>', 'examples per table and kind of difference', positiveInt('--examples', 0), 5)
  .option('--wait-seconds <s>', "wait this long for the synchronizer's checkpoint to reach the source snapshot (0: do not wait)", positiveInt('--wait-seconds', 0), 60)
  .option('--memory-mb <mb>', 'heap for one bucket: buckets are sized (and split) to a quarter of it in bucket-file bytes', positiveInt('--memory-mb', 4), 256)
  .option('--work-dir <dir>', 'where the temporary bucket files go (default: the OS temp folder)')
  .option('--format <format>', 'text or json', 'text')
  .option('--log-level <level>', 'trace, debug, info, warn or error (logs go to stderr)', 'info')
  .addHelpText('after', `
Exit code: 0 when every table matches, 1 when there are differences, 2 on an error.
Keys: a row is identified by the table's primary key (else a NOT NULL unique key; tables
with neither are compared as multisets of rows). Values are compared in canonical form
(docs/verify.md). Memory stays bounded whatever the table sizes: rows are spilled to
bucket files by a hash of their key and compared one bucket at a time.`)
  .showHelpAfterError()
  // A usage error is an error (2), not a difference (1): commander would exit 1.
  .exitOverride();

async function main(): Promise<number> {
  program.parse(process.argv);
  const opts = program.opts<{ config: string; tables?: string; examples: number; waitSeconds: number; memoryMb: number; workDir?: string; format: string; logLevel: string }>();
  if (!['text', 'json'].includes(opts.format)) throw new InvalidArgumentError(`--format must be text or json, not ${opts.format}`);
  const config = loadConfig(opts.config);
  const logger = pino(
    { level: opts.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    process.stderr.isTTY
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } })
      : pino.destination(2),
  );
  const report = await runVerify({
    config,
    logger,
    examples: opts.examples,
    waitMs: opts.waitSeconds * 1000,
    // Measured: comparing a bucket takes about 2.5 × its files' bytes of heap (4 × when they
    // are all topic lines); a quarter of the budget keeps it inside (docs/verify.md).
    maxBucketBytes: Math.floor((opts.memoryMb * 1024 * 1024) / 4),
    ...(opts.workDir ? { workDir: opts.workDir } : {}),
    ...(opts.tables ? { only: opts.tables.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
  });
  const total = differences(report);
  process.stdout.write(opts.format === 'json' ? `${JSON.stringify({ ...report, differences: total }, null, 2)}\n` : renderReport(report));
  return total === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (isSyncError(err)) process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    else if (err instanceof InvalidArgumentError) process.stderr.write(`error: ${err.message}\n`);
    else process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
