import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../../src/config/config-schema.ts';
import { parseConfig } from '../../../src/config/load-config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const docs = readFileSync(path.join(root, 'docs/config.md'), 'utf8');

interface Def {
  type: string;
  innerType?: Node;
  in?: Node;
  out?: Node;
  shape?: Record<string, Node>;
  defaultValue?: unknown;
}
interface Node {
  _zod: { def: Def };
}

/** Every leaf option of the schema with its default (`required`, `optional` or the value). */
function options(node: Node, prefix: string, out: Map<string, { default?: unknown; kind: 'required' | 'optional' | 'default' }>): void {
  let kind: 'required' | 'optional' | 'default' = 'required';
  let dflt: unknown;
  let s = node;
  for (;;) {
    const def = s._zod.def;
    if (def.type === 'default' || def.type === 'prefault') {
      if (kind === 'required') {
        kind = 'default';
        dflt = def.defaultValue;
      }
      s = def.innerType!;
    } else if (def.type === 'optional') {
      if (kind === 'required') kind = 'optional';
      s = def.innerType!;
    } else if (def.type === 'pipe') {
      s = def.out!._zod.def.type === 'transform' ? def.in! : def.out!;
    } else break;
  }
  const def = s._zod.def;
  if (def.type === 'object') {
    for (const [key, child] of Object.entries(def.shape!)) {
      options(child, prefix === '' ? key : `${prefix}.${key}`, out);
    }
  } else {
    out.set(prefix, { kind, default: dflt });
  }
}

const all = new Map<string, { default?: unknown; kind: 'required' | 'optional' | 'default' }>();
options(configSchema as unknown as Node, '', all);

test('the schema walk finds the options (so that the docs check below checks something)', () => {
  assert.ok(all.size >= 30, String(all.size));
  assert.deepEqual(all.get('source.port'), { kind: 'default', default: 3306 });
  assert.deepEqual(all.get('source.host'), { kind: 'required', default: undefined });
});

test('docs/config.md has a row for every option, with the schema default', () => {
  for (const [option, { kind, default: dflt }] of all) {
    const row = docs.split('\n').find((l) => l.startsWith(`| \`${option}\` |`));
    assert.ok(row, `docs/config.md has no row for ${option}`);
    const cell = row.split('|')[2].trim();
    if (kind === 'default') {
      const shown = typeof dflt === 'object' ? JSON.stringify(dflt) : String(dflt);
      assert.equal(cell, `\`${shown}\``, `default of ${option}`);
    } else if (kind === 'required') {
      assert.match(cell, /^required/, `${option} is required`);
    } else {
      assert.equal(cell, 'none', `${option} is optional without a default`);
    }
  }
  const documented = [...docs.matchAll(/^\| `([A-Za-z.]+)` \|/gm)].map((m) => m[1]);
  for (const option of documented) assert.ok(all.has(option), `docs/config.md documents ${option}, which the schema does not have`);
});

test('the example in docs/config.md is a valid config', () => {
  const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(example);
  const c = parseConfig(example, { SOURCE_PASSWORD: 'x', KAFKA_SASL_PASSWORD: 'y' }, '/etc/example.yaml');
  assert.equal(c.kafka.sasl?.password, 'y');
  assert.equal(c.objects.length, 3);
});
