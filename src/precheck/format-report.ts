/**
 * The precheck report as text for a terminal: one line per check, names aligned, and the
 * fix under each failure or warning (indented to the detail column so the eye finds it),
 * then one summary line. Pure.
 */
import { plural, type PrecheckReport, type PrecheckStatus } from './report.ts';

const LABEL: Record<PrecheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function formatReport(report: PrecheckReport): string {
  const width = Math.max(0, ...report.checks.map((c) => c.name.length));
  const indent = ' '.repeat(4 + 2 + width + 2);
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix !== undefined && (c.status === 'fail' || c.status === 'warn')) lines.push(`${indent}fix: ${c.fix}`);
  }
  lines.push(summary(report));
  return `${lines.join('\n')}\n`;
}

export function summary(report: PrecheckReport): string {
  const count = (s: PrecheckStatus) => report.checks.filter((c) => c.status === s);
  const failed = count('fail');
  const warned = count('warn');
  const skipped = count('skip');
  const extras = [
    warned.length > 0 ? plural(warned.length, 'warning') : '',
    skipped.length > 0 ? `${skipped.length} skipped` : '',
  ].filter(Boolean);
  const tail = `${extras.length > 0 ? `, ${extras.join(', ')}` : ''}; ${(report.elapsedMs / 1000).toFixed(1)} s`;
  return report.ok
    ? `precheck passed: ${plural(report.checks.length, 'check')}${tail}`
    : `precheck FAILED: ${failed.length} of ${report.checks.length} checks failed (${failed.map((c) => c.name).join(', ')})${tail}`;
}
