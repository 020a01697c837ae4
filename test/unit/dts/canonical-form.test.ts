import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/*
 * Avro's Parsing Canonical Form (specification, "Parsing Canonical Form for Schemas"):
 * primitives in their simple form, full names everywhere (namespace attributes dropped),
 * only name/type/fields/symbols/items/values/size kept and in that order, a named type
 * written in full where it first appears and by its full name afterwards, no whitespace.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

interface Definition {
  readonly schema: { [key: string]: Json };
  readonly namespace: string | undefined;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function namespaceOf(full: string): string | undefined {
  const dot = full.lastIndexOf('.');
  return dot < 0 ? undefined : full.slice(0, dot);
}

/**
 * The canonical form of `schema`. `defined` collects the full names already written;
 * `registry` holds named types defined elsewhere (earlier in a schema file), which are
 * written in full at their first reference, as a parser resolving the file would.
 */
function canonical(
  schema: Json,
  namespace: string | undefined,
  defined: Set<string>,
  registry: ReadonlyMap<string, Definition> = new Map(),
): string {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return JSON.stringify(schema);
    const name = fullName(schema, namespace);
    const definition = registry.get(name);
    if (!defined.has(name) && definition) return canonical(definition.schema, definition.namespace, defined, registry);
    return JSON.stringify(name);
  }
  if (Array.isArray(schema)) return `[${schema.map((s) => canonical(s, namespace, defined, registry)).join(',')}]`;
  if (schema === null || typeof schema !== 'object') throw new Error(`not a schema: ${JSON.stringify(schema)}`);
  const type = schema.type;
  if (typeof type === 'string' && PRIMITIVES.has(type)) return JSON.stringify(type);
  switch (type) {
    case 'record':
    case 'enum':
    case 'fixed': {
      const ownNamespace = typeof schema.namespace === 'string' ? schema.namespace : namespace;
      const name = fullName(String(schema.name), ownNamespace);
      if (defined.has(name)) return JSON.stringify(name);
      defined.add(name);
      const parts = [`"name":${JSON.stringify(name)}`, `"type":${JSON.stringify(type)}`];
      if (type === 'record') {
        const inner = namespaceOf(name);
        const fields = (schema.fields as { [key: string]: Json }[]).map(
          (f) => `{"name":${JSON.stringify(f.name)},"type":${canonical(f.type, inner, defined, registry)}}`,
        );
        parts.push(`"fields":[${fields.join(',')}]`);
      }
      if (type === 'enum') parts.push(`"symbols":${JSON.stringify(schema.symbols)}`);
      if (type === 'fixed') parts.push(`"size":${Number(schema.size)}`);
      return `{${parts.join(',')}}`;
    }
    case 'array':
      return `{"type":"array","items":${canonical(schema.items, namespace, defined, registry)}}`;
    case 'map':
      return `{"type":"map","values":${canonical(schema.values, namespace, defined, registry)}}`;
    default:
      throw new Error(`unknown schema type ${JSON.stringify(type)}`);
  }
}

/** The whole file: the union of its named types, in order. */
function fileCanonicalForm(types: Json[]): string {
  return canonical(types, undefined, new Set());
}

