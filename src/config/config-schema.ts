import { z } from 'zod';
import { checkObjectPattern, formatObjectPattern, type ObjectPattern } from './object-pattern.ts';

// The single source of truth for the options and their defaults. docs/config.md documents
// the same (a test checks that it names every option). Every object is strict, so an unknown
// key is an error; the loader turns zod's issues into the messages users see.

/** Numbers may come as text (from `${PORT:-3306}`); plain digits become a number, anything else is left to fail. */
const textToNumber = (v: unknown): unknown => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
/** Booleans may come as text (from `${TLS:-false}`). */
const textToBoolean = (v: unknown): unknown =>
  typeof v === 'string' && /^\s*(true|false)\s*$/i.test(v) ? v.trim().toLowerCase() === 'true' : v;

const int = (min: number, max: number) => z.preprocess(textToNumber, z.int().min(min).max(max));
const bool = () => z.preprocess(textToBoolean, z.boolean());
const nonEmpty = () => z.string().min(1);

const MAX_MS = 24 * 60 * 60 * 1000;

/** Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], and not `.` or `..`. */
const topicName = () =>
  z.string().superRefine((name, ctx) => {
    if (name === '' || name.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(name) || name === '.' || name === '..') {
      ctx.addIssue({
        code: 'custom',
        message:
          `${JSON.stringify(name)} is not a valid Kafka topic name: a topic name has 1 to 249 characters ` +
          'from a-z A-Z 0-9 . _ - and is not "." or ".."; rename it, e.g. dts_demo',
      });
    }
  });

const tlsSchema = (side: string) =>
  z
    .strictObject({
      enabled: bool().default(false).describe(`Connect to the ${side} over TLS.`),
      ca: nonEmpty().optional().describe('PEM file of the certificate authority to trust (default: the system CAs). Relative to the config file.'),
      cert: nonEmpty().optional().describe('PEM file of the client certificate, for mutual TLS; needs key. Relative to the config file.'),
      key: nonEmpty().optional().describe('PEM file of the client private key, for mutual TLS; needs cert. Relative to the config file.'),
      rejectUnauthorized: bool().default(true).describe("Verify the server's certificate; false only for tests."),
    })
    .superRefine((tls, ctx) => {
      if ((tls.cert === undefined) !== (tls.key === undefined)) {
        const [has, lacks] = tls.cert === undefined ? ['key', 'cert'] : ['cert', 'key'];
        ctx.addIssue({
          code: 'custom',
          path: [lacks],
          message: `${has} is set but ${lacks} is not; a client certificate needs both cert and key: add ${lacks}, or remove ${has}`,
        });
      }
    }, { when: () => true });

const TLS_OFF = { enabled: false, rejectUnauthorized: true } as const;

/** Where `kafkajs` needs a codec package we do not ship. */
const UNSUPPORTED_COMPRESSION: Record<string, string> = {
  snappy: 'kafkajs-snappy',
  lz4: 'kafkajs-lz4',
  zstd: '@kafkajs/zstd',
};

const sourceSchema = z
  .strictObject({
    host: nonEmpty().describe('Host name or IP address of the MySQL/MariaDB source, e.g. 127.0.0.1.'),
    port: int(1, 65535).default(3306).describe('TCP port of the source.'),
    user: nonEmpty().describe('User to connect as; needs REPLICATION SLAVE, REPLICATION CLIENT (MariaDB: BINLOG MONITOR) and SELECT.'),
    password: z
      .string()
      .describe('Password of user, best given as ${SOURCE_PASSWORD}; an empty one must be written as ""; never logged.'),
    serverId: int(1, 4294967295)
      .default(54001)
      .describe("Server id this binlog client announces to the source; must differ from the source's own server_id and every replica's."),
    connectTimeoutMs: int(1, MAX_MS).default(10000).describe('Connection timeout in milliseconds.'),
    heartbeatMs: int(100, 3600000)
      .default(5000)
      .describe(
        'Heartbeat period asked of the source for the binlog connection; a binlog connection that delivers nothing (no event, no heartbeat) for 3 periods is taken as dead and reconnected.',
      ),
    tls: tlsSchema('source').prefault(TLS_OFF).describe('TLS to the source (off by default).'),
  })
  .describe('The MySQL/MariaDB server whose binlog is read.');

