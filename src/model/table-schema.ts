/**
 * The column types the synchronizer knows, by their SQL names as the server's
 * information_schema spells them (`COLUMN_TYPE` without arguments), plus the
 * MariaDB-only `uuid`, `inet4`, `inet6`. MariaDB's JSON alias is reported as `json`
 * by the schema reader (a LONGTEXT with a json_valid check).
 */
export type ColumnType =
  | 'tinyint' | 'smallint' | 'mediumint' | 'int' | 'bigint'
  | 'bit'
  | 'decimal'
  | 'float' | 'double'
  | 'date' | 'time' | 'datetime' | 'timestamp' | 'year'
  | 'char' | 'varchar' | 'binary' | 'varbinary'
  | 'tinytext' | 'text' | 'mediumtext' | 'longtext'
  | 'tinyblob' | 'blob' | 'mediumblob' | 'longblob'
  | 'json'
  | 'enum' | 'set'
  | 'geometry' | 'point' | 'linestring' | 'polygon'
  | 'multipoint' | 'multilinestring' | 'multipolygon' | 'geometrycollection'
  | 'uuid' | 'inet4' | 'inet6';

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  /** integer types only */
  readonly unsigned: boolean;
  readonly nullable: boolean;
  /**
   * MySQL charset name for character columns (`utf8mb4`, `latin1`, `gbk`, ...),
   * `binary` for binary strings and blobs, null where the type has none.
   */
  readonly charset: string | null;
  /** CHAR/BINARY/VARCHAR/VARBINARY: declared length in characters (bytes for binary); BIT: width in bits. */
  readonly length: number | null;
  /** DECIMAL(p,s), FLOAT(p,s), DOUBLE(p,s); null where not declared. */
  readonly precision: number | null;
  readonly scale: number | null;
  /** TIME, DATETIME, TIMESTAMP: fractional-second precision 0..6. */
  readonly fsp: number | null;
  /** ENUM and SET labels in definition order. */
  readonly values: readonly string[] | null;
}

export interface IndexSchema {
  /** `PRIMARY` for the primary key. */
  readonly name: string;
  readonly columns: readonly string[];
}

export interface TableSchema {
  readonly database: string;
  readonly table: string;
  /** in table order; row images are index-aligned with this list */
  readonly columns: readonly ColumnSchema[];
  /** null when the table has no primary key */
  readonly primaryKey: IndexSchema | null;
  /** unique keys other than the primary key */
  readonly uniqueKeys: readonly IndexSchema[];
}

/** The key the synchronizer routes and chunks by: the primary key, else the first unique key whose columns are all NOT NULL. */
export function rowKey(schema: TableSchema): IndexSchema | null {
  if (schema.primaryKey) return schema.primaryKey;
  for (const uk of schema.uniqueKeys) {
    const allNotNull = uk.columns.every((c) => schema.columns.find((col) => col.name === c)?.nullable === false);
    if (allNotNull) return uk;
  }
  return null;
}
