/**
 * The schema in force at each binlog position.
 *
 * With binlog_row_metadata=FULL every TableMap event describes the table as it was when
 * the rows that follow were written: column names, types, signedness, charsets, ENUM/SET
 * labels, the primary key. That is the schema history, read from the binlog itself, so
 * rows written before an ALTER TABLE are encoded with the columns they were written with,
 * also when they are replayed after a restart.
 *
 * What the binlog cannot say (MariaDB's JSON alias, UUID/INET4/INET6, which ride on
 * LONGTEXT and BINARY; unique keys; nullability; character lengths) comes from the table's
 * current information_schema entry, matched by column name and only where the binlog's
 * type agrees. A column dropped since then falls back to its binlog type.
 */
import type { ColumnSchema, ColumnType, IndexSchema, TableSchema } from '../model/table-schema.ts';

/** What zongji keeps of a TableMap event, plus the primary key and geometry types. */
export interface TableMapInfo {
  readonly database: string;
  readonly table: string;
  readonly columns: readonly {
    readonly name: string;
    readonly type: number;
    readonly charset: string | null;
    readonly metadata: Readonly<Record<string, number>> | null;
  }[];
  readonly columnSchemas: readonly {
    readonly CHARACTER_SET_NAME: string | null;
    readonly UNSIGNED?: boolean;
    readonly ENUM_VALUES?: readonly string[];
    readonly SET_VALUES?: readonly string[];
  }[];
  /** column indexes of the primary key (FULL metadata) */
  readonly primaryKey: readonly number[] | null;
  /** Field_geom::geometry_type per column (FULL metadata) */
  readonly geometryTypes: readonly number[] | null;
}

const GEOMETRY_TYPES: ColumnType[] = ['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection'];
const BLOB_TYPES: Record<number, [ColumnType, ColumnType]> = {
  1: ['tinyblob', 'tinytext'], 2: ['blob', 'text'], 3: ['mediumblob', 'mediumtext'], 4: ['longblob', 'longtext'],
};

/** The ColumnType a binlog column has, as far as the binlog can tell. */
export function binlogColumnType(code: number, binary: boolean, meta: Readonly<Record<string, number>>, geometryType: number | undefined): ColumnType {
  switch (code) {
    case 1: return 'tinyint';
    case 2: return 'smallint';
    case 9: return 'mediumint';
    case 3: return 'int';
    case 8: return 'bigint';
    case 4: return 'float';
    case 5: return 'double';
    case 0: case 246: return 'decimal';
    case 13: return 'year';
    case 10: case 14: return 'date';
    case 11: case 19: return 'time';
    case 12: case 18: return 'datetime';
    case 7: case 17: return 'timestamp';
    case 16: return 'bit';
    case 247: return 'enum';
    case 248: return 'set';
    case 245: return 'json';
    case 255: return GEOMETRY_TYPES[geometryType ?? 0] ?? 'geometry';
    case 254: return binary ? 'binary' : 'char';
    case 15: case 253: case 140: return binary ? 'varbinary' : 'varchar';
    case 249: case 250: case 251: case 252: case 141: {
      const pair = BLOB_TYPES[meta.length_size ?? 2] ?? BLOB_TYPES[2]!;
      return binary ? pair[0] : pair[1];
    }
    default:
      throw new Error(`binlog column type ${code} is not supported`);
  }
}

/** Types the information_schema may name for a column the binlog reports as `t`. */
function compatible(binlog: ColumnType, current: ColumnType): boolean {
  if (binlog === current) return true;
  switch (binlog) {
    case 'binary': return current === 'uuid' || current === 'inet6' || current === 'inet4';
    case 'char': case 'varchar': return current === 'char' || current === 'varchar';
    case 'longtext': return current === 'json';
    default: return false;
  }
}

/**
 * The TableSchema of one TableMap. `current` is the table's information_schema entry
 * (null when the table is gone); its columns win where name and type agree.
 */
export function resolveTableSchema(map: TableMapInfo, current: TableSchema | null): TableSchema {
  const currentByName = new Map((current?.columns ?? []).map((c) => [c.name, c]));
  const columns: ColumnSchema[] = map.columns.map((col, i) => {
    const meta = col.metadata ?? {};
    const cs = map.columnSchemas[i];
    const charsetName = cs?.CHARACTER_SET_NAME ?? col.charset;
    // zongji reports no charset for binary columns (and for a few collations it does not know).
    const binary = charsetName === null || charsetName === 'binary';
    const type = binlogColumnType(col.type, binary, meta, map.geometryTypes?.[i]);
    const known = currentByName.get(col.name);
    if (known && (compatible(type, known.type) || (binary && compatible(binlogColumnType(col.type, false, meta, undefined), known.type)))) {
      return known;
    }
    return fromBinlog(col.name, type, binary ? 'binary' : charsetName, meta, cs);
  });
  const names = new Set(columns.map((c) => c.name));
  const keep = (ix: IndexSchema) => ix.columns.every((c) => names.has(c));
  let primaryKey: IndexSchema | null = null;
  if (map.primaryKey && map.primaryKey.length > 0) {
    primaryKey = { name: 'PRIMARY', columns: map.primaryKey.map((i) => columns[i]!.name) };
  } else if (current?.primaryKey && keep(current.primaryKey) && !map.primaryKey) {
    primaryKey = current.primaryKey;
  }
  return {
    database: map.database,
    table: map.table,
    columns,
    primaryKey,
    uniqueKeys: (current?.uniqueKeys ?? []).filter(keep),
  };
}

function fromBinlog(name: string, type: ColumnType, charset: string | null, meta: Readonly<Record<string, number>>,
  cs: TableMapInfo['columnSchemas'][number] | undefined): ColumnSchema {
  const isString = ['char', 'varchar', 'binary', 'varbinary'].includes(type);
  return {
    name,
    type,
    unsigned: cs?.UNSIGNED === true,
    nullable: true,
    charset: ['tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'bit', 'decimal', 'float', 'double', 'date', 'time', 'datetime', 'timestamp', 'year'].includes(type) ? null : charset,
    // The binlog knows byte widths only: exact for binary strings, an upper bound otherwise.
    length: type === 'bit' ? meta.bits ?? null : isString ? meta.max_length ?? null : null,
    precision: type === 'decimal' ? meta.precision ?? null : type === 'float' || type === 'double' ? 0 : null,
    scale: type === 'decimal' ? meta.decimals ?? null : type === 'float' || type === 'double' ? 0 : null,
    fsp: type === 'time' || type === 'datetime' || type === 'timestamp' ? meta.decimals ?? 0 : null,
    values: type === 'enum' ? [...(cs?.ENUM_VALUES ?? [])] : type === 'set' ? [...(cs?.SET_VALUES ?? [])] : null,
  };
}
