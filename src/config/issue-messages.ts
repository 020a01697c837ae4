import type { z } from 'zod';
import { didYouMean } from './did-you-mean.ts';
import { isSecretPath, type OptionPath } from './env-substitution.ts';

// Turns zod's issues into what a user reads: the option path, what is wrong, what is allowed
// and the fix. Facts about an option (its description, default, range, allowed values) are read
// from the schema itself, so that messages never drift from it.

/** One problem with the configuration. */
export interface ConfigProblem {
  readonly path: OptionPath;
  readonly message: string;
}

// zod's internals, as far as they are read here.
interface SchemaDef {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  entries?: Record<string, string>;
  values?: unknown[];
  defaultValue?: unknown;
}
interface Schema {
  _zod: { def: SchemaDef };
  description?: string;
  minValue?: number | null;
  maxValue?: number | null;
  minLength?: number | null;
}

const asSchema = (s: z.ZodType): Schema => s as unknown as Schema;

/** The schema under its wrappers (default, optional, preprocess, transform). */
function unwrap(s: Schema): Schema {
  for (;;) {
    const def = s._zod.def;
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') && def.innerType) {
      s = def.innerType;
    } else if (def.type === 'pipe' && def.in && def.out) {
      s = def.out._zod.def.type === 'transform' ? def.in : def.out;
    } else {
      return s;
    }
  }
}

/** The (outermost) schema of the option at `path`, or undefined when there is no such option. */
function schemaAt(root: Schema, path: OptionPath): Schema | undefined {
  let s: Schema | undefined = root;
  for (const key of path) {
    if (s === undefined) return undefined;
    const def: SchemaDef = unwrap(s)._zod.def;
    if (def.type === 'object' && typeof key === 'string') s = Object.hasOwn(def.shape ?? {}, key) ? def.shape?.[key] : undefined;
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return undefined;
  }
  return s;
}

/** The default of an option, when it has one. */
function defaultOf(s: Schema): unknown {
  for (let cur: Schema | undefined = s; cur; ) {
    const def: SchemaDef = cur._zod.def;
    if (def.type === 'default' || def.type === 'prefault') return def.defaultValue;
    if (def.type === 'optional' || def.type === 'nullable') cur = def.innerType;
    else if (def.type === 'pipe') cur = def.out?._zod.def.type === 'transform' ? def.in : def.out;
    else return undefined;
  }
  return undefined;
}

function isOptional(s: Schema): boolean {
  for (let cur: Schema | undefined = s; cur; ) {
    const def: SchemaDef = cur._zod.def;
    if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional') return true;
    if (def.type === 'nullable') cur = def.innerType;
    else if (def.type === 'pipe') cur = def.out?._zod.def.type === 'transform' ? def.in : def.out;
    else return false;
  }
  return false;
}

function choicesOf(inner: Schema): unknown[] | undefined {
  const def = inner._zod.def;
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  if (def.type === 'literal') return def.values;
  return undefined;
}

