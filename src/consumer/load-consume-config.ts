/**
 * Reads the consumer's YAML file (optional), substitutes `${VAR}` / `${VAR:-default}`, lays the
 * command-line flags over it (a flag wins over the file), validates, and reports every problem
 * at once, each naming the option (its line in the file, or the flag) and the fix, with the
 * same messages as the synchronizer's config (src/config/issue-messages.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { substituteEnv, type OptionPath } from '../config/env-substitution.ts';
import { configErrorMap, formatPath, unknownKeyProblems, type ConfigProblem } from '../config/issue-messages.ts';
import { SyncError } from '../errors.ts';
import { lineOf } from '../config/load-config.ts';
import { consumeConfigSchema, type ConsumeConfig } from './consume-config.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Flag values by option path, e.g. `{ 'sasl.username': 'u', checkpoint: '1700000000' }`.
 * Values are text, as they come from the command line; the schema converts them.
 */
export type ConsumeOverrides = Readonly<Record<string, string | boolean | undefined>>;

/** The flag that sets each option (docs/consumer.md lists the same). */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  brokers: '--brokers',
  topic: '--topic',
  group: '--group',
  clientId: '--client-id',
  'sasl.mechanism': '--sasl-mechanism',
  'sasl.username': '--username',
  'sasl.account': '--account',
  'sasl.password': '--password',
  'tls.enabled': '--tls',
  'tls.ca': '--tls-ca',
  'tls.cert': '--tls-cert',
  'tls.key': '--tls-key',
  'tls.rejectUnauthorized': '--tls-reject-unauthorized',
  checkpoint: '--checkpoint',
  useConfigCheckpoint: '--use-config-checkpoint',
  mode: '--mode',
  partitions: '--partitions',
  checkpointFile: '--checkpoint-file',
  commitIntervalMs: '--commit-interval-ms',
  sessionTimeoutMs: '--session-timeout-ms',
  format: '--format',
  maxValueChars: '--max-value-chars',
  exitAtEnd: '--exit-at-end',
  'log.level': '--log-level',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

interface Located extends ConfigProblem {
  /** `line 3` or `--topic` */
  readonly where?: string;
}

function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const issuePath = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    if (issue.code === 'unrecognized_keys') return unknownKeyProblems(consumeConfigSchema, issuePath, issue.keys);
    return [{ path: issuePath, message: issue.message }];
  });
}

