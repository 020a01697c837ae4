import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfig } from '../../../src/config/index.ts';
import { SyncError } from '../../../src/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The smallest valid config, plus `extra` lines appended at the top level. */
const minimal = (extra = '') => `source:
  host: db.example
  user: u
  password: pw
kafka:
  brokers: [k1:9092]
objects:
  - demo.orders
topics:
  default: dts_demo
${extra}`;

/** The SyncError thrown by `fn`, failing the test when it throws nothing or something else. */
function errorOf(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw e;
  }
  assert.fail('expected a SyncError');
}

test('the shipped config.yaml is valid as is and points at the lab', () => {
  const c = loadConfig(path.join(root, 'config.yaml'), {});
  assert.equal(c.source.host, '127.0.0.1');
  assert.equal(c.source.port, 13306);
  assert.equal(c.source.password, 'dts_sync_pw');
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:19092']);
  assert.deepEqual(c.objects, [{ database: 'demo', table: 'orders' }]);
  assert.equal(c.checkpoint.file, path.join(root, '.lab/checkpoints/demo.json'));
  assert.equal(loadConfig(path.join(root, 'config.yaml'), { SOURCE_PASSWORD: 'other' }).source.password, 'other');
});

test('defaults are applied to every option left out', () => {
  const c = parseConfig(minimal(), {}, '/etc/dts/sync.yaml');
  assert.deepEqual(
    { ...c, objects: undefined },
    {
      source: {
        host: 'db.example',
        port: 3306,
        user: 'u',
        password: 'pw',
        serverId: 54001,
        connectTimeoutMs: 10000,
        heartbeatMs: 5000,
        tls: { enabled: false, rejectUnauthorized: true },
      },
      kafka: {
        brokers: ['k1:9092'],
        clientId: 'dts-binlog-kafka',
        acks: 'all',
        compression: 'none',
        tls: { enabled: false, rejectUnauthorized: true },
        createTopics: false,
        topicPartitions: 1,
        topicReplicationFactor: 1,
        maxRecordBytes: 10485760,
        oversizedRecord: 'stop',
        requestTimeoutMs: 30000,
      },
      objects: undefined,
      topics: { default: 'dts_demo', mapping: {} },
      partitionPolicy: 'single',
      ddl: { emit: false },
      mode: 'initial',
      snapshot: { schema: true, chunkRows: 10000, workers: 2, progress: 'auto' },
      checkpoint: { file: '/etc/dts/checkpoint.json', intervalMs: 1000, store: 'file', topic: 'dts-binlog-kafka.checkpoints', task: 'dts-binlog-kafka', sessionTimeoutMs: 10000 },
      delivery: 'at-least-once',
      log: { level: 'info' },
      metrics: { port: 0, host: '0.0.0.0', stallSeconds: 60 },
    },
  );
  assert.equal(c.kafka.sasl, undefined);
});

test('relative paths resolve against the config file directory; absolute ones stay', () => {
  const c = parseConfig(
    minimal('checkpoint: { file: state/cp.json }\n').replace('  brokers: [k1:9092]', '  brokers: [k1:9092]\n  tls: { enabled: true, ca: certs/ca.pem }'),
    {},
    '/srv/sync/config.yaml',
  );
  assert.equal(c.checkpoint.file, '/srv/sync/state/cp.json');
  assert.equal(c.kafka.tls.ca, '/srv/sync/certs/ca.pem');
  assert.equal(parseConfig(minimal('checkpoint: { file: /var/cp.json }\n'), {}, '/srv/x.yaml').checkpoint.file, '/var/cp.json');
});

test('${VAR}, ${VAR:-default} and $${ are substituted in values, before validation', () => {
  const text = `source:
  host: \${DB_HOST}
  port: \${DB_PORT:-3307}
  user: \${DB_USER:-sync}
  password: "\${DB_PASSWORD}"
  tls: { enabled: "\${TLS:-false}" }
kafka:
  brokers: ["\${KAFKA_HOST:-localhost}:9092"]
  clientId: "a$\${literal}b and $$ stays"
objects: [demo.orders]
topics:
  default: t_\${SUFFIX:-x}
`;
  const c = parseConfig(text, { DB_HOST: 'mysql.internal', DB_PASSWORD: '', SUFFIX: '', TLS: 'true' });
  assert.equal(c.source.host, 'mysql.internal');
  assert.equal(c.source.port, 3307);
  assert.equal(c.source.user, 'sync');
  assert.equal(c.source.password, '', 'a variable set to "" is a value');
  assert.equal(c.source.tls.enabled, true);
  assert.deepEqual(c.kafka.brokers, ['localhost:9092']);
  assert.equal(c.kafka.clientId, 'a${literal}b and $$ stays');
  assert.equal(c.topics.default, 't_x', ':- takes the default for an empty variable too');
});