const brokerAddress = () =>
  z.string().superRefine((address, ctx) => {
    const scheme = /^[a-z][a-z0-9+_-]*:\/\//i.exec(address);
    if (scheme) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(address)} has a scheme prefix; brokers are plain host:port: write ${JSON.stringify(address.slice(scheme[0].length))}`,
      });
      return;
    }
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/,]+):(\d{1,5})$/.exec(address);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      const hint = address.includes(',') ? 'give each broker as its own list entry, e.g. [host1:9092, host2:9092]' : 'write host:port, e.g. 127.0.0.1:9092';
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(address)} is not host:port (port from 1 to 65535; an IPv6 host in brackets, [::1]:9092); ${hint}`,
      });
    }
  });

const kafkaSchema = z
  .strictObject({
    brokers: z.array(brokerAddress()).min(1).describe('Bootstrap brokers, each host:port, e.g. [127.0.0.1:9092].'),
    clientId: nonEmpty().default('dts-binlog-kafka').describe('Kafka client id of the producer.'),
    acks: z
      .preprocess((v) => (v === '1' ? 1 : v === '0' ? 0 : v), z.literal(['all', 1, 0]))
      .default('all')
      .describe('Acknowledgements a produce waits for: all (every in-sync replica), 1 (the leader) or 0 (none).'),
    compression: z
      .enum(['none', 'gzip'], {
        error: (issue) => {
          const codec = typeof issue.input === 'string' ? UNSUPPORTED_COMPRESSION[issue.input.toLowerCase()] : undefined;
          return codec === undefined
            ? undefined
            : `${issue.input as string} is not supported: kafkajs has only gzip built in, and ${issue.input as string} needs the codec package ${codec}, which this build does not include; use none or gzip`;
        },
      })
      .default('none')
      .describe('Compression of produced batches: none or gzip (snappy, lz4 and zstd need codec packages kafkajs does not include).'),
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism.'),
        username: nonEmpty().describe('SASL user name (on DTS-managed Kafka: <account>-<consumer group id>).'),
        password: z.string().describe('SASL password, best given as ${KAFKA_SASL_PASSWORD}; never logged.'),
      })
      .optional()
      .describe('SASL authentication (none by default).'),
    tls: tlsSchema('Kafka brokers').prefault(TLS_OFF).describe('TLS to the brokers (off by default).'),
    createTopics: bool().default(false).describe('Create missing topics at start, with topicPartitions partitions and topicReplicationFactor replicas.'),
    topicPartitions: int(1, 100000).default(1).describe('Partitions of a topic created by createTopics.'),
    topicReplicationFactor: int(1, 32767).default(1).describe('Replication factor of a topic created by createTopics.'),
    maxRecordBytes: int(1, 2147483647)
      .default(10485760)
      .describe('Largest record value in bytes; a record above it is reported, not dropped (DTS caps records at 10 MB).'),
    oversizedRecord: z
      .enum(['stop', 'skip'])
      .default('stop')
      .describe(
        "A row whose record is above maxRecordBytes or the topic's max.message.bytes: stop (the sync stops with RECORD_TOO_LARGE naming the table, key and size) or skip (the row is left out, logged and counted).",
      ),
    requestTimeoutMs: int(1000, MAX_MS)
      .default(30000)
      .describe('How long a broker may take to answer a request; after it, the connection is taken as dead, closed and opened again.'),
  })
  .describe('The Kafka cluster records are produced to.');

