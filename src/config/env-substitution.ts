/** Where a problem is: the option path, as keys and list indexes. */
export type OptionPath = readonly (string | number)[];

export interface EnvReference {
  readonly name: string;
  readonly path: OptionPath;
}

export interface SubstitutionProblem {
  readonly path: OptionPath;
  readonly message: string;
}

export interface SubstitutionResult {
  /** The value with every reference replaced (a problem leaves its string as written). */
  readonly value: unknown;
  /** `${VAR}` references without a value and without a default. */
  readonly missing: readonly EnvReference[];
  /** Malformed references. */
  readonly problems: readonly SubstitutionProblem[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether the option at `path` holds a secret, whose value must never be quoted in a message. */
export function isSecretPath(path: OptionPath): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && /password|secret|token/i.test(last);
}

function substituteString(
  s: string,
  path: OptionPath,
  env: Readonly<Record<string, string | undefined>>,
  missing: EnvReference[],
  problems: SubstitutionProblem[],
): string {
  if (!s.includes('${')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!s.startsWith('${', i)) {
      out += s[i];
      i += 1;
      continue;
    }
    const close = s.indexOf('}', i + 2);
    if (close < 0) {
      problems.push({
        path,
        message: `the "\${" at character ${i + 1} is never closed by "}"; write \${NAME} or \${NAME:-default}, or $\${ for a literal "\${"`,
      });
      return s;
    }
    const inner = s.slice(i + 2, close);
    const sep = inner.indexOf(':-');
    const name = sep < 0 ? inner : inner.slice(0, sep);
    if (!NAME.test(name)) {
      const shown = isSecretPath(path) ? '' : ` ${JSON.stringify(`\${${inner}}`)}`;
      problems.push({
        path,
        message:
          `the reference${shown} at character ${i + 1} does not start with a variable name (letters, digits and _, not starting with a digit); ` +
          `write \${NAME} or \${NAME:-default}, or $\${ for a literal "\${"`,
      });
      return s;
    }
    const value = env[name];
    if (sep >= 0) {
      // As in the shell, ${NAME:-default} also takes the default when NAME is set but empty.
      out += value === undefined || value === '' ? inner.slice(sep + 2) : value;
    } else if (value === undefined) {
      missing.push({ name, path });
    } else {
      out += value;
    }
    i = close + 1;
  }
  return out;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value of a parsed YAML tree (never
 * in keys); `$${` is a literal `${`. Returns a new tree; the input is not changed. The result
 * of a substitution is always a string (the schema accepts numbers and booleans as text).
 */
export function substituteEnv(value: unknown, env: Readonly<Record<string, string | undefined>>): SubstitutionResult {
  const missing: EnvReference[] = [];
  const problems: SubstitutionProblem[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') return substituteString(v, path, env, missing, problems);
    if (Array.isArray(v)) return v.map((item, index) => walk(item, [...path, index]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        // defineProperty, so that a key named __proto__ stays a key (and is reported as unknown).
        Object.defineProperty(out, key, { value: walk(item, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, []), missing, problems };
}