/** Sets `value` at a dotted path in a plain object tree, creating objects on the way. */
function setPath(tree: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/**
 * The configuration from the text of a YAML file (or none: `text` null, everything from
 * flags) and flag overrides. `baseDir` is where relative paths resolve. Throws one SyncError
 * listing every problem (CONFIG_ENV_MISSING for an unset `${VAR}`, CONFIG_INVALID otherwise).
 */
export function parseConsumeConfig(
  text: string | null,
  overrides: ConsumeOverrides = {},
  env: Env = process.env,
  sourceName = 'consume.yaml',
  baseDir: string = text === null ? process.cwd() : path.dirname(path.resolve(sourceName)),
): ConsumeConfig {
  const lines = new LineCounter();
  let doc: Document | undefined;
  let raw: unknown = {};
  if (text !== null) {
    // prettyErrors off: its code frame would quote the line, which may hold a password.
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `  - line ${line}, column ${col}: ${e.message.replace(/\s+/g, ' ').replace(/[.:]\s*$/, '')}`;
      });
      throw new SyncError('CONFIG_INVALID', `${sourceName} is not valid YAML (${plural(problems.length, 'problem')}):\n${problems.join('\n')}`);
    }
    raw = doc.toJS() ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new SyncError('CONFIG_INVALID', `${sourceName} must be a YAML mapping of options (brokers:, topic:, group: ...), not ${Array.isArray(raw) ? 'a list' : 'a single value'}`);
    }
  }

  const substituted = substituteEnv(raw, env);
  if (substituted.missing.length > 0) {
    const names = [...new Set(substituted.missing.map((m) => m.name))];
    const entries = names.map((name) => {
      const where = substituted.missing.filter((m) => m.name === name).map((m) => formatPath(m.path)).join(', ');
      return `  - ${name}, used by ${where}: set it with \`export ${name}=...\`, give a default in the file (\${${name}:-value}), or set the option with its flag`;
    });
    throw new SyncError('CONFIG_ENV_MISSING', `${sourceName} uses ${plural(names.length, 'environment variable')} that ${names.length === 1 ? 'is' : 'are'} not set:\n${entries.join('\n')}`);
  }

  const merged = structuredClone(substituted.value) as Record<string, unknown>;
  const flagged = new Set<string>();
  for (const [option, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    setPath(merged, option, value);
    flagged.add(option);
  }

  const result = consumeConfigSchema.safeParse(merged, { error: configErrorMap(consumeConfigSchema) });
  const problems: Located[] = [...substituted.problems, ...(result.success ? [] : problemsOf(result.error))].map((p) => {
    const dotted = p.path.filter((k) => typeof k === 'string').join('.');
    const flag = [...flagged].find((f) => dotted === f || dotted.startsWith(`${f}.`) || (p.path.length > 0 && f === String(p.path[0]) && typeof p.path[1] === 'number'));
    if (flag !== undefined) return { ...p, where: OPTION_FLAGS[flag] ?? flag };
    const line = doc === undefined ? undefined : lineOf(doc, lines, p.path);
    return line === undefined ? p : { ...p, where: `line ${line}` };
  });
  if (problems.length > 0 || !result.success) {
    const list = problems.map((p) => `  - ${p.where !== undefined ? `${p.where}, ` : ''}${formatPath(p.path)}: ${p.message}`);
    const what = text === null ? 'the consumer options' : sourceName;
    throw new SyncError('CONFIG_INVALID', `Invalid configuration in ${what} (${plural(problems.length, 'problem')}):\n${list.join('\n')}`);
  }

  const c = result.data;
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(baseDir, file));
  const tls = {
    ...c.tls,
    ...(c.tls.ca === undefined ? {} : { ca: resolve(c.tls.ca) }),
    ...(c.tls.cert === undefined ? {} : { cert: resolve(c.tls.cert) }),
    ...(c.tls.key === undefined ? {} : { key: resolve(c.tls.key) }),
  };
  const sasl =
    c.sasl === undefined
      ? undefined
      : {
          mechanism: c.sasl.mechanism,
          // DTS-managed Kafka authenticates `<account>-<consumer group id>`.
          username: c.sasl.username ?? `${c.sasl.account}-${c.group}`,
          password: c.sasl.password,
        };
  const { sasl: _sasl, ...rest } = c;
  const config = {
    ...rest,
    ...(sasl === undefined ? {} : { sasl }),
    tls,
    partitions: c.mode === 'assign' ? [...(c.partitions ?? [0])].sort((a, b) => a - b) : undefined,
    checkpointFile: c.checkpointFile === 'none' ? null : path.resolve(baseDir, c.checkpointFile),
  };
  return deepFreeze(config) as ConsumeConfig;
}

/** Reads `file` (or no file: null) and parses it with the overrides; see parseConsumeConfig. */
export function loadConsumeConfig(file: string | null, overrides: ConsumeOverrides = {}, env: Env = process.env): ConsumeConfig {
  if (file === null) return parseConsumeConfig(null, overrides, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    throw new SyncError(
      'CONFIG_INVALID',
      `consumer config file ${path.resolve(file)} ${why}; --config takes the path of a YAML file, e.g. npm run consume -- --config consume.yaml (see docs/consumer.md), or give every option as a flag`,
      { cause: e },
    );
  }
  return parseConsumeConfig(text, overrides, env, file, path.dirname(path.resolve(file)));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