const objectsSchema = z
  .array(
    z.string().transform((s, ctx): ObjectPattern => {
      const result = checkObjectPattern(s);
      if (result.ok) return result.pattern;
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a valid object: ${result.reason}` });
      return z.NEVER;
    }),
  )
  .min(1)
  .describe('What to sync: db.table, or db.* for every table of a database; a name with a dot or other odd characters goes in backticks.');

const topicsSchema = z
  .strictObject({
    default: topicName().describe('Topic for every object without a mapping (like the one topic of a DTS task), e.g. dts_demo.'),
    mapping: z
      .record(z.string(), topicName())
      .default({})
      .describe('Object (db.table or db.*) to topic, like DTS object name mapping; db.table wins over db.*. Keys must be among objects.'),
  })
  .describe('Topic routing.');

/** The parsed objects, keeping only the entries that parsed (the rest have issues of their own). */
function validPatterns(objects: unknown): { pattern: ObjectPattern; index: number }[] {
  if (!Array.isArray(objects)) return [];
  return objects.flatMap((p, index) =>
    p !== null && typeof p === 'object' && typeof p.database === 'string' && typeof p.table === 'string' ? [{ pattern: p as ObjectPattern, index }] : [],
  );
}

/** Checks across options: duplicated objects, and mapping keys that are invalid or select nothing. */
function crossCheck(config: { objects?: unknown; topics?: unknown; delivery?: unknown; kafka?: unknown; checkpoint?: { store?: unknown } }, ctx: z.RefinementCtx): void {
  const acks = (config.kafka as { acks?: unknown } | undefined)?.acks;
  if (config.delivery === 'exactly-once' && acks !== undefined && acks !== 'all') {
    ctx.addIssue({
      code: 'custom',
      path: ['kafka', 'acks'],
      message: `delivery exactly-once needs every in-sync replica's acknowledgement (a transactional producer is idempotent): set kafka.acks: all (it is ${JSON.stringify(acks)}), or use delivery: at-least-once`,
    });
  }
  if (config.delivery === 'exactly-once' && config.checkpoint?.store !== 'kafka') {
    ctx.addIssue({
      code: 'custom',
      path: ['delivery'],
      message: 'delivery exactly-once commits the checkpoint in the same Kafka transaction as the records, so it needs checkpoint.store: kafka; set it, or use delivery: at-least-once',
    });
  }
  const objects = validPatterns(config.objects);
  const seen = new Map<string, number>();
  for (const { pattern, index } of objects) {
    const name = formatObjectPattern(pattern);
    const first = seen.get(name);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['objects', index], message: `${name} is listed twice (also objects[${first}]); remove one of them` });
      continue;
    }
    seen.set(name, index);
  }
  for (const { pattern, index } of objects) {
    if (pattern.table === '*') continue;
    const wildcard = formatObjectPattern({ database: pattern.database, table: '*' });
    const covering = seen.get(wildcard);
    if (covering !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['objects', index],
        message: `${formatObjectPattern(pattern)} is already selected by ${wildcard} (objects[${covering}]); remove one of them`,
      });
    }
  }

  const topics = config.topics;
  if (topics === null || typeof topics !== 'object') return;
  const mapping = (topics as { mapping?: unknown }).mapping;
  if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) return;
  const listed = [...seen.keys()].join(', ');
  const canonical = new Map<string, string>();
  for (const key of Object.keys(mapping)) {
    const result = checkObjectPattern(key);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', path: ['topics', 'mapping', key], message: `${JSON.stringify(key)} is not a valid object: ${result.reason}` });
      continue;
    }
    const { database, table } = result.pattern;
    const name = formatObjectPattern(result.pattern);
    const other = canonical.get(name);
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['topics', 'mapping', key],
        message: `${JSON.stringify(key)} and ${JSON.stringify(other)} name the same object; keep one mapping`,
      });
      continue;
    }
    canonical.set(name, key);
    const selected = objects.some(({ pattern: p }) => p.database === database && (table === '*' || p.table === '*' || p.table === table));
    if (objects.length > 0 && !selected) {
      ctx.addIssue({
        code: 'custom',
        path: ['topics', 'mapping', key],
        message: `topics.mapping has ${name}, which is not among objects (${listed}); add it to objects or remove the mapping`,
      });
    }
  }
}

/** Mapping keys in their canonical form (`formatObjectPattern`), so that lookups need no parsing. */
function canonicalMapping(mapping: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, topic] of Object.entries(mapping)) {
    const result = checkObjectPattern(key);
    out[result.ok ? formatObjectPattern(result.pattern) : key] = topic;
  }
  return out;
}