test('substitution never touches keys', () => {
  const e = errorOf(() => parseConfig(minimal('${EXTRA}: 1\n'), { EXTRA: 'mode' }));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /\["\$\{EXTRA\}"\]: unknown option/);
});

test('a ${VAR} without a value and without a default is CONFIG_ENV_MISSING, naming variable, option and fix', () => {
  const text = minimal().replace('password: pw', 'password: ${SOURCE_PASSWORD}').replace('host: db.example', 'host: ${DB_HOST}');
  const e = errorOf(() => parseConfig(text, { DB_HOST: 'db' }, 'sync.yaml'));
  assert.equal(e.code, 'CONFIG_ENV_MISSING');
  assert.match(e.message, /sync\.yaml/);
  assert.match(e.message, /SOURCE_PASSWORD, used by source\.password \(line 4\)/);
  assert.match(e.message, /export SOURCE_PASSWORD=/);
  assert.match(e.message, /\$\{SOURCE_PASSWORD:-value\}/);
  assert.doesNotMatch(e.message, /DB_HOST/);
});

test('a malformed ${ is reported with its option', () => {
  const e = errorOf(() => parseConfig(minimal().replace('user: u', 'user: "u${oops"'), {}));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /line 3, source\.user: the "\$\{" at character 2 is never closed/);
});

test('an unknown key is named, with the closest known key', () => {
  const text = minimal().replace('  brokers: [k1:9092]', '  brokers: [k1:9092]\n  broker: k2:9092').replace('topics:', 'topcs: {}\ntopics:');
  const e = errorOf(() => parseConfig(text, {}, 'c.yaml'));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /line 7, kafka\.broker: unknown option; did you mean kafka\.brokers\?/);
  assert.match(e.message, /topcs: unknown option; did you mean topics\?/);
  const far = errorOf(() => parseConfig(minimal('zzzzzz: 1\n'), {}));
  assert.match(far.message, /zzzzzz: unknown option; the options at the top level are source, kafka, objects, topics/);
  const misplaced = errorOf(() => parseConfig(minimal('brokers: [a:1]\n'), {}));
  assert.match(misplaced.message, /brokers: unknown option; brokers belongs at kafka\.brokers/);
});

test('a value of the wrong type names the option path, what is allowed and the fix', () => {
  const e = errorOf(() => parseConfig(minimal().replace('host: db.example', 'host: db.example\n  port: "abc"'), {}, 'x.yaml'));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /^Invalid configuration in x\.yaml \(1 problem\):/);
  assert.match(e.message, /line 3, source\.port: expected an integer from 1 to 65535, got the string "abc"; .*e\.g\. port: 3306/);
});

test('source.serverId must be an integer from 1 to 4294967295', () => {
  for (const bad of ['0', '4294967296', '1.5', '-1']) {
    const e = errorOf(() => parseConfig(minimal().replace('user: u', `user: u\n  serverId: ${bad}`), {}));
    assert.match(e.message, /source\.serverId: expected an integer from 1 to 4294967295/, bad);
  }
  assert.equal(parseConfig(minimal().replace('user: u', 'user: u\n  serverId: 4294967295'), {}).source.serverId, 4294967295);
});

test('every problem is listed, one per line, in file order', () => {
  const text = `source:
  host: db
  port: 99999
  user: u
  password: pw
kafka:
  brokers: [k1:9092]
  acks: 2
  compression: snappy
objects: [demo.orders]
topics:
  default: dts_demo
  mapping: { x.y: t2 }
partitionPolicy: primary_key
log: { level: verbose }
`;
  const e = errorOf(() => parseConfig(text, {}, 'multi.yaml'));
  const lines = e.message.split('\n');
  assert.equal(lines[0], 'Invalid configuration in multi.yaml (6 problems):');
  assert.equal(lines.length, 7);
  assert.match(lines[1], /^ {2}- line 3, source\.port: expected an integer from 1 to 65535, got the number 99999/);
  assert.match(lines[2], /^ {2}- line 8, kafka\.acks: the number 2 is not allowed; expected one of all, 1, 0/);
  assert.match(lines[3], /^ {2}- line 9, kafka\.compression: snappy is not supported: kafkajs has only gzip built in.*use none or gzip/);
  assert.match(lines[4], /^ {2}- line 13, topics\.mapping\["x\.y"\]: .*not among objects/);
  assert.match(lines[5], /^ {2}- line 14, partitionPolicy: .*expected one of single, table, primary-key; did you mean primary-key\?/);
  assert.match(lines[6], /^ {2}- line 15, log\.level: .*expected one of trace, debug, info, warn, error/);
});

