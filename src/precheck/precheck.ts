/**
 * The precheck: everything about the source, Kafka and the config that would stop or spoil
 * a sync, checked in a few seconds before it starts, each with what to do about it. It
 * changes nothing (no topic is created, no checkpoint written).
 *
 * `runPrecheck` gives the report (the CLI's `--precheck` prints it); `assertPrecheck` is
 * what the synchronizer runs before every start: it logs the report and throws
 * PRECHECK_FAILED when a check failed.
 */
import type { SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import { summary } from './format-report.ts';
import { checkTopics, connectKafka, targetTopics } from './kafka-checks.ts';
import { type PrecheckLogger, silentLogger } from './logger.ts';
import type { PrecheckCheck, PrecheckReport } from './report.ts';
import { checkSource } from './source-checks.ts';

export type { PrecheckCheck, PrecheckReport, PrecheckStatus } from './report.ts';
export type { PrecheckLogger } from './logger.ts';
export { formatReport } from './format-report.ts';

export interface PrecheckOptions {
  readonly logger?: PrecheckLogger;
}

export async function runPrecheck(config: SyncConfig, options: PrecheckOptions = {}): Promise<PrecheckReport> {
  const log = options.logger ?? silentLogger;
  const began = Date.now();
  // The source and Kafka are independent until the topics, which need the source's table list.
  const [source, kafka] = await Promise.all([checkSource(config, log), connectKafka(config, log)]);
  let topics: PrecheckCheck;
  try {
    topics = await checkTopics(kafka, targetTopics(config, source.tables), config, source.tables === null);
  } finally {
    await kafka.close();
  }
  const checks = [...source.checks, ...kafka.checks, topics];
  const report: PrecheckReport = { checks, ok: checks.every((c) => c.status !== 'fail'), elapsedMs: Date.now() - began };
  log.debug({ ok: report.ok, elapsedMs: report.elapsedMs }, 'precheck done');
  return report;
}

/**
 * The error for a failed report: every failed check with its fix, one per line. Retriable
 * only when every failure may pass by itself (a server down), so that the supervisor keeps
 * trying then, and stops on what needs a person (a missing key, a privilege, a setting).
 */
export function precheckError(report: PrecheckReport): SyncError {
  const failed = report.checks.filter((c) => c.status === 'fail');
  const lines = failed.map((c) => `${c.name}: ${c.detail}${c.fix ? `; fix: ${c.fix}` : ''}`);
  return new SyncError('PRECHECK_FAILED', `the precheck failed (${failed.map((c) => c.name).join(', ')}):\n${lines.join('\n')}`, {
    retriable: failed.length > 0 && failed.every((c) => c.transient === true),
  });
}

/** Runs the precheck, logs each check (failures at error, warnings at warn) and throws PRECHECK_FAILED when one failed. */
export async function assertPrecheck(config: SyncConfig, logger: PrecheckLogger): Promise<PrecheckReport> {
  const report = await runPrecheck(config, { logger });
  for (const c of report.checks) {
    const fields = { check: c.name, status: c.status, detail: c.detail, ...(c.fix ? { fix: c.fix } : {}) };
    const msg = `precheck ${c.name}: ${c.status}`;
    if (c.status === 'fail') logger.error(fields, msg);
    else if (c.status === 'warn') logger.warn(fields, msg);
    else logger.info(fields, msg);
  }
  logger.info({ ok: report.ok, elapsedMs: report.elapsedMs }, summary(report));
  if (!report.ok) throw precheckError(report);
  return report;
}
