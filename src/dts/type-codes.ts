import type { ColumnType } from '../model/table-schema.ts';

/**
 * dataTypeNumber → MySQL's `MYSQL_TYPE_*` name: the 31 codes the DTS consumers know.
 * A producer writes only the codes of DATA_TYPE_NUMBER below; the others must still decode.
 */
export const MYSQL_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'MYSQL_TYPE_DECIMAL'],
  [1, 'MYSQL_TYPE_TINY'],
  [2, 'MYSQL_TYPE_SHORT'],
  [3, 'MYSQL_TYPE_LONG'],
  [4, 'MYSQL_TYPE_FLOAT'],
  [5, 'MYSQL_TYPE_DOUBLE'],
  [6, 'MYSQL_TYPE_NULL'],
  [7, 'MYSQL_TYPE_TIMESTAMP'],
  [8, 'MYSQL_TYPE_LONGLONG'],
  [9, 'MYSQL_TYPE_INT24'],
  [10, 'MYSQL_TYPE_DATE'],
  [11, 'MYSQL_TYPE_TIME'],
  [12, 'MYSQL_TYPE_DATETIME'],
  [13, 'MYSQL_TYPE_YEAR'],
  [14, 'MYSQL_TYPE_NEWDATE'],
  [15, 'MYSQL_TYPE_VARCHAR'],
  [16, 'MYSQL_TYPE_BIT'],
  [17, 'MYSQL_TYPE_TIMESTAMP2'],
  [18, 'MYSQL_TYPE_DATETIME2'],
  [19, 'MYSQL_TYPE_TIME2'],
  [245, 'MYSQL_TYPE_JSON'],
  [246, 'MYSQL_TYPE_NEWDECIMAL'],
  [247, 'MYSQL_TYPE_ENUM'],
  [248, 'MYSQL_TYPE_SET'],
  [249, 'MYSQL_TYPE_TINY_BLOB'],
  [250, 'MYSQL_TYPE_MEDIUM_BLOB'],
  [251, 'MYSQL_TYPE_LONG_BLOB'],
  [252, 'MYSQL_TYPE_BLOB'],
  [253, 'MYSQL_TYPE_VAR_STRING'],
  [254, 'MYSQL_TYPE_STRING'],
  [255, 'MYSQL_TYPE_GEOMETRY'],
]);

/** The dataTypeNumber written for each column type (docs/format.md, "Column values"). */
export const DATA_TYPE_NUMBER: Readonly<Record<ColumnType, number>> = {
  tinyint: 1,
  smallint: 2,
  mediumint: 9,
  int: 3,
  bigint: 8,
  bit: 16,
  decimal: 246,
  float: 4,
  double: 5,
  timestamp: 7,
  date: 10,
  time: 11,
  datetime: 12,
  year: 13,
  char: 254,
  binary: 254,
  varchar: 253,
  varbinary: 253,
  tinytext: 249,
  tinyblob: 249,
  text: 252,
  blob: 252,
  mediumtext: 250,
  mediumblob: 250,
  longtext: 251,
  longblob: 251,
  json: 245,
  enum: 247,
  set: 248,
  geometry: 255,
  point: 255,
  linestring: 255,
  polygon: 255,
  multipoint: 255,
  multilinestring: 255,
  multipolygon: 255,
  geometrycollection: 255,
  uuid: 254,
  inet4: 254,
  inet6: 254,
};

/** `MYSQL_TYPE_TINY` for 1; `UNKNOWN(n)` for a code outside the table. */
export function mysqlTypeName(dataTypeNumber: number): string {
  return MYSQL_TYPE_NAMES.get(dataTypeNumber) ?? `UNKNOWN(${dataTypeNumber})`;
}