/** The last type (Record) alone, with the types it uses written in full where first used. */
function recordCanonicalForm(types: Json[]): string {
  const registry = new Map<string, Definition>();
  for (const t of types) {
    const s = t as { [key: string]: Json };
    const namespace = typeof s.namespace === 'string' ? s.namespace : undefined;
    registry.set(fullName(String(s.name), namespace), { schema: s, namespace });
  }
  return canonical(types[types.length - 1], undefined, new Set(), registry);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const PUBLIC_FILE_FINGERPRINT = '0e8435432524070c198cb6492ff4c7428eb18d8cf3c3cfd00c9a68b3b0ae6220';
const PUBLIC_RECORD_FINGERPRINT = 'd57f6ce464e631aa7f6438633ce499bac5c59a91bda494dceef980d25663060d';

const repoRoot = new URL('../../../', import.meta.url);
const readSchemaFile = (relative: string): Json[] => JSON.parse(readFileSync(new URL(relative, repoRoot), 'utf8')) as Json[];

describe('Parsing Canonical Form', () => {
  it('follows the specification on small schemas', () => {
    assert.equal(canonical({ type: 'int', doc: 'x' }, undefined, new Set()), '"int"');
    assert.equal(
      canonical(
        {
          type: 'record', name: 'foo', namespace: 'x.y', doc: 'd', aliases: ['z'],
          fields: [
            { name: 'a', type: 'long', default: 0, doc: 'e', order: 'descending' },
            { name: 'b', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
            { name: 'c', type: ['null', 'E', { type: 'fixed', name: 'other.F', size: 16 }] },
            { name: 'd', type: { type: 'map', values: { type: 'array', items: 'foo' } } },
          ],
        },
        undefined,
        new Set(),
      ),
      '{"name":"x.y.foo","type":"record","fields":[{"name":"a","type":"long"},' +
        '{"name":"b","type":{"name":"x.y.E","type":"enum","symbols":["A","B"]}},' +
        '{"name":"c","type":["null","x.y.E",{"name":"other.F","type":"fixed","size":16}]},' +
        '{"name":"d","type":{"type":"map","values":{"type":"array","items":"x.y.foo"}}}]}',
    );
  });

  it('avro/Record.avsc has the canonical form of the public DTS schema (pinned by its SHA-256 fingerprint)', () => {
    // The fingerprints of the public DTS Record.avsc's Parsing Canonical Form (the Avro
    // specification's SHA-256 fingerprint), taken once from the published schema: a change
    // to anything a reader's parser sees in avro/Record.avsc changes them.
    const ours = readSchemaFile('avro/Record.avsc');
    assert.equal(ours.length, 14);
    assert.equal(sha256(fileCanonicalForm(ours)), PUBLIC_FILE_FINGERPRINT);
    assert.equal(sha256(recordCanonicalForm(ours)), PUBLIC_RECORD_FINGERPRINT);
    // The Record's form holds every named type in full exactly once.
    const form = recordCanonicalForm(ours);
    for (const name of ['Field', 'Integer', 'Character', 'Decimal', 'Float', 'Timestamp', 'DateTime',
      'TimestampWithTimeZone', 'BinaryGeometry', 'TextGeometry', 'BinaryObject', 'TextObject', 'EmptyObject',
      'Source', 'SourceType', 'Operation']) {
      assert.equal(form.split(`{"name":"com.alibaba.dts.formats.avro.${name}","type":`).length, 2, name);
    }
    assert.doesNotMatch(form, /\s|"doc"|"default"|"namespace"/);
  });

  it('tells a changed schema apart', () => {
    const ours = readSchemaFile('avro/Record.avsc');
    const original = fileCanonicalForm(ours);
    const record = () => structuredClone(ours) as { [key: string]: Json }[];

    const swapped = record();
    const fields = swapped[13].fields as Json[];
    [fields[3], fields[4]] = [fields[4], fields[3]];
    assert.notEqual(fileCanonicalForm(swapped), original);
    assert.notEqual(recordCanonicalForm(swapped), recordCanonicalForm(ours));

    const branchesSwapped = record();
    const integerFields = branchesSwapped[1].fields as Json[];
    [integerFields[0], integerFields[1]] = [integerFields[1], integerFields[0]];
    assert.notEqual(recordCanonicalForm(branchesSwapped), recordCanonicalForm(ours));

    const symbolAdded = record();
    (symbolAdded[12].symbols as Json[]).push('OTHER');
    assert.notEqual(fileCanonicalForm(symbolAdded), original);

    const renamed = record();
    renamed[0].namespace = 'com.example';
    assert.notEqual(fileCanonicalForm(renamed), original);

    // Documentation and defaults are not part of the form.
    const documented = record();
    documented[0].doc = 'changed';
    (documented[13].fields as { [key: string]: Json }[])[4].default = 'changed';
    assert.equal(fileCanonicalForm(documented), original);
  });
});
