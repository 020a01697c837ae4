import { SyncError } from '../errors.ts';
import { binlogFileNumber, type BinlogPosition } from '../model/binlog-position.ts';
import type { ChangeEvent, DdlEvent, RowChangeEvent, SourceInfo } from '../model/change-event.ts';
import type { ColumnValue } from '../model/column-value.ts';
import type { ColumnSchema, TableSchema } from '../model/table-schema.ts';
import type { DtsField, DtsImageValue, DtsRecord } from './dts-record.ts';
import type { EncodeContext } from './record-format.ts';
import { DATA_TYPE_NUMBER } from './type-codes.ts';
import { columnMapper, type ValueMapper } from './value-mapper.ts';

/** The record's id, source version and reader time (tag readerThroughoutTime). */
export type BuildContext = EncodeContext;

/** Everything about a table that every one of its rows repeats. */
export interface TablePlan {
  readonly objectName: string;
  readonly fields: readonly DtsField[];
  readonly mappers: readonly ValueMapper[];
  readonly pkUkInfo: string;
  /**
   * Tag `text_charsets`: `{"notes":"latin1"}` for the TEXT columns whose charset is not a
   * UTF-8 or ASCII one; null when there are none. A TEXT value is a BinaryObject, which
   * names no charset (CHAR/VARCHAR values carry theirs): without it a consumer cannot tell
   * latin1 bytes from UTF-8. An extra tag, which DTS consumers ignore.
   */
  readonly textCharsets: string | null;
}

// Keyed by the schema object: a schema change brings a new TableSchema and so a new plan.
const plans = new WeakMap<TableSchema, TablePlan>();

/** The DTS Record for one change (docs/format.md, "Record fields"). Pure. */
export function buildRecord(event: ChangeEvent, ctx: BuildContext): DtsRecord {
  return event.kind === 'row' ? buildRowRecord(event, ctx) : buildDdlRecord(event, ctx);
}

function buildRowRecord(event: RowChangeEvent, ctx: BuildContext): DtsRecord {
  const plan = planFor(event.table);
  const source = event.source;
  const seconds = commitSeconds(source);
  const hasBefore = event.operation === 'UPDATE' || event.operation === 'DELETE';
  const hasAfter = event.operation !== 'DELETE';
  if ((event.before !== null) !== hasBefore || (event.after !== null) !== hasAfter) {
    throw new SyncError(
      'ENCODE_FAILED',
      `${event.operation} on ${event.table.database}.${event.table.table} must have ` +
        `${hasBefore ? 'a' : 'no'} before image and ${hasAfter ? 'an' : 'no'} after image`,
    );
  }
  return {
    version: 0,
    id: ctx.id,
    sourceTimestamp: seconds,
    sourcePosition: formatPosition(source.position),
    safeSourcePosition: formatPosition(source.transactionStart),
    sourceTxid: '0',
    source: sourceFor(ctx.sourceVersion),
    operation: event.operation,
    objectName: plan.objectName,
    processTimestamps: null,
    tags: {
      pk_uk_info: plan.pkUkInfo,
      ...(plan.textCharsets === null ? {} : { text_charsets: plan.textCharsets }),
      thread_id: String(source.threadId),
      server_id: String(source.serverId),
      readerThroughoutTime: millisText(ctx.readerTimestampMs),
    },
    fields: plan.fields,
    beforeImages: event.before === null ? null : mapImage(plan, event.table, event.before),
    afterImages: event.after === null ? null : mapImage(plan, event.table, event.after),
    bornTimestamp: seconds,
  };
}

function buildDdlRecord(event: DdlEvent, ctx: BuildContext): DtsRecord {
  const source = event.source;
  const seconds = commitSeconds(source);
  const position = formatPosition(source.position);
  const tags: { [key: string]: string } = {};
  if (source.gtid !== null) tags.GTID = source.gtid;
  tags.server_id = String(source.serverId);
  tags.thread_id = String(source.threadId);
  tags.readerThroughoutTime = millisText(ctx.readerTimestampMs);
  tags.commitTimestamp = String(source.commitTimestamp);
  return {
    version: 0,
    id: ctx.id,
    sourceTimestamp: seconds,
    sourcePosition: position,
    // A DDL is its own transaction: restarting at its end loses nothing of it.
    safeSourcePosition: position,
    sourceTxid: '0',
    source: sourceFor(ctx.sourceVersion),
    operation: 'DDL',
    objectName: escapeName(event.database),
    processTimestamps: null,
    tags,
    fields: null,
    beforeImages: null,
    afterImages: event.sql,
    bornTimestamp: seconds,
  };
}

