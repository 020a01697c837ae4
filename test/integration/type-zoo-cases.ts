/**
 * The type zoo's table and rows (type-zoo.test.ts): columns of every type both servers
 * have, then each server's own (MariaDB: UUID, INET6, INET4; MySQL: binary JSON, geometry
 * columns with an SRID), and rows at the extremes. A column a server lacks is left out of
 * its rows.
 */
import type { ColumnSchema } from '../../src/model/table-schema.ts';
import type { SourceKind } from './lab.ts';

const COMMON_COLUMNS: [string, string][] = [
  ['id', 'INT PRIMARY KEY'],
  ['c_tinyint', 'TINYINT'], ['c_tinyint_u', 'TINYINT UNSIGNED'],
  ['c_smallint', 'SMALLINT'], ['c_smallint_u', 'SMALLINT UNSIGNED'],
  ['c_mediumint', 'MEDIUMINT'], ['c_mediumint_u', 'MEDIUMINT UNSIGNED'],
  ['c_int', 'INT'], ['c_int_u', 'INT UNSIGNED'],
  ['c_bigint', 'BIGINT'], ['c_bigint_u', 'BIGINT UNSIGNED'],
  ['c_bit1', 'BIT(1)'], ['c_bit13', 'BIT(13)'], ['c_bit64', 'BIT(64)'],
  ['c_dec', 'DECIMAL(65,30)'], ['c_dec2', 'DECIMAL(12,2)'], ['c_dec0', 'DECIMAL(10,0)'],
  ['c_float', 'FLOAT'], ['c_float_ps', 'FLOAT(7,3)'], ['c_double', 'DOUBLE'],
  ['c_date', 'DATE'],
  ['c_time', 'TIME'], ['c_time1', 'TIME(1)'], ['c_time4', 'TIME(4)'], ['c_time6', 'TIME(6)'],
  ['c_dt', 'DATETIME'], ['c_dt2', 'DATETIME(2)'], ['c_dt3', 'DATETIME(3)'], ['c_dt5', 'DATETIME(5)'], ['c_dt6', 'DATETIME(6)'],
  ['c_ts', 'TIMESTAMP NULL'], ['c_ts3', 'TIMESTAMP(3) NULL'], ['c_ts6', 'TIMESTAMP(6) NULL'],
  ['c_year', 'YEAR'],
  ['c_char', 'CHAR(10) CHARACTER SET utf8mb4'], ['c_varchar', 'VARCHAR(64) CHARACTER SET utf8mb4'],
  ['c_latin1', 'VARCHAR(20) CHARACTER SET latin1'], ['c_gbk', 'VARCHAR(20) CHARACTER SET gbk'],
  ['c_utf8mb3', 'VARCHAR(20) CHARACTER SET utf8mb3'], ['c_char_latin1', 'CHAR(4) CHARACTER SET latin1'],
  ['c_binary', 'BINARY(8)'], ['c_varbinary', 'VARBINARY(16)'],
  ['c_tinytext', 'TINYTEXT'], ['c_text', 'TEXT'], ['c_mediumtext', 'MEDIUMTEXT'], ['c_longtext', 'LONGTEXT'],
  ['c_text_gbk', 'TEXT CHARACTER SET gbk'],
  ['c_tinyblob', 'TINYBLOB'], ['c_blob', 'BLOB'], ['c_mediumblob', 'MEDIUMBLOB'], ['c_longblob', 'LONGBLOB'],
  ['c_enum', "ENUM('a','b,c','d')"], ['c_set', "SET('x','y','z')"], ['c_json', 'JSON'],
  ['c_geometry', 'GEOMETRY'], ['c_point', 'POINT'], ['c_linestring', 'LINESTRING'], ['c_polygon', 'POLYGON'],
  ['c_multipoint', 'MULTIPOINT'], ['c_multilinestring', 'MULTILINESTRING'], ['c_multipolygon', 'MULTIPOLYGON'],
  ['c_geomcollection', 'GEOMETRYCOLLECTION'],
  // INVISIBLE (MariaDB 10.3+, MySQL 8.0.23+): absent from SELECT *, present in the binlog and the snapshot
  ['c_invisible', 'INT INVISIBLE'], ['c_inv_text', 'VARCHAR(20) CHARACTER SET utf8mb4 INVISIBLE'],
];

