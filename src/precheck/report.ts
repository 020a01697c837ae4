/**
 * What a precheck produces: one entry per check, in a fixed order, so that a report reads
 * the same on every run and a script can match a check by its name.
 */

/**
 * `skip`: the check could not run because one it depends on failed (no source connection,
 * no broker); it never decides the outcome by itself, the failure it depends on does.
 */
export type PrecheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface PrecheckCheck {
  /** stable, snake_case: `binlog_format`, `primary_keys`, ... */
  readonly name: string;
  readonly status: PrecheckStatus;
  /** one line: what was found */
  readonly detail: string;
  /** for `fail` and `warn`: what to do about it */
  readonly fix?: string;
  /**
   * For a failure that may pass on its own later (a server down, a network cut): the
   * synchronizer's supervisor retries instead of giving up. Absent means it will not.
   */
  readonly transient?: boolean;
}

export interface PrecheckReport {
  readonly checks: readonly PrecheckCheck[];
  /** no check failed (warnings and skips allowed) */
  readonly ok: boolean;
  readonly elapsedMs: number;
}

export function pass(name: string, detail: string): PrecheckCheck {
  return { name, status: 'pass', detail };
}

export function warn(name: string, detail: string, fix: string): PrecheckCheck {
  return { name, status: 'warn', detail, fix };
}

export function fail(name: string, detail: string, fix: string, transient = false): PrecheckCheck {
  return transient ? { name, status: 'fail', detail, fix, transient } : { name, status: 'fail', detail, fix };
}

export function skip(name: string, because: string): PrecheckCheck {
  return { name, status: 'skip', detail: `not checked: ${because}` };
}

/** "a, b, c and 4 more": long table lists stay on one readable line. */
export function listSome(items: readonly string[], max = 8): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
