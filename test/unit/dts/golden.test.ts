import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ChangeEvent, SourceInfo } from '../../../src/model/change-event.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../../src/model/table-schema.ts';
import { decodeRecord } from '../../../src/dts/decoder.ts';
import { renderRecord } from '../../../src/dts/record-render.ts';
import { encodeEvent } from '../../../src/dts/encoder.ts';
import { column } from '../../fixtures/column.ts';

/*
 * Pinned encodings: any change to the bytes we write shows here. After a deliberate
 * change, rewrite the files with
 *   UPDATE_GOLDEN=1 node --import tsx --test test/unit/dts/golden.test.ts
 * and review the diff. Without UPDATE_GOLDEN a missing file fails the test.
 */

const GOLDEN_DIR = new URL('../../fixtures/golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const col = column;

const table: TableSchema = {
  database: 'shop',
  table: 'orders',
  columns: [
    col('id', 'bigint', { unsigned: true, nullable: false }),
    col('customer', 'varchar', { charset: 'utf8mb4', length: 64 }),
    col('total', 'decimal', { precision: 12, scale: 2 }),
    col('created_at', 'datetime', { fsp: 3 }),
    col('updated_at', 'timestamp', { fsp: 6 }),
    col('ratio', 'float'),
    col('status', 'enum', { values: ['new', 'paid'] }),
    col('note', 'text', { charset: 'utf8mb4' }),
    col('flags', 'bit', { length: 8 }),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [{ name: 'uk_customer', columns: ['customer', 'created_at'] }],
};

const source: SourceInfo = {
  position: { file: 'mysql-bin.000078', position: 72469 },
  transactionStart: { file: 'mysql-bin.000078', position: 72100 },
  commitTimestamp: 1_700_000_000,
  serverId: 1,
  threadId: 42,
  gtid: '0-1-73',
};

const before = [
  1001n, Buffer.from('Zoë', 'utf8'), '348.00',
  { kind: 'temporal', negative: false, year: 2023, month: 11, day: 14, hour: 22, minute: 13, second: 20, micros: 123000 },
  { kind: 'timestamp', epochSeconds: 1_700_000_000, micros: 5 },
  Math.fround(0.1), 'new', null, 5n,
] as const;
const after = [
  1001n, Buffer.from('Zoë', 'utf8'), '-0.05',
  { kind: 'temporal', negative: false, year: 2023, month: 11, day: 14, hour: 22, minute: 13, second: 20, micros: 123000 },
  { kind: 'timestamp', epochSeconds: 1_700_000_100, micros: 0 },
  Math.fround(0.1), 'paid', Buffer.from('gift 🎁', 'utf8'), 255n,
] as const;

const ctx = { sourceVersion: '10.11.19-MariaDB-log', readerTimestampMs: 1_700_000_000_500 };

const GOLDEN: { name: string; id: bigint; event: ChangeEvent }[] = [
  { name: 'insert', id: 1n, event: { kind: 'row', operation: 'INSERT', table, before: null, after: [...before], source } },
  { name: 'update', id: 2n, event: { kind: 'row', operation: 'UPDATE', table, before: [...before], after: [...after], source } },
  { name: 'delete', id: 3n, event: { kind: 'row', operation: 'DELETE', table, before: [...after], after: null, source } },
  { name: 'init', id: 4n, event: { kind: 'row', operation: 'INIT', table, before: null, after: [...after], source } },
  {
    name: 'ddl',
    id: 5n,
    event: { kind: 'ddl', database: 'shop', sql: 'ALTER TABLE orders ADD COLUMN flags BIT(8)', source },
  },
];

/** 32 bytes a line, so that a diff shows where the bytes moved. */
function toHexLines(bytes: Buffer): string {
  return `${bytes.toString('hex').replace(/(.{64})/g, '$1\n').trimEnd()}\n`;
}

describe('golden encodings', () => {
  for (const { name, id, event } of GOLDEN) {
    it(`${name} has its pinned bytes`, () => {
      const bytes = encodeEvent(event, { ...ctx, id });
      const file = new URL(`${name}.hex`, GOLDEN_DIR);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, toHexLines(bytes));
      }
      assert.ok(existsSync(file), `${file.pathname} is missing: run with UPDATE_GOLDEN=1 to write it`);
      const pinned = readFileSync(file, 'utf8').replace(/\s+/g, '');
      assert.equal(bytes.toString('hex'), pinned);

      const rendered = renderRecord(decodeRecord(Buffer.from(pinned, 'hex')));
      assert.equal(rendered.id, id);
      assert.equal(rendered.operation, event.kind === 'row' ? event.operation : 'DDL');
      assert.equal(rendered.sourcePosition, '72469@78');
    });
  }

  it('the UPDATE golden decodes to the values it was built from', () => {
    const pinned = readFileSync(new URL('update.hex', GOLDEN_DIR), 'utf8').replace(/\s+/g, '');
    const rendered = renderRecord(decodeRecord(Buffer.from(pinned, 'hex')));
    assert.deepEqual(
      rendered.columns.map((c) => [c.name, c.before, c.after]),
      [
        ['id', '1001', '1001'],
        ['customer', 'Zoë', 'Zoë'],
        ['total', '348.00', '-0.05'],
        ['created_at', '2023-11-14 22:13:20.123000', '2023-11-14 22:13:20.123000'],
        ['updated_at', '2023-11-14 22:13:20.000005', '2023-11-14 22:15:00'],
        ['ratio', '0.1', '0.1'],
        ['status', 'new', 'paid'],
        ['note', null, 'gift 🎁'],
        ['flags', '5', '255'],
      ],
    );
    assert.equal(rendered.safeSourcePosition, '72100@78');
    assert.equal(rendered.tags.pk_uk_info, '{"PRIMARY":["id"],"uk_customer":["customer","created_at"]}');
  });
});
