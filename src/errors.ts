/**
 * Every error a user can meet is declared here with a stable code. A code never changes
 * meaning once shipped; add new ones instead. `retriable` tells the one retry helper
 * whether trying again can help.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retriable: false },
  CONFIG_ENV_MISSING: { retriable: false },
  DECODE_FAILED: { retriable: false },
  ENCODE_FAILED: { retriable: false },
  UNSUPPORTED_COLUMN_TYPE: { retriable: false },
  SOURCE_UNREACHABLE: { retriable: true },
  SOURCE_QUERY_FAILED: { retriable: true },
  BINLOG_POSITION_PURGED: { retriable: false },
  SCHEMA_UNKNOWN_TABLE: { retriable: false },
  KAFKA_UNREACHABLE: { retriable: true },
  KAFKA_TOPIC_MISSING: { retriable: false },
  RECORD_TOO_LARGE: { retriable: false },
  CHECKPOINT_CORRUPT: { retriable: false },
  CHECKPOINT_LOCKED: { retriable: false },
  /** an asynchronous checkpoint write (checkpoint.store kafka) failed or came back too late */
  CHECKPOINT_WRITE_FAILED: { retriable: true },
  /** checkpoint.store kafka: this instance is not (or no longer) the active one of its task; it stands by */
  NOT_ACTIVE: { retriable: false },
  PRECHECK_FAILED: { retriable: false },
  SCHEMA_NO_KEY: { retriable: false },
  CONSUMER_GROUP_CONFLICT: { retriable: false },
  METRICS_PORT_UNAVAILABLE: { retriable: false },
  SERVER_ID_IN_USE: { retriable: false },
  SNAPSHOT_WORKER_FAILED: { retriable: true },
  SOURCE_PRIVILEGE_MISSING: { retriable: false },
  /** a binlog event the synchronizer cannot decode (PARTIAL_JSON updates, an unknown compression): retrying meets it again */
  SOURCE_EVENT_UNSUPPORTED: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.retriable = options?.retriable ?? ERROR_CODES[code].retriable;
  }
}

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}
