/**
 * The synchronizer: resolves where to start, then runs sync sessions until stopped,
 * starting a new session from the checkpoint after a retriable failure (backoff with
 * jitter) and giving up on a fatal one. Only acknowledged transactions are ever
 * checkpointed, so a restart repeats at most the unacknowledged tail (at-least-once).
 */
import fs from 'node:fs';
import { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import { emptyCheckpoint, lockCheckpoint, readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { SnapshotState } from '../checkpoint/checkpoint-store.ts';
import { kafkaAcks, redactConfig, topicFor, type SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BinlogPosition, formatBinlogPosition } from '../model/binlog-position.ts';
import { KafkaSink } from '../sink/kafka-sink.ts';
import { binlogEnd, connectSource, serverVersion } from '../source/source-inspector.ts';
import { assertPrecheck } from '../precheck/precheck.ts';
import { planSnapshot, runFullSync } from '../snapshot/full-sync.ts';
import { selectedTables } from './selected-tables.ts';
import { sourceConnection, SyncSession } from './sync-session.ts';

export interface RunSyncOptions {
  readonly config: SyncConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** start here instead of the checkpoint or the binlog's end (a transaction boundary) */
  readonly startPosition?: BinlogPosition;
}

export async function runSync(o: RunSyncOptions): Promise<void> {
  const { config, logger: log, signal } = o;
  log.info({ config: redactConfig(config) }, 'configuration');
  const release = lockCheckpoint(config.checkpoint.file);
  try {
    const initial = readCheckpoint(config.checkpoint.file) ?? emptyCheckpoint();
    const checkpoint = new CheckpointWriter({
      file: config.checkpoint.file,
      intervalMs: config.checkpoint.intervalMs,
      initial,
      onWrite: (position) => log.debug({ position }, 'checkpoint written'),
    });
    if (o.startPosition) checkpoint.reset({ ...o.startPosition, gtid: null });
    let attempt = 0;
    let prechecked = false;
    while (!signal.aborted) {
      const began = Date.now();
      try {
        // Before the first start only: a session restarted after a fault resumes what passed.
        if (!prechecked) {
          await assertPrecheck(config, log.child({ phase: 'precheck' }));
          prechecked = true;
        }
        await runOnce(config, log, signal, checkpoint, o.startPosition !== undefined);
        return;
      } catch (err) {
        const e = err instanceof SyncError ? err : new SyncError('SOURCE_UNREACHABLE', (err as Error)?.message ?? String(err), { cause: err });
        if (!e.retriable || signal.aborted) throw e;
        if (Date.now() - began > 60_000) attempt = 0;
        const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.8 + Math.random() * 0.4);
        log.warn({ code: e.code, err: e.message, retryInMs: Math.round(delay), position: checkpoint.position && formatBinlogPosition(checkpoint.position) },
          'sync interrupted; resuming from the checkpoint');
        await sleep(delay, signal);
      }
    }
  } finally {
    release();
  }
}

async function runOnce(config: SyncConfig, log: Logger, signal: AbortSignal, checkpoint: CheckpointWriter, explicitStart: boolean): Promise<void> {
  const source = await connectSource(sourceConnection(config));
  let snapshotConnection: Connection | null = null;
  const sink = new KafkaSink({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    acks: kafkaAcks(config),
    compression: config.kafka.compression,
    maxRecordBytes: config.kafka.maxRecordBytes,
    logger: log.child({ component: 'kafka' }),
    ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
    ...(config.kafka.tls.enabled ? { tls: readTls(config.kafka.tls) } : {}),
  });
  try {
    const version = await serverVersion(source);
    await sink.connect();
    if (config.mode !== 'incremental' && !explicitStart) {
      // A checkpoint with a binlog position and no snapshot in progress means an earlier
      // run is resumed: no new snapshot. Otherwise plan one, or continue the one under way.
      if (!checkpoint.position && !checkpoint.snapshot) {
        checkpoint.setSnapshot(await planSnapshot(source, await selectedTables(source, config)), true);
        log.info({ mode: config.mode, streamFrom: formatBinlogPosition(checkpoint.snapshot!.start) }, 'no checkpoint: starting the initial schema and full-data sync');
      }
      if (checkpoint.snapshot && !checkpoint.snapshot.done) {
        snapshotConnection = await connectSource(sourceConnection(config));
        const tables = await selectedTables(source, config);
        await runFullSync({
          config,
          logger: log.child({ phase: 'snapshot' }),
          connection: snapshotConnection,
          sourceVersion: version,
          serverId: await sourceServerId(source),
          sink,
          partitions: await sink.ensureTopics([...new Set(tables.map(([d, t]) => topicFor(config, d, t)))], topicOptions(config)),
          checkpoint,
          tables,
          signal,
        });
        if (signal.aborted) return;
      }
      if (config.mode === 'full') {
        log.info('mode full: the full-data sync is done, stopping (set mode: initial to follow the binlog as well)');
        return;
      }
    }
    if (!checkpoint.position) {
      const end = await binlogEnd(source);
      checkpoint.reset(end);
      log.info({ position: formatBinlogPosition(end) }, 'no checkpoint: starting at the current end of the binlog');
    }
    const session = new SyncSession({
      config, logger: log, source, sourceVersion: version, sink, checkpoint, start: { binlog: checkpoint.position },
      snapshotWatermarks: snapshotWatermarks(checkpoint.snapshot),
    });
    const progress = setInterval(() => {
      log.info({ records: session.records, checkpoint: checkpoint.position && formatBinlogPosition(checkpoint.position) }, 'progress');
    }, 10_000);
    try {
      await session.run(signal);
    } finally {
      clearInterval(progress);
      log.info({ records: session.records, checkpoint: checkpoint.position && formatBinlogPosition(checkpoint.position) }, 'sync session ended');
    }
  } finally {
    await sink.disconnect().catch(() => {});
    await source.end().catch(() => {});
    await snapshotConnection?.end().catch(() => {});
  }
}

function topicOptions(config: SyncConfig) {
  return { create: config.kafka.createTopics, partitions: config.kafka.topicPartitions, replicationFactor: config.kafka.topicReplicationFactor };
}

async function sourceServerId(conn: Connection): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT @@server_id AS id');
  return Number(rows[0]?.id ?? 0);
}

/** The finished snapshot's per-table low watermarks, for the stream to drop what the snapshot holds. */
function snapshotWatermarks(snapshot: SnapshotState | null): Map<string, BinlogPosition> | undefined {
  if (!snapshot?.done) return undefined;
  const out = new Map<string, BinlogPosition>();
  for (const t of snapshot.tables) if (t.lowWatermark) out.set(`${t.database}\0${t.table}`, t.lowWatermark);
  return out;
}

function readTls(tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean }) {
  return {
    ...(tls.ca ? { ca: fs.readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: fs.readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: fs.readFileSync(tls.key) } : {}),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