/** What the option accepts, in words. */
function allowedText(inner: Schema): string {
  const def = inner._zod.def;
  const choices = choicesOf(inner);
  if (choices) return `one of ${choices.map(String).join(', ')}`;
  switch (def.type) {
    case 'number': {
      const { minValue: min, maxValue: max } = inner;
      const what = 'an integer';
      if (min != null && max != null) return `${what} from ${min} to ${max}`;
      if (min != null) return `${what} of at least ${min}`;
      return what;
    }
    case 'string':
      return (inner.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping (indented "key: value" lines)';
    default:
      return 'a valid value';
  }
}

/** What was given, in words; a secret's value is never shown. */
function givenText(input: unknown, secret: boolean): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string': {
      if (secret) return 'a string';
      const shown = input.length > 60 ? `${input.slice(0, 60)}...` : input;
      return `the string ${JSON.stringify(shown)}`;
    }
    case 'number':
      return secret ? 'a number' : `the number ${input}`;
    case 'boolean':
      return secret ? 'a boolean' : `${input}`;
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof input}`;
  }
}

/** A path as users write it: `kafka.brokers[0]`, `topics.mapping["demo.orders"]`. */
export function formatPath(path: OptionPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out === '' ? '(top level)' : out;
}

function yamlScalar(v: unknown): string {
  if (typeof v === 'string') return /^[A-Za-z0-9_.:/-]+$/.test(v) && !/^(true|false|null|~|\d.*)$/i.test(v) ? v : JSON.stringify(v);
  return String(v);
}

/** `key: value` for an example; `- value` for a list entry. */
function exampleLine(path: OptionPath, value: string): string {
  const key = path[path.length - 1];
  return typeof key === 'string' ? `${key}: ${value}` : `- ${value}`;
}

/** `source.password` → `SOURCE_PASSWORD`: a variable name to suggest. */
function envName(path: OptionPath): string {
  return path
    .filter((k): k is string => typeof k === 'string')
    .map((k) => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_');
}

function requiredKeys(inner: Schema): string[] {
  const shape = inner._zod.def.type === 'object' ? inner._zod.def.shape ?? {} : {};
  return Object.entries(shape)
    .filter(([, s]) => !isOptional(s))
    .map(([k]) => k);
}

function missingMessage(path: OptionPath, outer: Schema, inner: Schema): string {
  const key = String(path[path.length - 1]);
  const parent = path.slice(0, -1);
  const what = outer.description ? ` (${outer.description.replace(/\.$/, '')})` : '';
  let fix: string;
  if (inner._zod.def.type === 'object') {
    const needs = requiredKeys(inner);
    fix = `add a "${key}:" section${parent.length > 0 ? ` under ${formatPath(parent)}` : ''}${needs.length > 0 ? ` with at least ${needs.join(', ')}` : ''}`;
  } else if (inner._zod.def.type === 'array') {
    fix = `add "${key}:" with a list${parent.length > 0 ? ` under ${formatPath(parent)}` : ''}`;
  } else {
    fix = `add "${key}: ..."${parent.length > 0 ? ` under ${formatPath(parent)}` : ''}`;
    if (isSecretPath(path)) fix += `, e.g. ${key}: \${${envName(path)}} with that variable exported, or ${key}: "" for none`;
  }
  return `required option is missing${what}; ${fix}`;
}

/** The fix for a value of the wrong type or out of range. */
function valueFix(path: OptionPath, outer: Schema, inner: Schema, input: unknown, secret: boolean): string {
  const type = inner._zod.def.type;
  const dflt = defaultOf(outer);
  const choices = choicesOf(inner);
  if (choices) {
    const guess = typeof input === 'string' ? didYouMean(input, choices.map(String)) : undefined;
    if (guess !== undefined) return `did you mean ${guess}? write ${exampleLine(path, guess)}`;
    return `write e.g. ${exampleLine(path, String(dflt ?? choices[0]))}`;
  }
  if (input === null) {
    if (type === 'string' && secret) return `give a value, or write ${exampleLine(path, '""')} for none`;
    return dflt !== undefined ? `give a value, or remove the line to use the default (${JSON.stringify(dflt)})` : 'give a value';
  }
  switch (type) {
    case 'number': {
      const example = typeof dflt === 'number' ? dflt : (inner.minValue ?? 1);
      return `write a plain number without quotes, units or fractions, e.g. ${exampleLine(path, String(example))}`;
    }
    case 'boolean':
      return `write ${exampleLine(path, String(dflt ?? false))} or ${exampleLine(path, String(!(dflt ?? false)))}`;
    case 'string':
      if (typeof input === 'number' || typeof input === 'boolean') {
        return `put it in quotes: ${exampleLine(path, secret ? '"..."' : JSON.stringify(String(input)))}`;
      }
      return typeof dflt === 'string' ? `write a single value, e.g. ${exampleLine(path, yamlScalar(dflt))}` : 'write a single value';
    case 'array':
      if (typeof input === 'string' && !secret) return `write a list: ${exampleLine(path, `[${input}]`)}`;
      return `write a list, e.g. ${exampleLine(path, '[...]')}, or one "- item" line per entry`;
    case 'object':
    case 'record': {
      const keys = Object.keys(inner._zod.def.shape ?? {});
      return `write it as indented "key: value" lines under "${String(path[path.length - 1])}:"${keys.length > 0 ? ` (options: ${keys.join(', ')})` : ''}`;
    }
    default:
      return 'fix the value';
  }
}

/**
 * The parse-time error map: full messages for zod's own issues. Issues raised by the schema's
 * own checks carry their own messages and never reach it.
 */
export function configErrorMap(root: z.ZodType): z.core.$ZodErrorMap {
  const rootSchema = asSchema(root);
  return (issue) => {
    const path: OptionPath = (issue.path ?? []) as OptionPath;
    const outer = schemaAt(rootSchema, path);
    if (outer === undefined) return undefined;
    const inner = unwrap(outer);
    const secret = isSecretPath(path);
    const allowed = allowedText(inner);
    const fix = (input: unknown) => valueFix(path, outer, inner, input, secret);
    switch (issue.code) {
      case 'invalid_type':
        if (issue.input === undefined) return missingMessage(path, outer, inner);
        return `expected ${allowed}, got ${givenText(issue.input, secret)}; ${fix(issue.input)}`;
      case 'too_small':
      case 'too_big':
        if (issue.origin === 'array') {
          return `the list is empty; it needs at least one entry${outer.description ? ` (${outer.description.replace(/\.$/, '')})` : ''}`;
        }
        if (issue.origin === 'string') {
          return `must not be empty; ${outer.description ? `${outer.description.replace(/\.$/, '')}; ` : ''}give a value or remove the line`;
        }
        return `expected ${allowed}, got ${givenText(issue.input, secret)}; ${fix(issue.input)}`;
      case 'invalid_value':
      case 'invalid_format':
      case 'not_multiple_of':
        return `${givenText(issue.input, secret)} is not allowed; expected ${allowed}; ${fix(issue.input)}`;
      default:
        return undefined;
    }
  };
}

/** The known keys of the object at `path`, for did-you-mean. */
function knownKeys(root: Schema, path: OptionPath): string[] {
  const s = schemaAt(root, path);
  if (s === undefined) return [];
  const def = unwrap(s)._zod.def;
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

/** Where else in the schema a key of this name exists (e.g. `brokers` is under `kafka`). */
function elsewhere(root: Schema, key: string, prefix: OptionPath = []): OptionPath[] {
  const s = unwrap(root);
  const def = s._zod.def;
  if (def.type !== 'object') return [];
  const found: OptionPath[] = [];
  for (const [k, child] of Object.entries(def.shape ?? {})) {
    if (k === key) found.push([...prefix, k]);
    found.push(...elsewhere(child, key, [...prefix, k]));
  }
  return found;
}

/** One message per unknown key, with the closest known key when it is a near miss. */
export function unknownKeyProblems(root: z.ZodType, parent: OptionPath, keys: readonly string[]): ConfigProblem[] {
  const rootSchema = asSchema(root);
  const known = knownKeys(rootSchema, parent);
  const where = parent.length > 0 ? `under ${formatPath(parent)}` : 'at the top level';
  return keys.map((key) => {
    const path = [...parent, key];
    const guess = didYouMean(key, known);
    let hint: string;
    if (guess !== undefined) {
      hint = `did you mean ${formatPath([...parent, guess])}? rename it to ${guess}`;
    } else {
      const other = elsewhere(rootSchema, key);
      hint =
        other.length > 0
          ? `${key} belongs ${other.map((p) => `at ${formatPath(p)}`).join(' or ')}; move it there`
          : `the options ${where} are ${known.join(', ')}; remove it or fix its name`;
    }
    return { path, message: `unknown option; ${hint}` };
  });
}
