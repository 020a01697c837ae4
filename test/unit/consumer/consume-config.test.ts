import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { consumeConfigSchema } from '../../../src/consumer/consume-config.ts';
import { loadConsumeConfig, OPTION_FLAGS, parseConsumeConfig } from '../../../src/consumer/load-consume-config.ts';
import { SyncError } from '../../../src/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const minimal = (extra = '') => `brokers: [k1:9092]
topic: dts_demo
group: g1
${extra}`;

function errorOf(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw e;
  }
  assert.fail('expected a SyncError');
}

test('the shipped consume.yaml is valid and points at the lab', () => {
  const c = loadConsumeConfig(path.join(root, 'consume.yaml'), {}, {});
  assert.deepEqual(c.brokers, ['127.0.0.1:19092']);
  assert.equal(c.topic, 'dts_demo');
  assert.equal(c.mode, 'assign');
  assert.deepEqual(c.partitions, [0]);
  assert.equal(c.checkpointFile, path.join(root, '.lab/checkpoints/consumer.json'));
});

test('defaults: assign partition 0, use-config-checkpoint, commit every second, text, a local file next to the config', () => {
  const c = parseConsumeConfig(minimal(), {}, {}, '/etc/dts/consume.yaml');
  assert.equal(c.mode, 'assign');
  assert.deepEqual(c.partitions, [0]);
  assert.equal(c.useConfigCheckpoint, true);
  assert.equal(c.checkpoint, undefined);
  assert.equal(c.commitIntervalMs, 1000);
  assert.equal(c.sessionTimeoutMs, 30000);
  assert.equal(c.format, 'text');
  assert.equal(c.exitAtEnd, false);
  assert.equal(c.checkpointFile, '/etc/dts/consumer-checkpoint.json');
  assert.equal(c.sasl, undefined);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.brokers));
});

test('flags override the file, as text, and can be the whole configuration', () => {
  const c = parseConsumeConfig(minimal('checkpoint: 1700000000\nformat: text'), {
    topic: 'other', checkpoint: '1714557600', useConfigCheckpoint: 'false', partitions: '2,0', format: 'json', exitAtEnd: true, brokers: 'a:1,b:2',
  }, {}, '/x/consume.yaml');
  assert.equal(c.topic, 'other');
  assert.equal(c.checkpoint, 1714557600);
  assert.equal(c.useConfigCheckpoint, false);
  assert.deepEqual(c.partitions, [0, 2]);
  assert.equal(c.format, 'json');
  assert.equal(c.exitAtEnd, true);
  assert.deepEqual(c.brokers, ['a:1', 'b:2']);

  const flagsOnly = parseConsumeConfig(null, { brokers: 'h:9092', topic: 't', group: 'g', mode: 'subscribe', checkpointFile: 'none' }, {});
  assert.equal(flagsOnly.mode, 'subscribe');
  assert.equal(flagsOnly.partitions, undefined);
  assert.equal(flagsOnly.checkpointFile, null);
});

test('SASL: username as is, or the DTS form <account>-<group>; SCRAM too; the password never shows', () => {
  const dts = parseConsumeConfig(minimal('sasl:\n  account: dtsuser\n  password: ${PW}'), {}, { PW: 's3cret' });
  assert.deepEqual(dts.sasl, { mechanism: 'plain', username: 'dtsuser-g1', password: 's3cret' });
  const scram = parseConsumeConfig(minimal('sasl:\n  mechanism: scram-sha-512\n  username: u\n  password: p'), {}, {});
  assert.deepEqual(scram.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  const both = errorOf(() => parseConsumeConfig(minimal('sasl:\n  username: u\n  account: a\n  password: s3cret'), {}, {}));
  assert.match(both.message, /line 5, sasl\.username: sasl\.username and sasl\.account are both set; give one/);
  assert.doesNotMatch(both.message, /s3cret/);
  const none = errorOf(() => parseConsumeConfig(minimal('sasl:\n  password: p'), {}, {}));
  assert.match(none.message, /SASL needs a user: give sasl\.username .* or sasl\.account/);
  const flag = parseConsumeConfig(minimal(), { 'sasl.account': 'acc', 'sasl.password': 'pw' }, {});
  assert.equal(flag.sasl?.username, 'acc-g1');
});

test('problems name the line or the flag, with the fix; every problem at once', () => {
  const e = errorOf(() => parseConsumeConfig(minimal('grup: x\nmode: subscibe\ncommitIntervalMs: 1s'), { checkpoint: '1714557600000' }, {}));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /\(4 problems\)/);
  assert.match(e.message, /line 4, grup: unknown option; did you mean group\? rename it to group/);
  assert.match(e.message, /line 5, mode: the string "subscibe" is not allowed; expected one of assign, subscribe; did you mean subscribe\?/);
  assert.match(e.message, /line 6, commitIntervalMs: expected an integer from 0 to 86400000, got the string "1s"/);
  assert.match(e.message, /--checkpoint, checkpoint: 1714557600000 is larger than any date in seconds; .* not milliseconds: write 1714557600/);
});

test('assign-only options in subscribe mode, duplicate partitions and missing options are refused', () => {
  const e = errorOf(() => parseConsumeConfig(minimal('mode: subscribe\npartitions: [0]\nexitAtEnd: true'), {}, {}));
  assert.match(e.message, /partitions: partitions apply to assign mode only/);
  assert.match(e.message, /exitAtEnd: exitAtEnd applies to assign mode only/);
  assert.match(errorOf(() => parseConsumeConfig(minimal('partitions: [1, 1]'), {}, {})).message, /partition 1 is listed twice/);
  const missing = errorOf(() => parseConsumeConfig('brokers: [k:1]', {}, {}));
  assert.match(missing.message, /topic: required option is missing/);
  assert.match(missing.message, /group: required option is missing/);
  const env = errorOf(() => parseConsumeConfig(minimal('sasl:\n  username: u\n  password: ${KAFKA_PASSWORD}'), {}, {}));
  assert.equal(env.code, 'CONFIG_ENV_MISSING');
  assert.match(env.message, /KAFKA_PASSWORD, used by sasl\.password/);
  assert.match(errorOf(() => loadConsumeConfig('/nonexistent/consume.yaml', {}, {})).message, /does not exist; --config takes the path of a YAML file/);
});

/** Every leaf option of the schema: `sasl.username`, `log.level`, ... */
function leafOptions(): string[] {
  interface Node { _zod: { def: { type: string; innerType?: Node; in?: Node; out?: Node; shape?: Record<string, Node> } } }
  const out: string[] = [];
  const walk = (node: Node, prefix: string) => {
    let s = node;
    for (;;) {
      const def = s._zod.def;
      if (['default', 'prefault', 'optional'].includes(def.type)) s = def.innerType!;
      else if (def.type === 'pipe') s = def.out!._zod.def.type === 'transform' ? def.in! : def.out!;
      else break;
    }
    if (s._zod.def.type === 'object') for (const [k, child] of Object.entries(s._zod.def.shape!)) walk(child, prefix ? `${prefix}.${k}` : k);
    else out.push(prefix);
  };
  walk(consumeConfigSchema as unknown as Node, '');
  return out;
}

test('docs/consumer.md documents every option with its flag', () => {
  const docs = readFileSync(path.join(root, 'docs/consumer.md'), 'utf8');
  const options = leafOptions();
  assert.ok(options.length >= 20, String(options.length));
  for (const option of options) {
    assert.match(docs, new RegExp(`\`${option.replace('.', '\\.')}\``), `docs/consumer.md names ${option}`);
    assert.ok(OPTION_FLAGS[option], `option ${option} has a flag`);
    assert.ok(docs.includes(`\`${OPTION_FLAGS[option]}`), `docs/consumer.md names the flag ${OPTION_FLAGS[option]}`);
  }
});
