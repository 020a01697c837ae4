import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  currentReadiness, observeQueue, recordBinlogBehind, recordBinlogEvent, recordCheckpoint, recordError, recordReconnect, recordRowsRead,
  recordSnapshotDone, recordSnapshotRows, recordSnapshotTable, registry, resetMetrics, setSourceConnected, setStallSeconds, setStopping, sinkObserver,
} from '../../../src/ops/metrics.ts';

async function scrape(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const msg = (topic: string, key: string | null, value: string) => ({ topic, key: key === null ? null : Buffer.from(key), value: Buffer.from(value) });

beforeEach(() => resetMetrics());

test('records and bytes produced count per topic, only once acknowledged', async () => {
  const batch = [msg('a', 'k1', 'xxxx'), msg('a', null, 'yy'), msg('b', 'k', 'z'), msg('a', 'k', '1')];
  sinkObserver.sending(batch);
  let m = await scrape();
  assert.equal(m.get('dts_records_produced_total{topic="a"}'), undefined);
  assert.equal(m.get('dts_kafka_sends_pending'), 1);
  sinkObserver.settled(batch, null);
  sinkObserver.sending([msg('b', 'kk', 'vvv')]);
  sinkObserver.settled([msg('b', 'kk', 'vvv')], new Error('gone'));
  m = await scrape();
  assert.equal(m.get('dts_records_produced_total{topic="a"}'), 3);
  assert.equal(m.get('dts_bytes_produced_total{topic="a"}'), 2 + 4 + 2 + 1 + 1);
  assert.equal(m.get('dts_records_produced_total{topic="b"}'), 1, 'a failed send counts nothing');
  assert.equal(m.get('dts_bytes_produced_total{topic="b"}'), 2);
  assert.equal(m.get('dts_kafka_sends_pending'), 0);
});

test('rows read per table and phase; errors by code; reconnects', async () => {
  recordRowsRead('db', 't', 'binlog', 3);
  recordRowsRead('db', 't', 'binlog', 2);
  recordRowsRead('db', 't', 'snapshot', 1000);
  recordRowsRead('my.db', 'u', 'binlog', 1);
  recordError('KAFKA_UNREACHABLE');
  recordError('KAFKA_UNREACHABLE');
  recordError('SOURCE_UNREACHABLE');
  recordReconnect();
  const m = await scrape();
  assert.equal(m.get('dts_rows_read_total{table="db.t",phase="binlog"}'), 5);
  assert.equal(m.get('dts_rows_read_total{table="db.t",phase="snapshot"}'), 1000);
  assert.equal(m.get('dts_rows_read_total{table="my.db.u",phase="binlog"}'), 1);
  assert.equal(m.get('dts_errors_total{code="KAFKA_UNREACHABLE"}'), 2);
  assert.equal(m.get('dts_errors_total{code="SOURCE_UNREACHABLE"}'), 1);
  assert.equal(m.get('dts_reconnects_total'), 1);
});

test('binlog lag: seconds since the last commit read, bytes from the last poll; unknown before', async () => {
  let m = await scrape();
  assert.ok(Number.isNaN(m.get('dts_binlog_lag_seconds')));
  assert.ok(Number.isNaN(m.get('dts_binlog_lag_bytes')));
  recordBinlogEvent(Math.floor(Date.now() / 1000) - 42);
  recordBinlogBehind(1234);
  m = await scrape();
  assert.ok(Math.abs(m.get('dts_binlog_lag_seconds')! - 42) < 2, String(m.get('dts_binlog_lag_seconds')));
  assert.equal(m.get('dts_binlog_lag_bytes'), 1234);
});

test('checkpoint position, snapshot progress and the queue', async () => {
  recordCheckpoint({ file: 'mysql-bin.000017', position: 4567 });
  recordSnapshotTable('db.t', 1000, 200);
  recordSnapshotRows('db.t', 600);
  recordSnapshotTable('db.u', 10, 0);
  recordSnapshotDone('db.u', 12);
  const stop = observeQueue(() => ({ batchesInFlight: 3, maxBatchesInFlight: 4, bytesInFlight: 9000, pendingRecords: 17, paused: true }));
  let m = await scrape();
  assert.equal(m.get('dts_checkpoint_binlog_file'), 17);
  assert.equal(m.get('dts_checkpoint_binlog_position'), 4567);
  assert.ok(Math.abs(m.get('dts_checkpoint_written_timestamp_seconds')! - Date.now() / 1000) < 5);
  assert.equal(m.get('dts_snapshot_rows{table="db.t"}'), 600);
  assert.equal(m.get('dts_snapshot_rows_estimated{table="db.t"}'), 1000);
  assert.equal(m.get('dts_snapshot_table_done{table="db.t"}'), 0);
  assert.equal(m.get('dts_snapshot_rows{table="db.u"}'), 12);
  assert.equal(m.get('dts_snapshot_rows_estimated{table="db.u"}'), 12);
  assert.equal(m.get('dts_snapshot_table_done{table="db.u"}'), 1);
  assert.equal(m.get('dts_queue_batches_in_flight'), 3);
  assert.equal(m.get('dts_queue_fill_ratio'), 0.75);
  assert.equal(m.get('dts_queue_bytes_in_flight'), 9000);
  assert.equal(m.get('dts_queue_pending_records'), 17);
  assert.equal(m.get('dts_binlog_paused'), 1);
  stop();
  m = await scrape();
  assert.equal(m.get('dts_queue_batches_in_flight'), 0);
});

test('readiness: connections, a stall past stallSeconds, a stop', async () => {
  assert.deepEqual(currentReadiness().reasons, ['not connected to the source', 'not connected to Kafka']);
  setSourceConnected(true);
  sinkObserver.connection(true);
  assert.equal(currentReadiness().ready, true);
  assert.equal((await scrape()).get('dts_ready'), 1);
  setStallSeconds(5);
  const now = Date.now();
  sinkObserver.sending([msg('a', null, 'x')]);
  assert.equal(currentReadiness(now + 4_000).ready, true);
  assert.equal(currentReadiness(now + 6_000).ready, false, 'pending with no acknowledgement for 6 s');
  sinkObserver.settled([msg('a', null, 'x')], null);
  assert.equal(currentReadiness(now + 60_000).ready, true, 'nothing pending: idle is not stalled');
  sinkObserver.connection(false);
  assert.deepEqual(currentReadiness().reasons, ['not connected to Kafka']);
  sinkObserver.connection(true);
  setStopping();
  assert.deepEqual(currentReadiness().reasons, ['stopping']);
  assert.equal((await scrape()).get('dts_ready'), 0);
});

test('every metric of ours has help text and the dts_ prefix', async () => {
  const metrics = await registry.getMetricsAsJSON();
  const ours = metrics.filter((m) => m.name.startsWith('dts_'));
  assert.ok(ours.length >= 25, String(ours.length));
  for (const m of ours) assert.ok(m.help.length > 20, m.name);
});
