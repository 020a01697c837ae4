import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { SyncError } from '../errors.ts';
import { configSchema, type SyncConfig } from './config-schema.ts';
import { substituteEnv, type OptionPath } from './env-substitution.ts';
import { configErrorMap, formatPath, unknownKeyProblems, type ConfigProblem } from './issue-messages.ts';

type Env = Readonly<Record<string, string | undefined>>;

interface Located extends ConfigProblem {
  /** 1-based line of the option in the file, when it is there. */
  readonly line?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The 1-based line of the option at `path`, or of its closest ancestor that is in the file. */
export function lineOf(doc: Document, lines: LineCounter, optionPath: OptionPath): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const key of optionPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(key));
      if (!pair) break;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item: unknown = node.items[key];
      if (!item) break;
      offset = (item as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function render(header: string, problems: readonly Located[]): string {
  const lines = [...problems]
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .map((p) => `  - ${p.line !== undefined ? `line ${p.line}, ` : ''}${formatPath(p.path)}: ${p.message}`);
  return `${header} (${plural(problems.length, 'problem')}):\n${lines.join('\n')}`;
}

/** Zod's issues as problems, one per unknown key, with their own messages otherwise. */
function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const issuePath = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    if (issue.code === 'unrecognized_keys') return unknownKeyProblems(configSchema, issuePath, issue.keys);
    return [{ path: issuePath, message: issue.message }];
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

type MutableConfig = z.output<typeof configSchema>;

/** Relative file paths resolve against the config file's directory. */
function resolvePaths(config: MutableConfig, baseDir: string): void {
  config.checkpoint.file = path.resolve(baseDir, config.checkpoint.file);
  for (const tls of [config.source.tls, config.kafka.tls]) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = tls[key];
      if (file !== undefined) tls[key] = path.resolve(baseDir, file);
    }
  }
}

/**
 * Parses, substitutes and validates the text of a config file. `sourceName` names the file in
 * messages; `baseDir` is where relative paths resolve (default: the directory of `sourceName`).
 * Throws one `SyncError` listing every problem: `CONFIG_ENV_MISSING` when a `${VAR}` has no
 * value and no default, `CONFIG_INVALID` for everything else.
 */
export function parseConfig(
  text: string,
  env: Env = process.env,
  sourceName = 'config.yaml',
  baseDir: string = path.dirname(path.resolve(sourceName)),
): SyncConfig {
  const lines = new LineCounter();
  // prettyErrors off: its code frame would quote the line, which may hold a password.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      const message = e.message.replace(/\s+/g, ' ').replace(/[.:]\s*$/, '');
      return `  - line ${line}, column ${col}: ${message}`;
    });
    throw new SyncError(
      'CONFIG_INVALID',
      `${sourceName} is not valid YAML (${plural(problems.length, 'problem')}):\n${problems.join('\n')}\n` +
        '  fix the syntax at that place (indent with spaces, not tabs; quote a value that contains ": " or starts with a special character)',
    );
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new SyncError('CONFIG_INVALID', `${sourceName} cannot be read as data: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (raw === null || raw === undefined) {
    throw new SyncError(
      'CONFIG_INVALID',
      `${sourceName} is empty; it needs at least the sections source, kafka, objects and topics (see docs/config.md)`,
    );
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SyncError(
      'CONFIG_INVALID',
      `${sourceName} must be a YAML mapping of options (source:, kafka:, objects:, topics: ...), not ${Array.isArray(raw) ? 'a list' : 'a single value'}`,
    );
  }

  const substituted = substituteEnv(raw, env);
  if (substituted.missing.length > 0) {
    const byName = new Map<string, OptionPath[]>();
    for (const ref of substituted.missing) byName.set(ref.name, [...(byName.get(ref.name) ?? []), ref.path]);
    const entries = [...byName].map(([name, paths]) => {
      const where = paths
        .map((p) => {
          const line = lineOf(doc, lines, p);
          return `${formatPath(p)}${line !== undefined ? ` (line ${line})` : ''}`;
        })
        .join(', ');
      return `  - ${name}, used by ${where}: set it with \`export ${name}=...\` before starting, or give a default in the file: \${${name}:-value}`;
    });
    throw new SyncError(
      'CONFIG_ENV_MISSING',
      `${sourceName} uses ${plural(byName.size, 'environment variable')} that ${byName.size === 1 ? 'is' : 'are'} not set:\n${entries.join('\n')}`,
    );
  }

  const result = configSchema.safeParse(substituted.value, { error: configErrorMap(configSchema) });
  const broken = new Set(substituted.problems.map((p) => JSON.stringify(p.path)));
  const problems: ConfigProblem[] = [
    ...substituted.problems,
    // An option whose ${...} is malformed also fails validation; its first problem is enough.
    ...(result.success ? [] : problemsOf(result.error).filter((p) => !broken.has(JSON.stringify(p.path)))),
  ];
  if (problems.length > 0 || !result.success) {
    const located = problems.map((p) => ({ ...p, line: lineOf(doc, lines, p.path) }));
    throw new SyncError('CONFIG_INVALID', render(`Invalid configuration in ${sourceName}`, located));
  }

  const config = result.data;
  resolvePaths(config, baseDir);
  return deepFreeze(config) as SyncConfig;
}

/**
 * Reads, substitutes `${VAR}` / `${VAR:-default}` in, validates and deep-freezes the YAML
 * config file at `file`. Relative paths in it resolve against its directory.
 */
export function loadConfig(file: string, env: Env = process.env): SyncConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const resolved = path.resolve(file);
    const shown = resolved === file ? file : `${file} (${resolved})`;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    throw new SyncError(
      'CONFIG_INVALID',
      `config file ${shown} ${why}; --config takes the path of a YAML config file, e.g. npm run sync -- --config config.yaml (see docs/config.md)`,
      { cause: e },
    );
  }
  return parseConfig(text, env, file, path.dirname(path.resolve(file)));
}
