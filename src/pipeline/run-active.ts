/**
 * The active synchronizer: resolves where to start, then runs sync sessions until stopped,
 * starting a new session from the checkpoint after a retriable failure (backoff with
 * jitter) and giving up on a fatal one. Only acknowledged transactions are ever
 * checkpointed, so a restart repeats at most the unacknowledged tail (at-least-once). With
 * delivery exactly-once, each session's sink is transactional: it fences the task's older
 * producers first, the session resumes from the checkpoint committed last, and each
 * checkpoint is committed in the transaction of the records it covers (checkpoint-writer.ts),
 * so what a session sent after its last commit is aborted, never repeated.
 * run-sync.ts picks the checkpoint store and, with store kafka, when this instance is active.
 */
import { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import type { Connection } from 'mysql2/promise';
import type { Checkpoint, SnapshotState, SnapshotTableState } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointDocument } from '../checkpoint/checkpoint-writer.ts';
import type { SinkMessage } from '../sink/sink.ts';
import { loadConfig } from '../config/index.ts';
import { readTlsFiles } from '../config/tls-files.ts';
import { restartNeeded, sameConfig, watchConfigFile } from './config-reload.ts';
import { kafkaAcks, redactConfig, topicFor, type SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BinlogPosition, formatBinlogPosition } from '../model/binlog-position.ts';
import { KafkaSink } from '../sink/kafka-sink.ts';
import { binlogEnd, connectSource, serverVersion } from '../source/source-inspector.ts';
import { ServerIdLock } from '../source/server-id-lock.ts';
import { binlogPositionAt } from '../source/binlog-seek.ts';
import { assertPrecheck } from '../precheck/precheck.ts';
import { planSnapshot, runFullSync } from '../snapshot/full-sync.ts';
import { sourceServerId } from '../snapshot/snapshot-source.ts';
import { recordCheckpoint, recordError, recordReconnect, setSourceConnected, sinkObserver } from '../ops/metrics.ts';
import { watchBinlogLag } from './binlog-lag.ts';
import { selectedTables } from './selected-tables.ts';
import { sourceConnection } from '../config/source-connection.ts';
import { SyncSession } from './sync-session.ts';

export interface RunSyncOptions {
  readonly config: SyncConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** start here instead of the checkpoint or the binlog's end (a transaction boundary) */
  readonly startPosition?: BinlogPosition;
  /** start at the first transaction committed at or after this UNIX time (seconds), found in the binlog */
  readonly startTimestamp?: number;
  /** the config's file: watched (and re-read on SIGHUP) for live changes */
  readonly configFile?: string;
}

export interface RunActiveOptions extends RunSyncOptions {
  /** the checkpoint in force, read from its store by the caller */
  readonly checkpoint: CheckpointWriter;
  /** false: the caller ran the precheck already */
  readonly precheck: boolean;
  /** asked before each produce request; an error stops the session (the election's lease, src/ha) */
  readonly fence?: () => SyncError | null;
  /** delivery exactly-once: records and the checkpoint covering them committed in one Kafka transaction */
  readonly exactlyOnce?: ExactlyOnce;
}

export interface ExactlyOnce {
  /** the task's transactional id: stable, so that a new producer fences the older ones */
  readonly transactionalId: string;
  /** the checkpoint last committed, read after the session's producer fenced every older one */
  readonly committed: () => Promise<Checkpoint>;
  /** the record that carries a checkpoint into the transaction it covers */
  readonly record: (doc: CheckpointDocument) => SinkMessage;
}

/** How a session starts: the explicit start to apply once (then null), the fence, exactly-once. */
interface SessionSetup {
  readonly explicitStart: boolean;
  readonly fence: (() => SyncError | null) | undefined;
  readonly exactlyOnce: ExactlyOnce | undefined;
  /** Applies --start-position / --start-timestamp once the checkpoint in force is known, and writes it. */
  readonly applyStart: () => Promise<void>;
}

/**
 * Syncs until `signal` aborts (resolves after a clean drain) or a fatal error (rejects),
 * starting a new session from the checkpoint after a retriable one.
 */