export const g = (wkt: string, srid = 0) => `ST_GeomFromText('${wkt}', ${srid})`;

// Each row: column -> SQL literal. Columns left out are NULL.
const COMMON_ROWS: Record<string, string>[] = [
  { // the maxima
    id: '1', c_invisible: '42', c_inv_text: "'hidden é'", c_tinyint: '127', c_tinyint_u: '255', c_smallint: '32767', c_smallint_u: '65535',
    c_mediumint: '8388607', c_mediumint_u: '16777215', c_int: '2147483647', c_int_u: '4294967295',
    c_bigint: '9223372036854775807', c_bigint_u: '18446744073709551615',
    c_bit1: "b'1'", c_bit13: "b'1111111111111'", c_bit64: "b'1111111111111111111111111111111111111111111111111111111111111111'",
    c_dec: '99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '9999999999.99', c_dec0: '9999999999',
    c_float: '3.40282e38', c_float_ps: '9999.999', c_double: '1.7976931348623157e308',
    c_date: "'9999-12-31'", c_time: "'838:59:59'", c_time1: "'838:59:59.9'", c_time4: "'838:59:59.9999'", c_time6: "'838:59:59.000000'",
    c_dt: "'9999-12-31 23:59:59'", c_dt2: "'9999-12-31 23:59:59.99'", c_dt3: "'9999-12-31 23:59:59.999'",
    c_dt5: "'9999-12-31 23:59:59.99999'", c_dt6: "'9999-12-31 23:59:59.999999'",
    c_ts: "'2038-01-19 03:14:07'", c_ts3: "'2038-01-19 03:14:07.999'", c_ts6: "'2038-01-19 03:14:07.999999'", c_year: '2155',
    c_char: "'a😀b'", c_varchar: "'héllo wörld 😀 中文'", c_latin1: "'café €'", c_gbk: "'中文字符'", c_utf8mb3: "'ünïcödé'",
    c_char_latin1: "'ÿ'", c_binary: "x'0102030405060708'", c_varbinary: "x'00ff00ff'",
    c_tinytext: "'tiny 😀'", c_text: "'text é'", c_mediumtext: "REPEAT('m', 70000)", c_longtext: "'long 中'", c_text_gbk: "'汉字'",
    c_tinyblob: "x'00'", c_blob: "x'deadbeef'", c_mediumblob: "x'ff00'", c_longblob: 'REPEAT(x\'ab\', 100000)',
    c_enum: "'d'", c_set: "'x,y,z'", c_json: `'{"a": [1, 2.5, "é", null, true], "big": 18446744073709551615}'`,
    c_geometry: g('POLYGON((0 0,10 0,10 10,0 10,0 0))', 4326), c_point: g('POINT(1.5 -2.25)'), c_linestring: g('LINESTRING(0 0,1 1,2 2)'),
    c_polygon: g('POLYGON((0 0,4 0,4 4,0 0),(1 1,2 1,2 2,1 1))'), c_multipoint: g('MULTIPOINT(1 1,2 2)'),
    c_multilinestring: g('MULTILINESTRING((0 0,1 1),(2 2,3 3))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'),
  },
  { // the minima
    id: '2', c_tinyint: '-128', c_tinyint_u: '0', c_smallint: '-32768', c_smallint_u: '0',
    c_mediumint: '-8388608', c_mediumint_u: '0', c_int: '-2147483648', c_int_u: '0',
    c_bigint: '-9223372036854775808', c_bigint_u: '0', c_bit1: "b'0'", c_bit13: "b'0'", c_bit64: "b'0'",
    c_dec: '-99999999999999999999999999999999999.999999999999999999999999999999', c_dec2: '-9999999999.99', c_dec0: '-9999999999',
    c_float: '-3.40282e38', c_float_ps: '-9999.999', c_double: '-1.7976931348623157e308',
    c_date: "'1000-01-01'", c_time: "'-838:59:59'", c_time1: "'-838:59:59.9'", c_time4: "'-00:00:00.0001'", c_time6: "'-00:00:01.500000'",
    c_dt: "'1000-01-01 00:00:00'", c_dt2: "'1000-01-01 00:00:00.01'", c_dt3: "'1000-01-01 00:00:00.001'",
    c_dt5: "'1000-01-01 00:00:00.00001'", c_dt6: "'1000-01-01 00:00:00.000001'",
    c_ts: "'1970-01-01 00:00:01'", c_ts3: "'1970-01-01 00:00:01.001'", c_ts6: "'1970-01-01 00:00:01.000001'", c_year: '1901',
    c_char: "''", c_varchar: "''", c_latin1: "''", c_gbk: "''", c_utf8mb3: "''", c_char_latin1: "''",
    c_binary: "x''", c_varbinary: "x''", c_tinytext: "''", c_text: "''", c_mediumtext: "''", c_longtext: "''", c_text_gbk: "''",
    c_tinyblob: "x''", c_blob: "x''", c_mediumblob: "x''", c_longblob: "x''",
    c_enum: "'a'", c_set: "''", c_json: "'[]'",
    c_geometry: g('POINT(0 0)'), c_point: g('POINT(-180 -90)'), c_linestring: g('LINESTRING(-1 -1,1 1)'),
    c_polygon: g('POLYGON((0 0,1 0,1 1,0 0))'), c_multipoint: g('MULTIPOINT(0 0)'),
    c_multilinestring: g('MULTILINESTRING((0 0,1 1))'), c_multipolygon: g('MULTIPOLYGON(((0 0,1 0,1 1,0 0)))'),
    c_geomcollection: g('GEOMETRYCOLLECTION(POINT(0 0))'),
  },
  { id: '3' }, // NULL in every column
  { // zero dates, the invalid ENUM value, YEAR 0000 and other oddities (non-strict sql_mode)
    id: '4', c_invisible: '-1', c_inv_text: "''", c_tinyint: '0', c_bigint_u: '9223372036854775808', c_bit64: "b'1000000000000000000000000000000000000000000000000000000000000000'",
    c_dec: '0.000000000000000000000000000001', c_dec2: '0.05', c_dec0: '0',
    c_float: '1.1', c_float_ps: '0.001', c_double: '4.9e-324',
    c_date: "'0000-00-00'", c_time: "'00:00:00'", c_time1: "'-00:00:00.1'", c_time4: "'100:00:00.5'", c_time6: "'-00:00:00.000001'",
    c_dt: "'0000-00-00 00:00:00'", c_dt3: "'0000-00-00 00:00:00.000'", c_dt6: "'2024-02-29 12:34:56.000100'",
    c_ts: "'0000-00-00 00:00:00'", c_ts6: "'2024-03-31 01:30:00.5'", c_year: '0',
    c_char: "'  x'", c_varchar: "'trailing  '", c_latin1: "x'80818d8f909dff'", c_char_latin1: "'ab '",
    c_binary: "x'01'", c_varbinary: "x'0000'", c_enum: "'nope'", c_set: "'z,x'",
    c_json: `'"just a string"'`, c_geometry: g('GEOMETRYCOLLECTION EMPTY'),
  },
];

