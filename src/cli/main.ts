#!/usr/bin/env node
/**
 * The command line: `npm run sync -- --config config.yaml`. The only place that exits the
 * process. A first SIGTERM/SIGINT stops cleanly (in-flight records acknowledged, the
 * checkpoint written); a second one exits at once. `--precheck` prints the precheck report
 * and exits: 0 when every check passed (warnings allowed), 1 when one failed, 2 for a bad
 * config (as every SyncError). With metrics.port set, it serves /metrics, /healthz and
 * /readyz from the start (src/ops, docs/operations.md).
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/index.ts';
import { isSyncError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { BinlogPosition } from '../model/binlog-position.ts';
import { startOpsServer } from '../ops/http.ts';
import { setStopping } from '../ops/metrics.ts';
import { runSync } from '../pipeline/run-sync.ts';
import { formatReport, runPrecheck } from '../precheck/precheck.ts';

/** Set by a command that finished but must not report success (a failed precheck). */
let exitCode = 0;

/**
 * The longest a clean stop may take: in-flight records get 30 s to be acknowledged
 * (sync-session.ts), then connections close. Past it the process exits anyway (code 1),
 * its checkpoint as last written, so that an orchestrator's stop never hangs.
 */
const STOP_TIMEOUT_MS = 60_000;

function parsePosition(text: string): BinlogPosition {
  const m = /^(.+\.\d+):(\d+)$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected FILE:POSITION of a transaction boundary, e.g. mysql-bin.000003:1234');
  return { file: m[1]!, position: Number(m[2]) };
}

function parseTimestamp(text: string): number {
  if (!/^\d{1,11}$/.test(text)) throw new InvalidArgumentError('expected UNIX seconds, e.g. 1717171717 (date +%s -d "2024-05-31 16:08:37 UTC")');
  return Number(text);
}

const program = new Command('dts-binlog-kafka')
  .description('MySQL/MariaDB binlog to Kafka, as Alibaba Cloud DTS Avro records')
  .showHelpAfterError();

program
  .command('sync')
  .description('tail the source binlog and produce every change of the selected tables to Kafka')
  .requiredOption('-c, --config <file>', 'the YAML config file (see docs/config.md)')
  .option('--start-position <file:pos>', 'start at this binlog position instead of the checkpoint (it is overwritten)', parsePosition)
  .option('--start-timestamp <seconds>', 'start at the first transaction committed at or after this UNIX time instead of the checkpoint (it is overwritten)', parseTimestamp)
  .option('--log-level <level>', 'override log.level')
  .option('--pretty', 'readable logs instead of JSON (the default on a terminal)')
  .option('--precheck', 'check the source, Kafka and the config, print one line per check and exit (1 when a check fails); changes nothing')
  .action(async (opts: { config: string; startPosition?: BinlogPosition; startTimestamp?: number; logLevel?: string; pretty?: boolean; precheck?: boolean }) => {
    if (opts.startPosition && opts.startTimestamp !== undefined) program.error('error: give either --start-position or --start-timestamp, not both');
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
        logger.flush();
        process.exit(130);
      }
      logger.info({ signal: sig }, 'stopping: flushing in-flight records and writing the checkpoint (signal again to exit at once)');
      setStopping();
      setTimeout(() => {
        logger.error({ timeoutMs: STOP_TIMEOUT_MS }, 'the stop did not finish in time: exiting now; the next start resumes from the last checkpoint written');
        logger.flush();
        process.exit(1);
      }, STOP_TIMEOUT_MS).unref();
      controller.abort();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Before the precheck, so that probes get answers (not ready yet) from the start.
    const m = config.metrics;
    const ops = m.port > 0 ? await startOpsServer({ host: m.host, port: m.port, stallSeconds: m.stallSeconds }) : null;
    if (ops) logger.info({ host: m.host, port: ops.port, paths: ['/metrics', '/healthz', '/readyz'] }, `metrics and health endpoint on http://${m.host}:${ops.port}/metrics`);
    try {
      await runSync({ config, configFile: opts.config, logger, signal: controller.signal, ...(opts.startPosition ? { startPosition: opts.startPosition } : {}), ...(opts.startTimestamp !== undefined ? { startTimestamp: opts.startTimestamp } : {}) });
    } finally {
      await ops?.close();
    }
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
