#!/usr/bin/env node
/**
 * The command line: `npm run sync -- --config config.yaml`. The only place that exits the
 * process. A first SIGTERM/SIGINT stops cleanly (in-flight records acknowledged, the
 * checkpoint written); a second one exits at once. `--precheck` prints the precheck report
 * and exits: 0 when every check passed (warnings allowed), 1 when one failed, 2 for a bad
 * config (as every SyncError).
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/index.ts';
import { isSyncError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';
import { runSync } from '../pipeline/run-sync.ts';
import { formatReport, runPrecheck } from '../precheck/precheck.ts';

/** Set by a command that finished but must not report success (a failed precheck). */
let exitCode = 0;

function parsePosition(text: string): BinlogPosition {
  const m = /^(.+\.\d+):(\d+)$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected FILE:POSITION of a transaction boundary, e.g. mysql-bin.000003:1234');
  return { file: m[1]!, position: Number(m[2]) };
}

const program = new Command('dts-binlog-kafka')
  .description('MySQL/MariaDB binlog to Kafka, as Alibaba Cloud DTS Avro records')
  .showHelpAfterError();

program
  .command('sync')
  .description('tail the source binlog and produce every change of the selected tables to Kafka')
  .requiredOption('-c, --config <file>', 'the YAML config file (see docs/config.md)')
  .option('--start-position <file:pos>', 'start at this binlog position instead of the checkpoint (it is overwritten)', parsePosition)
  .option('--log-level <level>', 'override log.level')
  .option('--pretty', 'readable logs instead of JSON (the default on a terminal)')
  .option('--precheck', 'check the source, Kafka and the config, print one line per check and exit (1 when a check fails); changes nothing')
  .action(async (opts: { config: string; startPosition?: BinlogPosition; logLevel?: string; pretty?: boolean; precheck?: boolean }) => {
    const config = loadConfig(opts.config);
    const logger = createLogger(opts.logLevel ?? config.log.level, opts.pretty ? { pretty: true } : {});
    if (opts.precheck) {
      const report = await runPrecheck(config, { logger });
      logger.flush();
      process.stdout.write(formatReport(report));
      exitCode = report.ok ? 0 : 1;
      return;
    }
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal: sig }, 'stopping: flushing in-flight records and writing the checkpoint (signal again to exit at once)');
      controller.abort();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    await runSync({ config, logger, signal: controller.signal, ...(opts.startPosition ? { startPosition: opts.startPosition } : {}) });
    logger.info('stopped');
    logger.flush();
  });

program.parseAsync(process.argv).then(
  () => process.exit(exitCode),
  (err: unknown) => {
    if (isSyncError(err)) {
      process.stderr.write(`error [${err.code}]: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
