import { z } from 'zod';

// The options of `npm run consume`, in the style of src/config/config-schema.ts: one zod
// schema is the single source of truth for options and defaults; docs/consumer.md documents
// the same (a unit test checks that it names every option). Every object is strict, so an
// unknown key is an error with a did-you-mean; every command-line flag overrides the option
// of the same name (load-consume-config.ts).

/** Numbers may come as text (from `${CHECKPOINT:-0}` or a flag); plain digits become a number. */
const textToNumber = (v: unknown): unknown => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
/** Booleans may come as text (from `${TLS:-false}` or `--use-config-checkpoint false`). */
const textToBoolean = (v: unknown): unknown =>
  typeof v === 'string' && /^\s*(true|false)\s*$/i.test(v) ? v.trim().toLowerCase() === 'true' : v;
/** A list may come as one comma-separated text (from a flag: `--partitions 0,1`). */
const textToList = (v: unknown): unknown =>
  typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;

const int = (min: number, max: number) => z.preprocess(textToNumber, z.int().min(min).max(max));
const bool = () => z.preprocess(textToBoolean, z.boolean());
const nonEmpty = () => z.string().min(1);

const MAX_MS = 24 * 60 * 60 * 1000;
/** 9999-12-31: a checkpoint above it is certainly not in seconds. */
const MAX_SECONDS = 253402300799;

const brokerAddress = () =>
  z.string().superRefine((address, ctx) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/,]+):(\d{1,5})$/.exec(address);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(address)} is not host:port (port from 1 to 65535; an IPv6 host in brackets); write e.g. 127.0.0.1:9092, one list entry per broker`,
      });
    }
  });

const TLS_OFF = { enabled: false, rejectUnauthorized: true } as const;

const tlsSchema = z
  .strictObject({
    enabled: bool().default(false).describe('Connect to the brokers over TLS.'),
    ca: nonEmpty().optional().describe('PEM file of the certificate authority to trust (default: the system CAs). Relative to the config file.'),
    cert: nonEmpty().optional().describe('PEM file of the client certificate, for mutual TLS; needs key. Relative to the config file.'),
    key: nonEmpty().optional().describe('PEM file of the client private key, for mutual TLS; needs cert. Relative to the config file.'),
    rejectUnauthorized: bool().default(true).describe("Verify the brokers' certificates; false only for tests."),
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

const saslSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).default('plain').describe('SASL mechanism: plain, scram-sha-256 or scram-sha-512.'),
    username: nonEmpty().optional().describe('SASL user name, as is. Give either username or account.'),
    account: nonEmpty()
      .optional()
      .describe('DTS-managed Kafka: the subscription account; the user name becomes <account>-<group>. Give either username or account.'),
    password: z.string().describe('SASL password, best given as ${KAFKA_PASSWORD}; never logged.'),
  })
  .superRefine((sasl, ctx) => {
    if ((sasl.username === undefined) === (sasl.account === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message:
          sasl.username === undefined
            ? 'SASL needs a user: give sasl.username (the user name as is) or sasl.account (DTS: the user name becomes <account>-<group>)'
            : 'sasl.username and sasl.account are both set; give one: username is used as is, account becomes <account>-<group>',
      });
    }
  }, { when: () => true });

export const consumeConfigSchema = z
  .strictObject({
    brokers: z
      .preprocess(textToList, z.array(brokerAddress()).min(1))
      .describe('Bootstrap brokers, each host:port, e.g. [127.0.0.1:9092]; a flag takes them comma-separated.'),
    topic: nonEmpty().describe('The topic the synchronizer writes, e.g. dts_demo.'),
    group: nonEmpty().describe('Consumer group id: the committed offsets are stored under it; subscribe mode balances partitions among its clients.'),
    clientId: nonEmpty().default('dts-consumer').describe('Kafka client id.'),
    sasl: saslSchema.optional().describe('SASL authentication (none by default).'),
    tls: tlsSchema.prefault(TLS_OFF).describe('TLS to the brokers (off by default).'),
    checkpoint: z
      .preprocess(textToNumber, z.int().min(0).max(MAX_SECONDS, {
        error: (issue) =>
          `${String(issue.input)} is larger than any date in seconds; the checkpoint is a UNIX timestamp in seconds, not milliseconds: write ${Math.floor(Number(issue.input) / 1000)}`,
      }))
      .optional()
      .describe('Initial checkpoint: a UNIX timestamp in seconds; consumption starts at the first record at or after it. Without it: the stored checkpoint, else the start of the topic.'),
    useConfigCheckpoint: bool()
      .default(true)
      .describe(
        'true: start from checkpoint every time this client starts (subscribe mode: the partitions of its first assignment; later ones continue from the group\'s commits); false: continue from the stored checkpoint (group offsets, else checkpointFile), checkpoint only when none is stored.',
      ),
    mode: z
      .enum(['assign', 'subscribe'])
      .default('assign')
      .describe('assign: read the listed partitions; subscribe: join the group, which shares the partitions among its clients and fails over to a survivor.'),
    partitions: z
      .preprocess(textToList, z.array(int(0, 1_000_000)).min(1))
      .optional()
      .describe('assign mode: the partitions to read (default [0]); a flag takes them comma-separated.'),
    checkpointFile: nonEmpty()
      .default('consumer-checkpoint.json')
      .describe("Local checkpoint file (per partition the next offset and the last record's timestamp); relative to the config file. \"none\" keeps none."),
    commitIntervalMs: int(0, MAX_MS)
      .default(1000)
      .describe('How often processed offsets are committed, in ms; 0 commits after every record. A restart repeats at most what was not committed yet.'),
    sessionTimeoutMs: int(1000, MAX_MS)
      .default(30000)
      .describe('Group session timeout in ms: how long the group waits before it gives a dead client\'s partitions to another (the broker allows 6000 to 300000 by default).'),
    format: z.enum(['text', 'json']).default('text').describe('Output: text (readable) or json (one JSON object per line, for pipes).'),
    maxValueChars: int(0, 1_000_000_000)
      .default(200)
      .describe('text format: longer values are cut to this many characters (0: never); json is never cut.'),
    exitAtEnd: bool()
      .default(false)
      .describe('assign mode: stop (committing) once the partitions are read up to their end as of the start.'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info').describe('Least severe level logged (to stderr).'),
      })
      .prefault({})
      .describe('Logging.'),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'subscribe' && c.partitions !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['partitions'],
        message: 'partitions apply to assign mode only (subscribe mode takes the partitions the group gives); remove partitions, or set mode: assign',
      });
    }
    if (c.mode === 'subscribe' && c.exitAtEnd) {
      ctx.addIssue({
        code: 'custom',
        path: ['exitAtEnd'],
        message: 'exitAtEnd applies to assign mode only (in subscribe mode the partitions move between clients); remove it, or set mode: assign',
      });
    }
    const partitions = c.partitions ?? [];
    const dup = partitions.find((p, i) => partitions.indexOf(p) !== i);
    if (dup !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: `partition ${dup} is listed twice; list each once` });
    }
  }, { when: () => true });

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A validated consumer configuration. After `loadConsumeConfig`, `checkpointFile` and the TLS
 * file paths are absolute (or `checkpointFile` is null for "none"), `partitions` is set in
 * assign mode ([0] by default), and `sasl.username` holds the user name to log in with.
 */
export type ConsumeConfig = DeepReadonly<
  Omit<z.output<typeof consumeConfigSchema>, 'checkpointFile' | 'sasl'> & {
    checkpointFile: string | null;
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  }
>;
