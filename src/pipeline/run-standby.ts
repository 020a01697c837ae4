/**
 * `checkpoint.store: kafka`: one config started on several hosts, one active instance.
 *
 * Every instance runs the precheck, then joins its task's election (src/ha/election.ts:
 * Kafka's group membership; the member owning the checkpoint topic's single partition is
 * active) and waits. The active one reads the task's checkpoint from the compacted topic
 * (src/ha/kafka-checkpoint-store.ts) and syncs exactly as a single instance does
 * (run-active.ts), checking its membership lease before every produce request. When it
 * loses the lease or the role (a pause longer than the session, a partition from the
 * coordinator), its sends stop at once, the session ends, and it stands by again; the new
 * active one resumes from the last checkpoint written, so at most the records since then are
 * repeated (at-least-once). With delivery exactly-once the broker fences too: the new active
 * instance's transactional producer (one id per task) aborts the deposed one's open
 * transaction and refuses its requests, and records are committed with their checkpoint.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { emptyCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { CheckpointWriter } from '../checkpoint/checkpoint-writer.ts';
import { redactConfig, type SyncConfig } from '../config/index.ts';
import { readTlsFiles } from '../config/tls-files.ts';
import { SyncError } from '../errors.ts';
import { Election, type Role } from '../ha/election.ts';
import { KafkaCheckpointStore } from '../ha/kafka-checkpoint-store.ts';
import type { Logger } from '../logger.ts';
import { formatBinlogPosition } from '../model/binlog-position.ts';
import { recordCheckpoint, setRole } from '../ops/metrics.ts';
import { assertPrecheck } from '../precheck/precheck.ts';
import type { KafkaConnectionOptions } from '../sink/kafka-connection.ts';
import { runActive, type RunSyncOptions } from './run-active.ts';

/**
 * A digest of what the instances of one task must share: where they read and write, and how
 * (not what may differ per host: the checkpoint file, the metrics port, the log level, nor
 * what may be edited live one host at a time: objects, topics, DDL, snapshot options).
 */
export function taskConfigDigest(config: SyncConfig): string {
  const { source, kafka, checkpoint } = config;
  const shared = {
    source: { host: source.host, port: source.port, user: source.user, serverId: source.serverId },
    kafka: { brokers: [...kafka.brokers].sort(), clientId: kafka.clientId },
    checkpoint: { topic: checkpoint.topic, task: checkpoint.task },
    mode: config.mode,
    partitionPolicy: config.partitionPolicy,
    delivery: config.delivery,
  };
  return createHash('sha256').update(JSON.stringify(shared)).digest('hex').slice(0, 16);
}

/** The group the instances of `task` elect the active one in. */
export function electionGroup(task: string): string {
  return `dts-task.${task}`;
}

export async function runStandby(o: RunSyncOptions): Promise<void> {
  const { config, logger: log, signal } = o;
  const { task, topic } = config.checkpoint;
  log.info({ config: redactConfig(config) }, 'configuration');
  await assertPrecheck(config, log.child({ phase: 'precheck' }));
  const connection = kafkaConnection(config, log.child({ component: 'election' }));
  const store = new KafkaCheckpointStore({ connection, topic: topic! });
  await store.connect();
  const digest = taskConfigDigest(config);
  setRole('starting');
  const election = new Election({
    connection,
    groupId: electionGroup(task!),
    topic: topic!,
    sessionTimeoutMs: config.checkpoint.sessionTimeoutMs,
    identity: { host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString(), config: digest },
    logger: log.child({ component: 'election' }),
  });
  let deposed: AbortController | null = null;
  let roleChanged: (() => void) | null = null;
  // Two configs on one task name would take turns writing different things under one checkpoint.
  let conflict: SyncError | null = null;
  election.onActiveIdentity((other) => {
    if (other.config === undefined || other.config === digest || conflict) return;
    conflict = new SyncError('CONFIG_INVALID',
      `the active instance of task ${task} (pid ${other.pid} on ${other.host}) runs with another config: the source, Kafka, ` +
        'checkpoint.topic, mode, partitionPolicy or delivery differ. Every instance of a task must share them; ' +
        'give this one its own checkpoint.task, or the same config as the active one');
    roleChanged?.();
  });
  election.onRoleChange((role: Role, why: string) => {
    if (role === 'active' || role === 'standby' || role === 'starting') setRole(role);
    log.info({ role, why, task }, role === 'active' ? 'this instance is now the active one of its task' : `this instance is ${role}`);
    if (role !== 'active') deposed?.abort(new SyncError('NOT_ACTIVE', `this instance is no longer the active one of task ${task}: ${why}`));
    roleChanged?.();
  });
  try {
    await election.start();
    let first = true;
    while (!signal.aborted) {
      if (conflict) throw conflict;
      if (election.role !== 'active') {
        log.info({ task, active: election.activeIdentity }, 'standing by: another instance of this task is active');
        await new Promise<void>((resolve) => {
          roleChanged = () => { if (election.role === 'active' || conflict) resolve(); };
          signal.addEventListener('abort', () => resolve(), { once: true });
          roleChanged();
        });
        roleChanged = null;
        continue;
      }
      deposed = new AbortController();
      const active = deposed;
      const fence = () => (election.holdsLease() ? null
        : new SyncError('NOT_ACTIVE', `this instance's membership lease in task ${task}'s election ran out; another instance may be active now`));
      const initial = (await store.read(task!)) ?? emptyCheckpoint();
      log.info({ task, checkpoint: initial.binlog && formatBinlogPosition(initial.binlog) }, 'active: resuming from the checkpoint in Kafka');
      const taskStore = store.forTask(task!);
      const exactlyOnce = config.delivery === 'exactly-once';
      const checkpoint = new CheckpointWriter({
        exactlyOnce,
        // A deposed instance must not write over the new active one's checkpoint either.
        store: { where: taskStore.where, write: (doc) => { const fenced = fence(); return fenced ? Promise.reject(fenced) : taskStore.write(doc); } },
        intervalMs: config.checkpoint.intervalMs,
        initial,
        onWrite: (position) => {
          log.debug({ position }, 'checkpoint written');
          if (checkpoint.position) recordCheckpoint(checkpoint.position);
        },
      });
      await checkpoint.open();
      try {
        await runActive({
          ...o,
          ...(first ? {} : { startPosition: undefined, startTimestamp: undefined }),
          signal: AbortSignal.any([signal, active.signal]),
          checkpoint,
          precheck: false,
          fence,
          ...(exactlyOnce ? {
            exactlyOnce: {
              transactionalId: electionGroup(task!),
              committed: async () => (await store.read(task!)) ?? emptyCheckpoint(),
              record: (doc) => store.writeMessage(task!, doc),
            },
          } : {}),
        });
        if (!active.signal.aborted) return; // stopped, or mode full finished
      } catch (e) {
        if (!(e instanceof SyncError && e.code === 'NOT_ACTIVE') && !active.signal.aborted) throw e;
        log.warn({ task, err: (e as Error).message }, 'the active sync stopped: this instance lost its role');
      }
      first = false;
    }
  } finally {
    await election.stop().catch(() => {});
    await store.close().catch(() => {});
  }
}

/** How the election and the checkpoint store reach Kafka: as the sink does. */
function kafkaConnection(config: SyncConfig, log: Logger): KafkaConnectionOptions {
  return {
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    logger: log,
    requestTimeoutMs: config.kafka.requestTimeoutMs,
    ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
    ...(config.kafka.tls.enabled ? { tls: readTlsFiles(config.kafka.tls, 'kafka.tls') } : {}),
  };
}
