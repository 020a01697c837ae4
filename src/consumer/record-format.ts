/**
 * How `npm run consume` prints a record: readable text for a person, or one JSON object per
 * line for pipes. Values are as MySQL prints them (the decoder's rendering); pure.
 */
import { formatTimestamp } from '../dts/decoder.ts';
import type { DecodedColumn } from '../dts/decoder.ts';
import type { ConsumedRecord } from './consumer.ts';

export interface TextFormatOptions {
  /** longer values are cut to this many characters; 0 never cuts */
  readonly maxValueChars: number;
}

/**
 * ```
 * UPDATE demo.orders  dts_demo[0]@17  key ["4"]
 *   id 1000042  position 2117523@2  safe 2117000@2  source 2024-05-01 10:00:00 UTC (1714557600)  born 1714557600
 *   id        MYSQL_TYPE_LONG        4
 *   amount    MYSQL_TYPE_NEWDECIMAL  12.50 → 13.50
 * ```
 * UPDATE shows `before → after` where a value changed; DELETE shows the before image; DDL
 * its SQL. Control characters in values are escaped as the mysql client's batch mode does
 * (\n, \t, \r, \0, \\); NULL is NULL.
 */
export function formatText(r: ConsumedRecord, o: TextFormatOptions): string {
  const d = r.record;
  const key = r.key === null ? '' : `  key ${r.key.toString('utf8')}`;
  const lines = [
    `${d.operation} ${d.objectName ?? '-'}  ${r.topic}[${r.partition}]@${r.offset}${key}`,
    `  id ${d.id}  position ${d.sourcePosition}  safe ${d.safeSourcePosition}  source ${formatTimestamp(d.sourceTimestamp, 0)} UTC (${d.sourceTimestamp})  born ${d.bornTimestamp}`,
  ];
  if (d.ddl !== null) lines.push(`  ${escapeText(d.ddl)}`);
  const nameWidth = Math.max(0, ...d.columns.map((c) => c.name.length));
  const typeWidth = Math.max(0, ...d.columns.map((c) => c.mysqlType.length));
  for (const c of d.columns) {
    lines.push(`  ${c.name.padEnd(nameWidth)}  ${c.mysqlType.padEnd(typeWidth)}  ${columnText(d.operation, c, o.maxValueChars)}`);
  }
  return `${lines.join('\n')}\n`;
}

function columnText(operation: string, c: DecodedColumn, max: number): string {
  const before = shown(c.before, max);
  const after = shown(c.after, max);
  if (operation === 'DELETE') return before;
  if (operation === 'UPDATE' && (c.before !== c.after || !sameBytes(c.beforeBytes, c.afterBytes))) return `${before} → ${after}`;
  return after;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function shown(value: string | null, max: number): string {
  if (value === null) return 'NULL';
  const chars = [...value];
  const text = max > 0 && chars.length > max ? `${chars.slice(0, max).join('')}… (${chars.length} characters)` : value;
  return escapeText(text);
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\0': '\\0', '\\': '\\\\' };

function escapeText(s: string): string {
  return s.replace(/[\n\t\r\0\\]/g, (ch) => ESCAPES[ch]!);
}

/** One column in the JSON output. */
export interface JsonColumn {
  readonly name: string;
  /** `MYSQL_TYPE_*` */
  readonly type: string;
  readonly dataTypeNumber: number;
  /** as MySQL prints it; null for SQL NULL or no image */
  readonly before: string | null;
  readonly after: string | null;
  /** the stored bytes in hex, for character values (their text depends on the charset; BinaryObject TEXT carries none) */
  readonly beforeHex?: string;
  readonly afterHex?: string;
}

/** The JSON output's object: Avro longs that can exceed 2^53 (id, offset) are strings. */
export interface JsonRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /** message timestamp, ms */
  readonly timestamp: number;
  readonly operation: string;
  readonly objectName: string | null;
  readonly database: string | null;
  readonly table: string | null;
  readonly id: string;
  readonly sourceTimestamp: number;
  readonly bornTimestamp: number;
  readonly sourcePosition: string;
  readonly safeSourcePosition: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly ddl: string | null;
  readonly columns: readonly JsonColumn[];
}

export function toJsonRecord(r: ConsumedRecord): JsonRecord {
  const d = r.record;
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key === null ? null : r.key.toString('utf8'),
    timestamp: Number(r.timestamp),
    operation: d.operation,
    objectName: d.objectName,
    database: d.database,
    table: d.table,
    id: d.id.toString(),
    sourceTimestamp: Number(d.sourceTimestamp),
    bornTimestamp: Number(d.bornTimestamp),
    sourcePosition: d.sourcePosition,
    safeSourcePosition: d.safeSourcePosition,
    tags: d.tags,
    ddl: d.ddl,
    columns: d.columns.map((c) => {
      const beforeHex = hexOfText(c.before, c.beforeBytes);
      const afterHex = hexOfText(c.after, c.afterBytes);
      return {
        name: c.name,
        type: c.mysqlType,
        dataTypeNumber: c.dataTypeNumber,
        before: c.before,
        after: c.after,
        ...(beforeHex === undefined ? {} : { beforeHex }),
        ...(afterHex === undefined ? {} : { afterHex }),
      };
    }),
  };
}

/** The hex of bytes rendered as text; undefined where the text already is that hex (binary values). */
function hexOfText(text: string | null, bytes: Buffer | null): string | undefined {
  if (bytes === null || text === null) return undefined;
  const hex = bytes.toString('hex').toUpperCase();
  return hex === text ? undefined : hex;
}

export function formatJson(r: ConsumedRecord): string {
  return `${JSON.stringify(toJsonRecord(r))}\n`;
}