export async function runActive(o: RunActiveOptions): Promise<void> {
  const { logger: log, signal, checkpoint } = o;
  // The config in force: live edits replace it (config-reload.ts); a new session after a fault starts with it.
  let config = o.config;
  let session: SyncSession | null = null;
  const stopWatching = o.configFile ? watchConfigFile(o.configFile, (why) => {
    void reloadConfig(o.configFile!, why, config, log, session).then((next) => { if (next) config = next; });
  }) : () => {};
  // One synchronizer per source.serverId on the source (server-id-lock.ts), taken before each session.
  const serverIdLock = new ServerIdLock(sourceConnection(config), config.source.serverId, log, o.fence !== undefined);
  // An explicit start replaces the checkpoint once, when it is written (with exactly-once, committed) in a session.
  let pendingStart: (BinlogPosition & { gtid: null }) | null = o.startPosition ? { ...o.startPosition, gtid: null } : null;
  const setup: SessionSetup = {
    explicitStart: o.startPosition !== undefined || o.startTimestamp !== undefined,
    fence: o.fence,
    exactlyOnce: o.exactlyOnce,
    applyStart: async () => {
      if (pendingStart === null) return;
      checkpoint.reset(pendingStart);
      await checkpoint.flush();
      pendingStart = null;
    },
  };
  try {
    let attempt = 0;
    let prechecked = !o.precheck;
    let timestampResolved = false;
    while (!signal.aborted) {
      const began = Date.now();
      try {
        // Before the first start only: a session restarted after a fault resumes what passed.
        if (!prechecked) {
          await assertPrecheck(config, log.child({ phase: 'precheck' }));
          prechecked = true;
        }
        await serverIdLock.acquire();
        if (o.startTimestamp !== undefined && !timestampResolved) {
          const at = await binlogPositionAt(sourceConnection(config), config.source.serverId, o.startTimestamp);
          pendingStart = { ...at.position, gtid: null };
          timestampResolved = true;
          log.info({ startTimestamp: o.startTimestamp, position: formatBinlogPosition(at.position), commitTimestamp: at.commitTimestamp },
            'starting at the first transaction committed at or after --start-timestamp');
        }
        await runOnce(config, log, signal, checkpoint, setup, (s) => { session = s; });
        return;
      } catch (err) {
        const e = err instanceof SyncError ? err : new SyncError('SOURCE_UNREACHABLE', (err as Error)?.message ?? String(err), { cause: err });
        recordError(e.code);
        if (!e.retriable || signal.aborted) throw e;
        recordReconnect();
        if (Date.now() - began > 60_000) attempt = 0;
        const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.8 + Math.random() * 0.4);
        log.warn({ code: e.code, err: e.message, retryInMs: Math.round(delay), position: checkpoint.position && formatBinlogPosition(checkpoint.position) },
          'sync interrupted; resuming from the checkpoint');
        await sleep(delay, signal);
      }
    }
  } finally {
    stopWatching();
    await serverIdLock.release();
  }
}

/** Validates an edited config; returns it when it may apply (and hands it to the running session), else null. */
async function reloadConfig(file: string, why: string, running: SyncConfig, log: Logger, session: SyncSession | null): Promise<SyncConfig | null> {
  let next: SyncConfig;
  try {
    next = loadConfig(file);
  } catch (err) {
    log.error({ code: (err as SyncError).code, err: (err as Error).message, why },
      'the edited config is invalid and was not applied; the synchronizer keeps running on the previous one');
    return null;
  }
  if (sameConfig(running, next)) return null;
  const fixed = restartNeeded(running, next);
  if (fixed.length > 0) {
    log.error({ options: fixed, why },
      `the edited config changes ${fixed.join(', ')}, which cannot change while running: restart the synchronizer to apply it; it keeps running on the previous config`);
    return null;
  }
  log.info({ why, config: redactConfig(next) }, 'applying the edited config at the next transaction boundary');
  try {
    await session?.reconfigure(next);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'the edited config could not be applied; the synchronizer keeps running on the previous one');
    return null;
  }
  return next;
}

async function runOnce(config: SyncConfig, log: Logger, outer: AbortSignal, checkpoint: CheckpointWriter, setup: SessionSetup,
  onSession: (s: SyncSession | null) => void): Promise<void> {
  // A failed asynchronous checkpoint write (checkpoint.store kafka) stops this session; the next resumes.
  const stopSession = new AbortController();
  let failure: SyncError | null = null;
  checkpoint.resume((e) => { failure ??= e; stopSession.abort(e); });
  const signal = AbortSignal.any([outer, stopSession.signal]);
  try {
    await runSession(config, log, signal, checkpoint, setup, onSession);
  } finally {
    checkpoint.resume(null);
  }
  if (failure) throw failure;
}

