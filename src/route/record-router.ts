/**
 * The one seam from a change event to a Kafka message: every record the synchronizer sends
 * (binlog rows and DDL in the sync session, INIT rows and schema records of the full-data
 * sync and of the streamed copy of added tables) takes its topic, key, partition and
 * oversize decision here.
 *
 * - topic: `topicFor` (topics.mapping, else topics.default); a DDL record goes to its
 *   table's topic when that table is selected, else to topics.default;
 * - key: `messageKey` (message-key.ts); null for DDL;
 * - partition: `partitionFor` under `partitionPolicy` (src/sink/partitioner.ts), worked out
 *   once per table when it does not depend on the key;
 * - oversize: kafka.oversizedRecord (oversized-record.ts).
 *
 * The decisions are pure functions over plain data (`tableRoute`, `ddlRoute`,
 * `partitionOf`), so that a chunk worker, which encodes INIT rows in its own thread, takes
 * them from here too. `RecordRouter` adds what needs state: the next record id, the
 * encoding (the output format in use) and the oversize count.
 */
import type { SyncConfig } from '../config/config-schema.ts';
import { matchesObject } from '../config/object-pattern.ts';
import { topicFor } from '../config/topic-for.ts';
import { encodeEvent } from '../dts/output-format.ts';
import type { Logger } from '../logger.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import type { ChangeEvent, RowChangeEvent } from '../model/change-event.ts';
import { partitionFor, partitionOfBytes, type PartitionPolicy } from '../sink/partitioner.ts';
import type { Sink, SinkMessage } from '../sink/sink.ts';
import { messageKey } from './message-key.ts';
import { OversizedRecords } from './oversized-record.ts';

/** Where the records of one table (or of one DDL) go. Plain data: it crosses to chunk workers. */
export interface TableRoute {
  readonly topic: string;
  readonly database: string;
  /** null for a DDL record not tied to a selected table */
  readonly table: string | null;
  readonly policy: PartitionPolicy;
  readonly partitionCount: number;
  /** the partition of every record of the route when it does not depend on the key, else -1 */
  readonly partition: number;
}

/** The config a route is worked out from. */
export type RouteConfig = Pick<SyncConfig, 'topics' | 'partitionPolicy'>;

/** The partition count of a topic, as ensureTopics returned it (1 for a topic it does not know). */
export type PartitionCounts = (topic: string) => number;

/** The route of a table's rows. Pure. */
export function tableRoute(config: RouteConfig, partitions: PartitionCounts, database: string, table: string): TableRoute {
  return route(config.partitionPolicy, partitions, topicFor(config, database, table), database, table);
}

/**
 * The route of a DDL record: the route of `table`, the selected table it is about, or, when
 * it is about none, topics.default (partition 0 under every policy). Pure.
 */
export function ddlRoute(config: RouteConfig, partitions: PartitionCounts, table: { readonly database: string; readonly table: string } | null): TableRoute {
  if (table !== null) return tableRoute(config, partitions, table.database, table.table);
  return route(config.partitionPolicy, partitions, config.topics.default, '', null);
}

/** The first of `tables` (a DDL's, the one it is mostly about first) that `objects` selects, else null. Pure. */
export function selectedTable<T extends { readonly database: string; readonly table: string | null }>(
  config: Pick<SyncConfig, 'objects'>, tables: readonly T[],
): (T & { readonly table: string }) | null {
  for (const t of tables) if (t.table !== null && matchesObject(config.objects, t.database, t.table)) return t as T & { readonly table: string };
  return null;
}

function route(policy: PartitionPolicy, partitions: PartitionCounts, topic: string, database: string, table: string | null): TableRoute {
  const partitionCount = partitions(topic);
  const keyed = policy === 'primary-key' && partitionCount > 1;
  const partition = keyed ? -1 : partitionFor(policy, partitionCount, { database, table, key: null });
  return { topic, database, table, policy, partitionCount, partition };
}

/** The partition of a record of `route` with message key `key` (partitionFor). Pure. */
export function partitionOf(route: TableRoute, key: Uint8Array | null): number {
  if (route.partition >= 0) return route.partition;
  // primary-key over several partitions: partitionFor's hash of the key, a keyless record to 0.
  return key === null ? 0 : partitionOfBytes(key, route.partitionCount);
}