export const configSchema = z
  .strictObject({
    source: sourceSchema,
    kafka: kafkaSchema,
    objects: objectsSchema,
    topics: topicsSchema,
    partitionPolicy: z
      .enum(['single', 'table', 'primary-key'])
      .default('single')
      .describe(
        'Partition of a record: single (all to partition 0: global order), table (hash of db + table) or primary-key (hash of the primary key; DDL and keyless tables to 0).',
      ),
    ddl: z
      .strictObject({
        emit: bool().default(false).describe("Produce DDL records; false ignores DDL in the incremental phase, DTS's default."),
      })
      .prefault({})
      .describe('DDL handling.'),
    mode: z
      .enum(['initial', 'incremental', 'full'])
      .default('initial')
      .describe('initial: schema, full snapshot, then the binlog; incremental: the binlog only; full: the snapshot only.'),
    snapshot: z
      .strictObject({
        schema: bool().default(true).describe('Initial schema sync: one DDL record with CREATE TABLE per table, before its rows (modes initial and full).'),
        chunkRows: int(100, 1_000_000).default(10_000).describe('Rows read per chunk of the initial full-data sync (keyset pagination on the primary or NOT NULL unique key).'),
        workers: int(1, 16).default(2).describe('Threads that read and encode chunks of the initial full-data sync side by side, each with a source connection of its own.'),
        progress: z
          .enum(['auto', 'bar', 'log', 'off'])
          .default('auto')
          .describe('Snapshot progress: bar (per-table bars on the terminal), log (a log line every 10 s), auto (bar when stderr is a terminal, else log) or off.'),
      })
      .prefault({})
      .describe('The initial schema and full-data sync (modes initial and full).'),
    checkpoint: z
      .strictObject({
        file: nonEmpty()
          .default('checkpoint.json')
          .describe("Checkpoint file; a relative path resolves against the config file's directory."),
        intervalMs: int(1, MAX_MS).default(1000).describe('How often the checkpoint is written, in milliseconds.'),
        store: z
          .enum(['file', 'kafka'])
          .default('file')
          .describe('file: checkpoint.file on this host; kafka: a compacted topic, so that instances on other hosts can take over (docs/operations.md).'),
        topic: nonEmpty().optional().describe('store kafka: the compacted checkpoint topic (default <kafka.clientId>.checkpoints).'),
        task: nonEmpty().optional().describe('store kafka: the task name, the key of its checkpoint and the name its instances elect an active one under (default kafka.clientId).'),
        sessionTimeoutMs: int(6000, 300_000)
          .default(10_000)
          .describe('store kafka: how long the active instance may go unheard before a standby takes over, in milliseconds.'),
      })
      .prefault({})
      .describe('Where the synchronizer records how far it got.'),
    delivery: z
      .enum(['at-least-once', 'exactly-once'])
      .default('at-least-once')
      .describe('at-least-once: a restart may repeat the last records; exactly-once: records and the checkpoint that covers them are committed in one Kafka transaction (Kafka 2.5+, checkpoint.store kafka, kafka.acks all); read_committed consumers see each change once.'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info').describe('Least severe level logged.'),
      })
      .prefault({})
      .describe('Logging.'),
    metrics: z
      .strictObject({
        port: int(0, 65535)
          .default(0)
          .describe('Port of the HTTP endpoint serving /metrics (Prometheus), /healthz and /readyz; 0 (the default) turns it off.'),
        host: nonEmpty().default('0.0.0.0').describe('Address the endpoint listens on; 0.0.0.0 is every IPv4 interface, 127.0.0.1 this host only.'),
        stallSeconds: int(1, 86400)
          .default(60)
          .describe('/readyz answers 503 when records sent to Kafka have waited this long with no acknowledgement.'),
      })
      .prefault({})
      .describe('Metrics and health endpoints (docs/operations.md).'),
  })
  .superRefine(crossCheck, { when: () => true })
  .transform((config) => ({
    ...config,
    topics: { ...config.topics, mapping: canonicalMapping(config.topics.mapping) },
    checkpoint: {
      ...config.checkpoint,
      topic: config.checkpoint.topic ?? `${config.kafka.clientId}.checkpoints`,
      task: config.checkpoint.task ?? config.kafka.clientId,
    },
  }));

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A validated configuration (deeply frozen at run time). `objects` holds parsed patterns;
 * `topics.mapping` keys are canonical (`formatObjectPattern`); `checkpoint.file` and the TLS
 * file paths are absolute after `loadConfig`/`parseConfig`.
 */
export type SyncConfig = DeepReadonly<z.output<typeof configSchema>>;