/** The table's plan (built once per TableSchema object); throws for a table it cannot map. */
export function planFor(table: TableSchema): TablePlan {
  let plan = plans.get(table);
  if (plan === undefined) {
    plan = {
      objectName: `${escapeName(table.database)}.${escapeName(table.table)}`,
      // Frozen because every row of the table shares it, and the encoder keeps its bytes.
      fields: Object.freeze(
        table.columns.map((c) => Object.freeze({ name: c.name, dataTypeNumber: DATA_TYPE_NUMBER[c.type] })),
      ),
      mappers: table.columns.map((c) => mapperFor(table, c)),
      pkUkInfo: pkUkInfo(table),
      textCharsets: textCharsets(table),
    };
    plans.set(table, plan);
  }
  return plan;
}

function mapperFor(table: TableSchema, column: ColumnSchema): ValueMapper {
  try {
    return columnMapper(column);
  } catch (e) {
    if (!(e instanceof SyncError)) throw e;
    throw new SyncError(e.code, `${table.database}.${table.table}: ${e.message}`, { cause: e });
  }
}

function mapImage(plan: TablePlan, table: TableSchema, values: readonly ColumnValue[]): DtsImageValue[] {
  const mappers = plan.mappers;
  if (values.length !== mappers.length) {
    throw new SyncError(
      'ENCODE_FAILED',
      `${table.database}.${table.table}: a row image has ${values.length} values for ${mappers.length} columns`,
    );
  }
  const image = new Array<DtsImageValue>(values.length);
  try {
    for (let i = 0; i < values.length; i++) image[i] = mappers[i](values[i]);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new SyncError('ENCODE_FAILED', `${table.database}.${table.table}: ${message}`, { cause: e });
  }
  return image;
}

/**
 * `{"PRIMARY":["id"],"uk_name":["a","b"]}`: primary key first, then the unique keys in
 * schema order. Built by hand because a JS object would move an index named like an
 * integer (`"2"`) to the front.
 */
function pkUkInfo(table: TableSchema): string {
  const keys = table.primaryKey ? [table.primaryKey, ...table.uniqueKeys] : table.uniqueKeys;
  return `{${keys.map((k) => `${JSON.stringify(k.name)}:${JSON.stringify(k.columns)}`).join(',')}}`;
}

const TEXT_TYPES = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);
const UTF8_READABLE = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii']);

function textCharsets(table: TableSchema): string | null {
  const odd = table.columns.filter((c) => TEXT_TYPES.has(c.type) && c.charset !== null && !UTF8_READABLE.has(c.charset));
  return odd.length === 0 ? null : `{${odd.map((c) => `${JSON.stringify(c.name)}:${JSON.stringify(c.charset === 'utf8mb3' ? 'utf8' : c.charset)}`).join(',')}}`;
}

/** A `.` inside a database or table name would split objectName in the wrong place. */
export function escapeName(name: string): string {
  return name.replaceAll('.', '\\u002E');
}

function commitSeconds(source: SourceInfo): bigint {
  const t = source.commitTimestamp;
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new SyncError('ENCODE_FAILED', `commitTimestamp must be whole UNIX seconds, got ${t}`);
  }
  return BigInt(t);
}

// Every row of a binlog file repeats its name; parse the number once per file.
let lastFile = '';
let lastFileNumber = 0;

/** `72469@78` for position 72469 of `mysql-bin.000078`. */
export function formatPosition(p: BinlogPosition): string {
  if (p.file !== lastFile) {
    try {
      lastFileNumber = binlogFileNumber(p.file);
    } catch (e) {
      throw new SyncError('ENCODE_FAILED', `cannot write the position of ${p.file}:${p.position}`, { cause: e });
    }
    lastFile = p.file;
  }
  return `${p.position}@${lastFileNumber}`;
}

// The rows of one binlog event share the reader's millisecond, and printing a 13-digit
// number is one of the dearer steps of a row.
let lastMillis = Number.NaN;
let lastMillisText = '';

export function millisText(ms: number): string {
  if (ms !== lastMillis) {
    lastMillisText = String(ms);
    lastMillis = ms;
  }
  return lastMillisText;
}

// One source object per server version: it is the same for every record of a source.
let lastSource: DtsRecord['source'] = Object.freeze({ sourceType: 'MySQL', version: '' });

function sourceFor(version: string): DtsRecord['source'] {
  if (lastSource.version !== version) lastSource = Object.freeze({ sourceType: 'MySQL', version });
  return lastSource;
}