async function runSession(config: SyncConfig, log: Logger, signal: AbortSignal, checkpoint: CheckpointWriter, setup: SessionSetup,
  onSession: (s: SyncSession | null) => void): Promise<void> {
  const { explicitStart, fence, exactlyOnce } = setup;
  const source = await connectSource(sourceConnection(config));
  let snapshotConnection: Connection | null = null;
  const sink = new KafkaSink({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    acks: kafkaAcks(config),
    compression: config.kafka.compression,
    maxRecordBytes: config.kafka.maxRecordBytes,
    requestTimeoutMs: config.kafka.requestTimeoutMs,
    logger: log.child({ component: 'kafka' }),
    observer: sinkObserver,
    ...(fence ? { fence } : {}),
    ...(exactlyOnce ? { transactionalId: exactlyOnce.transactionalId } : {}),
    ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
    ...(config.kafka.tls.enabled ? { tls: readTlsFiles(config.kafka.tls, 'kafka.tls') } : {}),
  });
  try {
    const version = await serverVersion(source);
    setSourceConnected(true);
    await sink.connect();
    if (exactlyOnce) {
      // Only now, with every older producer of the task fenced (its open transaction aborted), is the committed checkpoint final.
      checkpoint.restore(await exactlyOnce.committed());
      checkpoint.commitWith((doc) => sink.commit(() => [exactlyOnce.record(doc())]));
      log.info({ checkpoint: checkpoint.position && formatBinlogPosition(checkpoint.position), transactionalId: exactlyOnce.transactionalId },
        'exactly-once: resuming from the last committed checkpoint');
    }
    await setup.applyStart();
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
          sourceConnection: sourceConnection(config),
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
      streamedSnapshots: config.mode === 'initial' ? streamedSnapshots(checkpoint.snapshot, await selectedTables(source, config)) : [],
    });
    onSession(session);
    const progress = setInterval(() => {
      log.info({ records: session.records, oversizedSkipped: session.oversizedSkipped, checkpoint: checkpoint.position && formatBinlogPosition(checkpoint.position) }, 'progress');
    }, 10_000);
    const stopLagWatch = watchBinlogLag(source, () => session.lastEventPosition ?? checkpoint.position);
    try {
      await session.run(signal);
    } finally {
      clearInterval(progress);
      stopLagWatch();
      onSession(null);
      log.info({ records: session.records, oversizedSkipped: session.oversizedSkipped, checkpoint: checkpoint.position && formatBinlogPosition(checkpoint.position) }, 'sync session ended');
    }
  } finally {
    checkpoint.commitWith(null);
    setSourceConnected(false);
    await sink.disconnect().catch(() => {});
    await source.end().catch(() => {});
    await snapshotConnection?.end().catch(() => {});
  }
}

function topicOptions(config: SyncConfig) {
  return { create: config.kafka.createTopics, partitions: config.kafka.topicPartitions, replicationFactor: config.kafka.topicReplicationFactor };
}

/** The finished snapshot's per-table low watermarks, for the stream to drop what the snapshot holds. */
function snapshotWatermarks(snapshot: SnapshotState | null): Map<string, BinlogPosition> | undefined {
  if (!snapshot?.done) return undefined;
  const out = new Map<string, BinlogPosition>();
  for (const t of snapshot.tables) if (t.lowWatermark && !t.streamed) out.set(`${t.database}\0${t.table}`, t.lowWatermark);
  return out;
}

/**
 * Tables to copy while streaming: those whose streamed copy is unfinished, and selected
 * tables the finished initial sync never copied (added to the config while stopped).
 */
function streamedSnapshots(snapshot: SnapshotState | null, tables: readonly (readonly [string, string])[]) {
  if (!snapshot?.done) return [];
  const known = new Map(snapshot.tables.map((t) => [`${t.database}\0${t.table}`, t]));
  const out: { database: string; table: string; state: SnapshotTableState | null }[] = [];
  for (const [database, table] of tables) {
    const t = known.get(`${database}\0${table}`);
    if (!t) out.push({ database, table, state: null });
    else if (t.streamed && !t.done) out.push({ database, table, state: t });
  }
  return out;
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
