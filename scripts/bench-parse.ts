/**
 * The parser ceiling of the end-to-end benchmark (scripts/bench.ts): reads a binlog range
 * from one of the lab's sources (default its MariaDB) and drops the rows, in a process of
 * its own.
 *
 *   npx tsx scripts/bench-parse.ts --from FILE:POS --to FILE:POS --db DB [--reader zongji|exact|encode]
 *                                  [--source mariadb|mysql]
 *
 * - zongji: zongji 0.9.0 alone, with the options the synchronizer gives it (exact numbers
 *   as strings, date strings) and the same event and table filters; rows decoded by
 *   zongji's own row reader into objects, then dropped.
 * - exact: the synchronizer's BinlogReader (zongji with our exact row reader,
 *   zongji-exact-rows.ts, and the transaction tracking); events dropped.
 * - encode: exact, then what the synchronizer does with each row before the sink
 *   (sync-session.ts onRows: the schema in force, normalizeRow, encodeEvent, messageKey,
 *   partitionFor); the records dropped. The CPU ceiling of everything but Kafka.
 *
 * Timed from the start of the connection to the first event at or past --to. Prints one
 * JSON line: {rows, ms, cpuMs}.
 */
import { parseArgs } from 'node:util';
import ZongJi from '@vlasky/zongji';
import { type BinlogPosition, compareBinlogPositions } from '../src/model/binlog-position.ts';
import { encodeEvent } from '../src/dts/output-format.ts';
import type { RowChangeEvent, SourceInfo } from '../src/model/change-event.ts';
import type { TableSchema } from '../src/model/table-schema.ts';
import { messageKey } from '../src/route/message-key.ts';
import { partitionFor } from '../src/sink/partitioner.ts';
import { BinlogReader, type BinlogRowsEvent, ZONGJI_VALUE_OPTIONS } from '../src/source/binlog-reader.ts';
import { normalizeRow } from '../src/source/row-normalizer.ts';
import { readTableSchema } from '../src/source/schema-reader.ts';
import { connectSource, serverVersion } from '../src/source/source-inspector.ts';
import { resolveTableSchema, type TableMapInfo } from '../src/source/table-schema-resolver.ts';
import type { RawValue } from '../src/source/zongji-exact-rows.ts';
import { labSources, LAB_SYNC_USER } from '../test/integration/lab.ts';

const { values: args } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    db: { type: 'string' },
    reader: { type: 'string', default: 'zongji' },
    source: { type: 'string', default: 'mariadb' },
  },
});
const USAGE = 'usage: npx tsx scripts/bench-parse.ts --from FILE:POS --to FILE:POS --db DB [--reader zongji|exact|encode] [--source mariadb|mysql]';
const source = labSources().find((s) => s.kind === args.source);
if (!source) {
  console.error(USAGE);
  process.exit(2);
}
function position(text: string | undefined): BinlogPosition {
  const m = /^(.+\.\d+):(\d+)$/.exec(text ?? '');
  if (!m) {
    console.error(USAGE);
    process.exit(2);
  }
  return { file: m[1]!, position: Number(m[2]) };
}
const from = position(args.from);
const to = position(args.to);
const db = args.db!;
const connection = { host: '127.0.0.1', port: source.port, ...LAB_SYNC_USER };
const serverId = 70000 + Math.floor(Math.random() * 5000);

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let rows = 0;

function finish(): void {
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ rows, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }));
  process.exit(0);
}

if (args.reader === 'exact' || args.reader === 'encode') {
  const encode = args.reader === 'encode' ? await encoder() : null;
  const reader = new BinlogReader({
    connection,
    serverId,
    startAt: from,
    include: { [db]: ['orders'] },
    onEvent: (e) => {
      if (e.kind === 'rows') {
        rows += e.rows.length;
        encode?.(e);
      } else if (e.kind === 'commit' && compareBinlogPositions(e.position, to) >= 0) finish();
    },
    onError: (e) => { console.error(e.message); process.exit(1); },
  });
  await reader.start();
} else {
  const zongji = new ZongJi({
    ...connection,
    ...ZONGJI_VALUE_OPTIONS,
  } as ConstructorParameters<typeof ZongJi>[0]);
  let file = from.file;
  zongji.on('binlog', (evt: { getEventName(): string; rows?: unknown[]; nextPosition: number; binlogName?: string }) => {
    const name = evt.getEventName();
    if (name === 'rotate') {
      if (evt.binlogName) file = evt.binlogName;
      return;
    }
    if (evt.rows) rows += evt.rows.length;
    if ((name === 'xid' || name === 'query') && compareBinlogPositions({ file, position: evt.nextPosition }, to) >= 0) finish();
  });
  zongji.on('error', (err: Error) => {
    // zongji reports the first event of a kind it cannot decode (a partial JSON update, a
    // compressed transaction) and goes on: in the shared lab another session's, not the
    // bench's INSERTs. The ceiling reads on; the synchronizer would stop there.
    if (err.message.startsWith('Server sent a ')) {
      console.error(`zongji: ${err.message} (read on)`);
      return;
    }
    console.error(err.message);
    process.exit(1);
  });
  zongji.start({
    serverId,
    filename: from.file,
    position: from.position,
    includeEvents: ['rotate', 'mariadbgtid', 'gtid', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query'],
    includeSchema: { [db]: ['orders'] },
  } as never);
}

/** What SyncSession.onRows does with a rows event before the sink, the records dropped. */
async function encoder(): Promise<(e: BinlogRowsEvent) => void> {
  const conn = await connectSource(connection);
  let current: TableSchema | null = null;
  const sourceVersion = await serverVersion(conn);
  try {
    current = await readTableSchema(conn, db, 'orders');
  } catch { /* the table is gone: the binlog's TableMap alone */ }
  await conn.end();
  const resolved = new WeakMap<TableMapInfo, TableSchema>();
  let id = 1n;
  return (e) => {
    let schema = resolved.get(e.tableMap);
    if (!schema) resolved.set(e.tableMap, (schema = resolveTableSchema(e.tableMap, current)));
    const source: SourceInfo = {
      position: e.position, transactionStart: e.transaction.start, commitTimestamp: e.transaction.commitTimestamp,
      serverId: e.transaction.serverId, threadId: 0, gtid: e.transaction.gtid,
    };
    const readerTimestampMs = Date.now();
    for (const r of e.rows) {
      const pair = e.operation === 'UPDATE' ? (r as { before: RawValue[]; after: RawValue[] }) : null;
      const image = r as RawValue[];
      const change: RowChangeEvent = {
        kind: 'row', operation: e.operation, table: schema, source,
        before: e.operation === 'INSERT' ? null : normalizeRow(schema, pair ? pair.before : image),
        after: e.operation === 'DELETE' ? null : normalizeRow(schema, pair ? pair.after : image),
      };
      encodeEvent(change, { id: id++, sourceVersion, readerTimestampMs });
      partitionFor('single', 1, { database: e.database, table: e.table, key: messageKey(change) });
    }
  };
}