/** The message key of a change: the row's key columns (messageKey), none for DDL. Pure. */
export function recordKey(event: ChangeEvent): Buffer | null {
  return event.kind === 'row' ? messageKey(event) : null;
}

export interface RecordRouterOptions {
  /** read at each record: it may be reloaded */
  readonly config: () => SyncConfig;
  readonly sink: Pick<Sink, 'recordLimit'>;
  readonly logger: Logger;
  /** what the oversize count covers, for its log line ("in this session") */
  readonly scope: string;
  /** each topic's partition count */
  readonly partitions: PartitionCounts;
  readonly sourceVersion: string;
  /** the next record id (the checkpoint's counter) */
  readonly nextId: () => bigint;
}

export class RecordRouter {
  private readonly o: RecordRouterOptions;
  private readonly oversized: OversizedRecords;

  constructor(o: RecordRouterOptions) {
    this.o = o;
    this.oversized = new OversizedRecords(o.config, o.sink, o.logger, o.scope);
  }

  /** The route of a table's rows under the config in force. */
  table(database: string, table: string): TableRoute {
    return tableRoute(this.o.config(), this.o.partitions, database, table);
  }

  /** The route of a DDL record naming `tables` (the one it is mostly about first): the first selected one's, else topics.default. */
  ddl(tables: readonly { readonly database: string; readonly table: string | null }[]): TableRoute {
    const config = this.o.config();
    return ddlRoute(config, this.o.partitions, selectedTable(config, tables));
  }

  /**
   * A change's message, encoded with the next id: null when kafka.oversizedRecord skips it
   * (throws RECORD_TOO_LARGE when it stops). `timestamp`: the message's, in ms as text;
   * `where`: the place an oversize report names, by default the change's binlog position.
   */
  message(event: ChangeEvent, route: TableRoute, readerTimestampMs: number, timestamp: string, where: string | null = null): SinkMessage | null {
    const value = encodeEvent(event, { id: this.o.nextId(), sourceVersion: this.o.sourceVersion, readerTimestampMs });
    const key = event.kind === 'row' ? messageKey(event) : null;
    if (!this.admit(route.topic, key, value, event, where)) return null;
    return { topic: route.topic, partition: partitionOf(route, key), key, value, timestamp };
  }

  /**
   * Messages a chunk worker encoded (keys and partitions from this module's functions,
   * values with id 0) as they go out: the ids stamped in the order given, those
   * kafka.oversizedRecord lets through. `stamp` gives them (encoded-chunk.ts, chunkMessages).
   */
  encoded(route: TableRoute, stamp: (nextId: () => bigint) => SinkMessage[], what: string, where: string): SinkMessage[] {
    const messages = stamp(this.o.nextId);
    const limit = this.o.sink.recordLimit(route.topic).bytes;
    const fits = (m: SinkMessage) => m.value.length + (m.key?.length ?? 0) <= limit;
    if (messages.every(fits)) return messages;
    return messages.filter((m) => fits(m) || this.oversized.admit(route.topic, m.key, m.value, what, where));
  }

  /** records left out as too large (kafka.oversizedRecord: skip) */
  get skipped(): number {
    return this.oversized.skipped;
  }

  private admit(topic: string, key: Buffer | null, value: Buffer, event: ChangeEvent, where: string | null): boolean {
    // The common case without a call: the limit is read once per record anyway.
    if (value.length + (key === null ? 0 : key.length) <= this.o.sink.recordLimit(topic).bytes) return true;
    return this.oversized.admit(topic, key, value, describe(event), where ?? formatBinlogPosition(event.source.position));
  }
}

/** `INSERT of db.t`, `DDL of db`: what an oversize report names. */
function describe(event: ChangeEvent): string {
  return event.kind === 'ddl' ? `DDL of ${event.database}` : `${event.operation} of ${tableName(event)}`;
}

function tableName(event: RowChangeEvent): string {
  return `${event.table.database}.${event.table.table}`;
}
