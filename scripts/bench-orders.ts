/**
 * The table every part of the end-to-end benchmark uses (scripts/bench.ts): the 10-column
 * `orders` table of the codec benchmark (scripts/bench-encode.ts), its rows as SQL makes
 * them (from a row generator in the query itself, so that filling it costs no client work;
 * the same SQL on MySQL and MariaDB), and the same rows built in JS, for the producer
 * ceiling's pre-encoded records of the same size.
 */
import type mysql from 'mysql2/promise';
import type { ColumnValue } from '../src/model/column-value.ts';
import type { TableSchema } from '../src/model/table-schema.ts';
import { column } from '../test/fixtures/column.ts';

export const ORDERS_COLUMNS = `id BIGINT NOT NULL PRIMARY KEY, customer_id INT, amount_cents BIGINT, customer_name VARCHAR(64),
    total DECIMAL(12,2), created_at DATETIME(3), score DOUBLE, status TINYINT, note TEXT,
    request_id VARCHAR(36) CHARACTER SET ascii, UNIQUE KEY uk_request (request_id)`;

export async function createOrdersTable(admin: mysql.Connection, db: string, table = 'orders'): Promise<void> {
  await admin.query(`CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4`);
  await admin.query(`CREATE TABLE \`${db}\`.\`${table}\` (${ORDERS_COLUMNS})`);
}

/** The SELECT list of row `seq` (a column of that name in scope). */
export const ORDERS_SELECT = `seq, seq % 100000, seq * 37 % 10000000, CONCAT('customer ', seq % 5000, ' ñ'),
      (seq % 1000000) / 100, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL seq % 1000 * 1000 MICROSECOND,
      seq / 7, seq % 5, IF(seq % 3 = 0, NULL, REPEAT('note ', 1 + seq % 8)), LPAD(HEX(seq), 36, '0')`;

const DIGITS = `(SELECT 0 AS d${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => ` UNION ALL SELECT ${d}`).join('')})`;

/**
 * The integers from..to as a derived table with one column `seq`: a cross join of as many
 * 0-9 digit tables as the count has digits. Plain SQL that MySQL and MariaDB both run
 * (MariaDB's SEQUENCE engine, seq_1_to_N, is MariaDB's own; a recursive CTE hits MySQL's
 * cte_max_recursion_depth of 1,000 and MariaDB's max_recursive_iterations under other names).
 */
export function sequenceSql(from: number, to: number): string {
  let digits = 1;
  while (10 ** digits < to - from + 1) digits++;
  const t = [...Array(digits).keys()];
  return `(SELECT ${from} + ${t.map((i) => (i === 0 ? 'd0.d' : `${10 ** i} * d${i}.d`)).join(' + ')} AS seq ` +
    `FROM ${t.map((i) => `${DIGITS} d${i}`).join(' CROSS JOIN ')}) s WHERE seq <= ${to}`;
}

/** One multi-row INSERT (autocommitted: one transaction) of rows from..to, in id order. */
export function insertOrdersSql(db: string, from: number, to: number, table = 'orders'): string {
  return `INSERT INTO \`${db}\`.\`${table}\` SELECT ${ORDERS_SELECT} FROM ${sequenceSql(from, to)} ORDER BY seq`;
}

/** The table as the synchronizer sees it (the binlog's TableMap + information_schema). */
export function ordersSchema(db: string): TableSchema {
  return {
    database: db,
    table: 'orders',
    columns: [
      column('id', 'bigint', { nullable: false }),
      column('customer_id', 'int'),
      column('amount_cents', 'bigint'),
      column('customer_name', 'varchar', { charset: 'utf8mb4', length: 64 }),
      column('total', 'decimal', { precision: 12, scale: 2 }),
      column('created_at', 'datetime', { fsp: 3 }),
      column('score', 'double'),
      column('status', 'tinyint'),
      column('note', 'text', { charset: 'utf8mb4' }),
      column('request_id', 'varchar', { charset: 'ascii', length: 36 }),
    ],
    primaryKey: { name: 'PRIMARY', columns: ['id'] },
    uniqueKeys: [{ name: 'uk_request', columns: ['request_id'] }],
  };
}

/** Row `seq` as ORDERS_SELECT makes it, in the exact JS forms of model/column-value.ts. */
export function orderRow(seq: number): ColumnValue[] {
  const cents = seq % 1_000_000;
  const t = Date.UTC(2024, 0, 1) / 1000 + seq;
  const d = new Date(t * 1000);
  return [
    BigInt(seq),
    BigInt(seq % 100_000),
    BigInt((seq * 37) % 10_000_000),
    Buffer.from(`customer ${seq % 5000} ñ`, 'utf8'),
    `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    {
      kind: 'temporal', negative: false, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), micros: (seq % 1000) * 1000,
    },
    Number((seq / 7).toFixed(4)), // DECIMAL division (4 more digits) stored in a DOUBLE
    BigInt(seq % 5),
    seq % 3 === 0 ? null : Buffer.from('note '.repeat(1 + (seq % 8)), 'utf8'),
    Buffer.from(seq.toString(16).toUpperCase().padStart(36, '0'), 'latin1'),
  ];
}