test('missing required options name what to add', () => {
  const e = errorOf(() => parseConfig('source:\n  host: db\n', {}));
  assert.match(e.message, /source\.user: required option is missing/);
  assert.match(e.message, /source\.password: required option is missing.*password: ""/);
  assert.match(e.message, /kafka: required option is missing.*add a "kafka:" section with at least brokers/);
  assert.match(e.message, /objects: required option is missing/);
  assert.match(e.message, /topics: required option is missing/);
  const empty = errorOf(() => parseConfig(minimal().replace('password: pw', 'password:'), {}));
  assert.match(empty.message, /source\.password: expected a string, got an empty value; give a value, or write password: "" for none/);
});

test('bad object patterns, duplicates and overlaps in objects are errors', () => {
  const text = minimal().replace('  - demo.orders', "  - demo.orders\n  - demo\n  - my-db.t\n  - '`demo`.`orders`'\n  - shop.*\n  - shop.x");
  const e = errorOf(() => parseConfig(text, {}));
  assert.match(e.message, /line 9, objects\[1\]: "demo" is not a valid object: it has no table part; write demo\.\* /);
  assert.match(e.message, /line 10, objects\[2\]: "my-db\.t" is not a valid object: .*`my-db`\.t/);
  assert.match(e.message, /line 11, objects\[3\]: demo\.orders is listed twice \(also objects\[0\]\)/);
  assert.match(e.message, /line 13, objects\[5\]: shop\.x is already selected by shop\.\* \(objects\[4\]\)/);
  const none = errorOf(() => parseConfig(minimal().replace('  - demo.orders', '  []').replace('objects:\n', 'objects:'), {}));
  assert.match(none.message, /objects: the list is empty/);
});

test('a topics.mapping key that matches no entry of objects is an error', () => {
  const text = minimal().replace('  default: dts_demo', '  default: dts_demo\n  mapping:\n    demo.orders: t1\n    demo.*: t2\n    x.y: t3\n    bad: t4');
  const e = errorOf(() => parseConfig(text, {}));
  assert.match(
    e.message,
    /line 14, topics\.mapping\["x\.y"\]: topics\.mapping has x\.y, which is not among objects \(demo\.orders\); add it to objects or remove the mapping/,
  );
  assert.match(e.message, /topics\.mapping\.bad: "bad" is not a valid object/);
  assert.doesNotMatch(e.message, /demo\.\*/, 'db.* matches demo.orders');
  assert.match(e.message, /\(2 problems\)/);
});

test('kafka brokers must be host:port and topics valid Kafka names', () => {
  const text = minimal()
    .replace('brokers: [k1:9092]', "brokers: ['PLAINTEXT://k1:9092', k2, 'a:1,b:2', '[::1]:9092']")
    .replace('default: dts_demo', 'default: "bad topic"');
  const e = errorOf(() => parseConfig(text, {}));
  assert.match(e.message, /kafka\.brokers\[0\]: .*scheme prefix.*write "k1:9092"/);
  assert.match(e.message, /kafka\.brokers\[1\]: "k2" is not host:port/);
  assert.match(e.message, /kafka\.brokers\[2\]: .*its own list entry/);
  assert.doesNotMatch(e.message, /brokers\[3\]/);
  assert.match(e.message, /topics\.default: "bad topic" is not a valid Kafka topic name/);
  const single = errorOf(() => parseConfig(minimal().replace('brokers: [k1:9092]', 'brokers: k1:9092'), {}));
  assert.match(single.message, /kafka\.brokers: expected a list, got the string "k1:9092"; write a list: brokers: \[k1:9092\]/);
});

test('passwords never appear in any error message', () => {
  const secret = 'Zq9-unique-PASSWORD-value';
  const texts = [
    // Invalid options around both passwords.
    `source:\n  host: db\n  port: nope\n  user: u\n  password: ${secret}\n  pasword: ${secret}\nkafka:\n  brokers: [k:9092]\n  sasl: { mechanism: plain, username: u, password: ${secret}, extra: ${secret} }\nobjects: [demo.orders]\ntopics: { default: t }\n`,
    // A YAML syntax error on the password's own line.
    `source:\n  host: db\n  user: u\n  password: ${secret}: more\n`,
    `source:\n  password: "${secret}\n`,
    // A malformed reference inside the password.
    `source:\n  host: db\n  user: u\n  password: "${secret}\${1${secret}}"\nkafka: { brokers: [k:9092] }\nobjects: [demo.orders]\ntopics: { default: t }\n`,
    `source:\n  host: db\n  user: u\n  password: "${secret}\${${secret}"\nkafka: { brokers: [k:9092] }\nobjects: [demo.orders]\ntopics: { default: t }\n`,
    // A password of the wrong type.
    `source:\n  host: db\n  user: u\n  password: [${secret}]\nkafka: { brokers: [k:9092] }\nobjects: [demo.orders]\ntopics: { default: t }\n`,
  ];
  for (const text of texts) {
    const e = errorOf(() => parseConfig(text, { PW: secret }));
    assert.equal(e.message.includes(secret), false, e.message);
    assert.equal(e.message.includes('Zq9'), false, e.message);
  }
  const numeric = errorOf(() => parseConfig(minimal().replace('password: pw', 'password: 8675309123'), {}));
  assert.match(numeric.message, /source\.password: expected a string, got a number; put it in quotes/);
  assert.equal(numeric.message.includes('8675309123'), false, numeric.message);
});