const MARIADB_COLUMNS: [string, string][] = [['c_uuid', 'UUID'], ['c_inet6', 'INET6'], ['c_inet4', 'INET4']];

const MYSQL_COLUMNS: [string, string][] = [
  // MySQL's JSON is binary in storage and binlog (MariaDB's is LONGTEXT, as c_json there)
  ['c_jdoc', 'JSON'],
  // geographic (SRID 4326: axes lat-long in WKT, long-lat in storage) and Cartesian SRIDs
  ['c_pt4326', 'POINT SRID 4326'], ['c_geo4326', 'GEOMETRY SRID 4326'], ['c_pt0', 'POINT SRID 0'],
];

const EXTRA_VALUES: Record<SourceKind, Record<string, Record<string, string>>> = {
  mariadb: {
    1: { c_uuid: "'123e4567-e89b-12d3-a456-426655440000'", c_inet6: "'2001:db8::ff00:42:8329'", c_inet4: "'255.255.255.255'" },
    2: { c_uuid: "'00000000-0000-0000-0000-000000000000'", c_inet6: "'::'", c_inet4: "'0.0.0.0'" },
    4: { c_uuid: "'ffffffff-ffff-ffff-ffff-ffffffffffff'", c_inet6: "'::ffff:1.2.3.4'", c_inet4: "'10.0.0.1'" },
  },
  mysql: {
    1: {
      // opaque values (DATE, DECIMAL, binary, TIME, DATETIME), 64-bit extremes, 1e300, unicode, nesting
      c_jdoc: "JSON_OBJECT('d', CAST('2020-01-02' AS DATE), 'n', CAST(1.50 AS DECIMAL(5,2)), 'b', x'00ff', " +
        "'t', CAST('12:34:56.789' AS TIME(3)), 'dt', CAST('2020-01-02 03:04:05.5' AS DATETIME(1)), 'x', 1e300, " +
        "'u', 18446744073709551615, 'i', -9223372036854775808, 'j', 9007199254740993, 'uni', '中文 😀 é \\\"q\\\" tab\\t', " +
        "'nested', JSON_OBJECT('a', JSON_ARRAY(1, JSON_OBJECT('b', NULL), true, false, 1.0e0, -0.0e0, JSON_ARRAY())))",
      c_pt4326: g('POINT(45 -120)', 4326), c_geo4326: g('LINESTRING(0 0,10 20,-30.5 40.25)', 4326), c_pt0: g('POINT(1 2)', 0),
    },
    2: {
      // a large document (4-byte offsets) holding a large array
      c_jdoc: "JSON_OBJECT('big', REPEAT('x', 70000), 'arr', JSON_ARRAY(REPEAT('y', 66000), 65536, 4294967295, -2147483648, 1.25), 'k', 'v')",
      c_pt4326: g('POINT(-90 180)', 4326), c_geo4326: g('POINT(90 -180)', 4326), c_pt0: g('POINT(-1.5 0)', 0),
    },
    4: {
      c_jdoc: "CAST('[1e300, -0.0, 12345678901234567890, 1E+2, \"\", {}, null]' AS JSON)",
      c_geo4326: g('POLYGON((0 0,0 10,10 10,10 0,0 0))', 4326),
    },
  },
};

