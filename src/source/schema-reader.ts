/**
 * Reads a table's schema from information_schema into a TableSchema: column types,
 * signedness, charsets, lengths, precision, fractional seconds, ENUM/SET labels, and the
 * primary and unique keys. MariaDB's JSON alias (a LONGTEXT with a json_valid check) is
 * reported as `json`; MySQL's JSON is a type of its own (and its CHECK_CONSTRAINTS has no
 * TABLE_NAME, so the MariaDB query would fail there).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SyncError } from '../errors.ts';
import type { ColumnSchema, ColumnType, IndexSchema, TableSchema } from '../model/table-schema.ts';
import { sourceServer } from './source-inspector.ts';

const KNOWN_TYPES = new Set<string>([
  'tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'bit', 'decimal', 'float', 'double',
  'date', 'time', 'datetime', 'timestamp', 'year', 'char', 'varchar', 'binary', 'varbinary',
  'tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob',
  'json', 'enum', 'set', 'geometry', 'point', 'linestring', 'polygon', 'multipoint',
  'multilinestring', 'multipolygon', 'geometrycollection', 'uuid', 'inet4', 'inet6',
]);

interface ColumnRow extends RowDataPacket {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  CHARACTER_SET_NAME: string | null;
  CHARACTER_MAXIMUM_LENGTH: string | number | null;
  NUMERIC_PRECISION: string | number | null;
  NUMERIC_SCALE: string | number | null;
  DATETIME_PRECISION: string | number | null;
  IS_JSON: number | string;
}

interface KeyRow extends RowDataPacket {
  INDEX_NAME: string;
  COLUMN_NAME: string;
}

const MARIADB_IS_JSON = `EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                     WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                       AND k.CHECK_CLAUSE = CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)'))`;

export async function readTableSchema(conn: Connection, database: string, table: string): Promise<TableSchema> {
  const isJson = (await sourceServer(conn)).flavor === 'MariaDB' ? MARIADB_IS_JSON : '0';
  // Aliased to the upper-case names: MySQL 8 returns information_schema columns in the case the query spells them.
  const [columns] = await conn.query<ColumnRow[]>(
    `SELECT c.COLUMN_NAME AS COLUMN_NAME, c.DATA_TYPE AS DATA_TYPE, c.COLUMN_TYPE AS COLUMN_TYPE, c.IS_NULLABLE AS IS_NULLABLE,
            c.CHARACTER_SET_NAME AS CHARACTER_SET_NAME, c.CHARACTER_MAXIMUM_LENGTH AS CHARACTER_MAXIMUM_LENGTH,
            c.NUMERIC_PRECISION AS NUMERIC_PRECISION, c.NUMERIC_SCALE AS NUMERIC_SCALE, c.DATETIME_PRECISION AS DATETIME_PRECISION,
            ${isJson} AS IS_JSON
       FROM information_schema.COLUMNS c
      WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
      ORDER BY c.ORDINAL_POSITION`,
    [database, table],
  );
  if (columns.length === 0) {
    throw new SyncError('SCHEMA_UNKNOWN_TABLE', `table ${database}.${table} does not exist on the source (or the user cannot see it)`);
  }
  const [keys] = await conn.query<KeyRow[]>(
    `SELECT INDEX_NAME AS INDEX_NAME, COLUMN_NAME AS COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
      ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    [database, table],
  );
  const indexes = new Map<string, string[]>();
  for (const k of keys) {
    const cols = indexes.get(k.INDEX_NAME) ?? [];
    cols.push(k.COLUMN_NAME);
    indexes.set(k.INDEX_NAME, cols);
  }
  const primary = indexes.get('PRIMARY');
  const uniqueKeys: IndexSchema[] = [...indexes].filter(([n]) => n !== 'PRIMARY').map(([name, cols]) => ({ name, columns: cols }));
  return {
    database,
    table,
    columns: columns.map((c) => toColumnSchema(database, table, c)),
    primaryKey: primary ? { name: 'PRIMARY', columns: primary } : null,
    uniqueKeys,
  };
}

function num(v: string | number | null): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function toColumnSchema(database: string, table: string, c: ColumnRow): ColumnSchema {
  // MySQL 8 spells GEOMETRYCOLLECTION `geomcollection` in information_schema.
  const dataType = c.DATA_TYPE.toLowerCase() === 'geomcollection' ? 'geometrycollection' : c.DATA_TYPE.toLowerCase();
  const type = (Number(c.IS_JSON) === 1 && dataType === 'longtext' ? 'json' : dataType) as ColumnType;
  if (!KNOWN_TYPES.has(type)) {
    throw new SyncError('UNSUPPORTED_COLUMN_TYPE',
      `column ${database}.${table}.${c.COLUMN_NAME} has type ${c.COLUMN_TYPE}, which the synchronizer does not support; remove the table from the config`);
  }
  const columnType = c.COLUMN_TYPE.toLowerCase();
  const isBinary = ['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob'].includes(type);
  let length: number | null = null;
  if (['char', 'varchar', 'binary', 'varbinary'].includes(type)) length = num(c.CHARACTER_MAXIMUM_LENGTH);
  if (type === 'bit') length = num(c.NUMERIC_PRECISION);
  let precision: number | null = null;
  let scale: number | null = null;
  if (type === 'decimal') {
    precision = num(c.NUMERIC_PRECISION);
    scale = num(c.NUMERIC_SCALE);
  } else if (type === 'float' || type === 'double') {
    // Only FLOAT(p,s)/DOUBLE(p,s) declare them; a plain FLOAT reports 0.
    const m = /^(?:float|double)\((\d+),(\d+)\)/.exec(columnType);
    precision = m ? Number(m[1]) : 0;
    scale = m ? Number(m[2]) : 0;
  }
  return {
    name: c.COLUMN_NAME,
    type,
    unsigned: /\bunsigned\b/.test(columnType),
    nullable: c.IS_NULLABLE === 'YES',
    charset: isBinary ? 'binary' : c.CHARACTER_SET_NAME,
    length,
    precision,
    scale,
    fsp: ['time', 'datetime', 'timestamp'].includes(type) ? num(c.DATETIME_PRECISION) ?? 0 : null,
    values: type === 'enum' || type === 'set' ? parseLabels(c.COLUMN_TYPE) : null,
  };
}

/** Labels of `enum('a','b''c')` / `set(...)`, in definition order, quotes undone. */
export function parseLabels(columnType: string): string[] {
  const body = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'));
  const labels: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) labels.push(m[1]!.replace(/''/g, "'").replace(/\\\\/g, '\\'));
  return labels;
}