test('the result is deeply frozen', () => {
  const c = parseConfig(minimal(), {});
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.source));
  assert.ok(Object.isFrozen(c.source.tls));
  assert.ok(Object.isFrozen(c.kafka.brokers));
  assert.ok(Object.isFrozen(c.objects[0]));
  assert.ok(Object.isFrozen(c.topics.mapping));
  assert.throws(() => {
    (c.source as { port: number }).port = 1;
  }, TypeError);
});

test('YAML syntax errors give line and column', () => {
  const e = errorOf(() => parseConfig('source:\n  host: db\n  user: [u\nkafka: {}\n', {}, 'broken.yaml'));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /^broken\.yaml is not valid YAML \(\d problems?\):/);
  assert.match(e.message, /line \d+, column \d+: /);
  const tab = errorOf(() => parseConfig('source:\n\thost: db\n', {}, 'tab.yaml'));
  assert.match(tab.message, /line 2, column 1: Tabs are not allowed/);
  const dup = errorOf(() => parseConfig('mode: full\nmode: initial\n', {}, 'dup.yaml'));
  assert.match(dup.message, /line 2, column 1: Map keys must be unique/);
});

test('an empty file or a non-mapping says what the file must hold', () => {
  assert.match(errorOf(() => parseConfig('', {}, 'e.yaml')).message, /e\.yaml is empty; it needs at least the sections source, kafka, objects and topics/);
  assert.match(errorOf(() => parseConfig('- a\n', {}, 'l.yaml')).message, /l\.yaml must be a YAML mapping .* not a list/);
});

test('a missing config file names the path and what --config takes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-test-'));
  try {
    const missing = path.join(dir, 'nope.yaml');
    const e = errorOf(() => loadConfig(missing, {}));
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.ok(e.message.includes(missing), e.message);
    assert.match(e.message, /does not exist; --config takes the path of a YAML config file/);
    assert.match(errorOf(() => loadConfig(dir, {})).message, /is a directory; --config takes/);
    const file = path.join(dir, 'ok.yaml');
    writeFileSync(file, minimal());
    assert.equal(loadConfig(file, {}).checkpoint.file, path.join(dir, 'checkpoint.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS client certificates need both cert and key', () => {
  const e = errorOf(() => parseConfig(minimal().replace('password: pw', 'password: pw\n  tls: { enabled: true, cert: c.pem }'), {}));
  assert.match(e.message, /source\.tls\.key: cert is set but key is not/);
});

test('store kafka: the checkpoint topic and task name default from kafka.clientId; exactly-once without it, or with acks below all, is refused', () => {
  const c = parseConfig(minimal('checkpoint: { store: kafka }\n'), {});
  assert.equal(c.checkpoint.topic, 'dts-binlog-kafka.checkpoints');
  assert.equal(parseConfig(minimal('checkpoint: { store: kafka }\ndelivery: exactly-once\n'), {}).delivery, 'exactly-once');
  assert.match(errorOf(() => parseConfig(minimal('checkpoint: { store: kafka }\ndelivery: exactly-once\n').replace('kafka:\n', 'kafka:\n  acks: 1\n'), {})).message,
    /kafka\.acks: delivery exactly-once needs every in-sync replica's acknowledgement .* set kafka\.acks: all \(it is 1\)/);
  assert.equal(c.checkpoint.task, 'dts-binlog-kafka');
  const named = parseConfig(minimal('checkpoint: { store: kafka, task: orders, topic: ha.cp }\n'), {});
  assert.deepEqual([named.checkpoint.task, named.checkpoint.topic], ['orders', 'ha.cp']);
  const e = errorOf(() => parseConfig(minimal('delivery: exactly-once\n'), {}));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /delivery: delivery exactly-once .* needs checkpoint\.store: kafka; set it, or use delivery: at-least-once/);
  assert.match(errorOf(() => parseConfig(minimal('checkpoint: { store: kafka, sessionTimeoutMs: 1000 }\n'), {})).message, /checkpoint\.sessionTimeoutMs/);
});