export function zooColumns(kind: SourceKind): [string, string][] {
  return [...COMMON_COLUMNS, ...(kind === 'mariadb' ? MARIADB_COLUMNS : MYSQL_COLUMNS)];
}

export function zooRows(kind: SourceKind): Record<string, string>[] {
  return COMMON_ROWS.map((row) => ({ ...row, ...EXTRA_VALUES[kind][row.id!] }));
}

/** INSERT of one zoo row (column name to SQL expression). */
export function insertSql(db: string, table: string, row: Record<string, string>): string {
  const names = Object.keys(row);
  return `INSERT INTO ${db}.${table} (${names.join(', ')}) VALUES (${names.map((n) => row[n]).join(', ')})`;
}

export const TEXT_TYPES = ['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'];
const GEOMETRY_TYPES = ['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection'];

/**
 * The SQL that makes the server print a column the way the decoder renders it. Text types
 * print as `HEX|text`, to compare the stored bytes and the text. GEOMETRY: the record holds
 * the stored WKB (docs/format.md: the stored value without the SRID), and MySQL stores
 * geographic coordinates long-lat; its ST_AsBinary prints them in the SRS's axis order
 * (lat-long for 4326) unless told otherwise. MariaDB has no axis orders.
 */
export function printExpr(col: ColumnSchema, kind: SourceKind): string {
  const c = `\`${col.name}\``;
  if (GEOMETRY_TYPES.includes(col.type)) {
    return kind === 'mysql' ? `HEX(ST_AsBinary(${c}, 'axis-order=long-lat'))` : `HEX(ST_AsBinary(${c}))`;
  }
  if (TEXT_TYPES.includes(col.type)) return `CONCAT(HEX(${c}), '|', CAST(${c} AS CHAR CHARACTER SET utf8mb4))`;
  switch (col.type) {
    case 'bit': return `CAST(${c} + 0 AS CHAR)`;
    case 'float': return `CAST(CAST(${c} AS DOUBLE) AS CHAR)`;
    case 'binary': case 'varbinary': case 'tinyblob': case 'blob': case 'mediumblob': case 'longblob': return `HEX(${c})`;
    default: return `CAST(${c} AS CHAR)`;
  }
}

/** What the server printed, in the decoder's conventions (six fraction digits or none). */
export function normalizeServerText(col: ColumnSchema, text: string | null): string | null {
  if (text === null || !['time', 'datetime', 'timestamp'].includes(col.type)) return text;
  const m = /^(.*)\.(\d+)$/.exec(text);
  if (!m) return text;
  return /^0+$/.test(m[2]!) ? m[1]! : `${m[1]}.${m[2]!.padEnd(6, '0')}`;
}
