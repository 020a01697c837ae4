/**
 * `verify`: do the synced topics hold the source tables? For each table the config selects,
 * the topics are read from the beginning, each key's last image is kept (DELETE removes
 * it, an UPDATE that changes the key removes the old key, INIT counts as INSERT), and the
 * result is compared with the source's rows: row counts, and per row a digest of its values
 * in canonical form (canonical.ts).
 *
 * 1. Open a consistent snapshot of the source and read its binlog position.
 * 2. Wait (bounded) until the synchronizer's checkpoint has passed that position, so that
 *    every change the snapshot holds is in the topics.
 * 3. Read the topics to their current end; records after the snapshot position are left
 *    out. Each record becomes bucket-file lines (topic-ops.ts).
 * 4. Stream each table's rows from the snapshot into the same buckets (source-scan.ts).
 * 5. Compare bucket by bucket (compare.ts).
 *
 * Memory: one bucket at a time, about 2.5 × its files' bytes of heap (4 × when they are all
 * topic lines: one map entry per distinct key of the topic file), the write buffers (32 MiB),
 * and the consumer's current fetch batch. Disk: about 130-200 bytes per record and per source
 * row, in a temporary folder deleted at the end.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { KafkaCheckpointStore } from '../ha/kafka-checkpoint-store.ts';
import type { SyncConfig } from '../config/index.ts';
import { sourceConnection } from '../config/source-connection.ts';
import { readTlsFiles } from '../config/tls-files.ts';
import { DtsConsumer } from '../consumer/consumer.ts';
import { consumerError } from '../consumer/consumer-errors.ts';
import { type ConsumerLogger, type ConsumerTls, createKafkaClient } from '../consumer/kafka-client.ts';
import { SyncError } from '../errors.ts';
import { type BinlogPosition, binlogFileNumber, compareBinlogPositions, formatBinlogPosition } from '../model/binlog-position.ts';
import { connectSource } from '../source/source-inspector.ts';
import { compareBucket, type CompareContext } from './compare.ts';
import { emptyTableReport, type VerifyReport } from './report.ts';
import { scanTable, type SourceSnapshot, startSnapshot } from './source-scan.ts';
import { BucketWriter } from './spill.ts';
import { TopicOps } from './topic-ops.ts';
import { type VerifiedTable, verifiedTables } from './verified-table.ts';

export interface VerifyOptions {
  readonly config: SyncConfig;
  readonly logger?: ConsumerLogger;
  /** where the bucket files go (a fresh folder inside it, removed at the end); default: the OS temp folder */
  readonly workDir?: string;
  /** memory budget per bucket, in bytes of bucket files (default 64 MiB) */
  readonly maxBucketBytes?: number;
  /** examples per table and kind (default 5) */
  readonly examples?: number;
  /** how long to wait for the synchronizer to reach the snapshot position, ms (default 60,000; 0: not at all) */
  readonly waitMs?: number;
  /** only these tables (db.table or db.* patterns) of the config's objects */
  readonly only?: readonly string[];
}

const noop = (): void => {};
const silent: ConsumerLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Bytes per bucket-file line, for the first estimate of the bucket count (splits correct it). */
const TOPIC_LINE_BYTES = 220;
const SOURCE_LINE_BYTES = 160;

export async function runVerify(o: VerifyOptions): Promise<VerifyReport> {
  const { config } = o;
  const log = o.logger ?? silent;
  const maxBucketBytes = o.maxBucketBytes ?? 64 * 1024 * 1024;
  const work = fs.mkdtempSync(path.join(o.workDir ?? os.tmpdir(), 'dts-verify-'));
  // As the synchronizer connects: verify's own copy of these options once left out the host-name check.
  const conn = await connectSource(sourceConnection(config));
  try {
    const tables = await verifiedTables(conn, config, o.only ?? []);
    if (tables.length === 0) {
      throw new SyncError('CONFIG_INVALID', `the config's objects (${config.objects.map((p) => `${p.database}.${p.table}`).join(', ')}) select no table that exists on the source; nothing to verify`);
    }
    const report: VerifyReport = {
      tables: tables.map((t) => emptyTableReport(t.database, t.table, t.topic, t.key)),
      snapshot: null, records: 0, afterSnapshot: 0, otherTables: 0, unkeyable: 0, buckets: 0, splits: 0, notes: [],
    };
    const snapshot = await startSnapshot(conn);
    report.snapshot = snapshot.position ? formatBinlogPosition(snapshot.position) : null;
    if (snapshot.position && !snapshot.exact) {
      report.notes.push('the source is not MariaDB: its snapshot position is approximate; a change committed while verify started can show as a difference');
    }
    if (!snapshot.position) report.notes.push('the source has no binlog position; records are compared up to the end of the topics');
    await waitForSync(config, snapshot, o.waitMs ?? 60_000, report.notes, log);

    const topics = [...new Set(tables.map((t) => t.topic))];
    const kafka = kafkaOptions(config);
    const partitions = await topicPartitions(kafka, topics, config);
    const rowEstimate = await estimateRows(conn, tables);
    const messages = [...partitions.values()].reduce((n, p) => n + p.messages, 0);
    const buckets = Math.min(4096, Math.max(1, Math.ceil((messages * TOPIC_LINE_BYTES + rowEstimate * SOURCE_LINE_BYTES) / maxBucketBytes)));
    report.buckets = buckets;
    const file = (b: number, side: 'topic' | 'source') => path.join(work, `b${b}.${side}`);
    log.info({ buckets, messages, rows: rowEstimate, dir: work }, `comparing in ${buckets} bucket(s) under ${work}`);

    // 3. The topics, from the beginning to their current end.
    const topicWriter = new BucketWriter(Array.from({ length: buckets }, (_, b) => file(b, 'topic')), 0);
    const snapshotAt = snapshot.position ? { file: binlogFileNumber(snapshot.position.file), pos: snapshot.position.position } : null;
    const ops = new TopicOps(tables, topicWriter, snapshotAt);
    for (const topic of topics) {
      const consumer = new DtsConsumer({
        ...kafka,
        topic,
        group: `dts-verify-${crypto.randomBytes(6).toString('hex')}`,
        clientId: 'dts-verify',
        mode: 'assign',
        partitions: partitions.get(topic)!.ids,
        checkpoint: 'earliest',
        useConfigCheckpoint: true,
        checkpointFile: null,
        commit: false,
        exitAtEnd: true,
        logger: log,
      });
      await consumer.run((r) => ops.add(r));
      log.info({ topic, records: consumer.stats.records }, `read ${consumer.stats.records} records of ${topic}`);
    }
    topicWriter.close();
    Object.assign(report, { records: ops.counters.records, afterSnapshot: ops.counters.afterSnapshot, otherTables: ops.counters.otherTables, unkeyable: ops.counters.unkeyable });
    for (const [index, list] of ops.unkeyableExamples) {
      const t = tables[index]!;
      for (const e of list) report.notes.push(`${t.database}.${t.table}: ${e}`);
    }

    // 4. The source rows, from the snapshot.
    const sourceWriter = new BucketWriter(Array.from({ length: buckets }, (_, b) => file(b, 'source')), 0);
    for (const t of tables) {
      const rows = await scanTable(conn, t, sourceWriter);
      log.info({ table: `${t.database}.${t.table}`, rows }, `read ${rows} rows of ${t.database}.${t.table}`);
    }
    sourceWriter.close();
    await conn.query('COMMIT');

    // 5. Bucket by bucket.
    const ctx: CompareContext = { tables, reports: report.tables, truncates: ops.truncates, maxBucketBytes, examples: o.examples ?? 5, splits: 0 };
    for (let b = 0; b < buckets; b++) await compareBucket(file(b, 'topic'), file(b, 'source'), 0, ctx);
    report.splits = ctx.splits;
    return report;
  } finally {
    await conn.end().catch(noop);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Waits until the synchronizer's checkpoint (config.checkpoint.file, when this host has it)
 * is at or after the snapshot position: then every change the snapshot holds was
 * acknowledged by Kafka. Notes why when it cannot tell or gives up.
 */
async function waitForSync(config: SyncConfig, snapshot: SourceSnapshot, waitMs: number, notes: string[], log: ConsumerLogger): Promise<void> {
  if (snapshot.position === null || waitMs <= 0) return;
  const target: BinlogPosition = snapshot.position;
  const checkpoints = await checkpointReader(config, log);
  const deadline = Date.now() + waitMs;
  let last: BinlogPosition | null = null;
  try {
    for (;;) {
      let checkpoint;
      try {
        checkpoint = await checkpoints.read();
      } catch {
        checkpoint = null;
      }
      if (checkpoint === null && last === null && !checkpoints.mayAppear()) {
        notes.push(`no synchronizer checkpoint at ${checkpoints.where}: verify cannot tell whether the synchronizer has caught up; changes it has not produced yet show as differences`);
        return;
      }
      last = checkpoint?.binlog ?? last;
      if (last !== null && compareBinlogPositions(last, target) >= 0) return;
      if (Date.now() >= deadline) {
        notes.push(
          `the synchronizer's checkpoint (${last ? formatBinlogPosition(last) : 'none yet'}) did not reach the source snapshot ${formatBinlogPosition(target)} within ${Math.round(waitMs / 1000)} s; ` +
            'changes after its checkpoint may show as differences (is the synchronizer running?)',
        );
        return;
      }
      log.debug({ checkpoint: last && formatBinlogPosition(last), target: formatBinlogPosition(target) }, 'waiting for the synchronizer to reach the snapshot');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await checkpoints.close();
  }
}

/** The synchronizer's checkpoint where its config keeps it: the file on this host, or the task's record in the Kafka topic. */
async function checkpointReader(config: SyncConfig, log: ConsumerLogger) {
  if (config.checkpoint.store === 'kafka') {
    const { topic, task } = config.checkpoint;
    const store = new KafkaCheckpointStore({ connection: { ...kafkaOptions(config), clientId: 'dts-verify', logger: log }, topic: topic! });
    await store.connect();
    return {
      where: `task ${task} in topic ${topic}`,
      read: () => store.read(task!),
      mayAppear: () => true, // the topic exists: the synchronizer may be about to write it
      close: () => store.close(),
    };
  }
  const file = config.checkpoint.file;
  return {
    where: `${file} on this host`,
    read: async () => readCheckpoint(file),
    mayAppear: () => fs.existsSync(file),
    close: async () => {},
  };
}

interface KafkaSide {
  readonly brokers: readonly string[];
  readonly sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  readonly tls?: ConsumerTls;
}

function kafkaOptions(config: SyncConfig): KafkaSide {
  const k = config.kafka;
  return {
    brokers: k.brokers,
    ...(k.sasl ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password } } : {}),
    ...(k.tls.enabled ? { tls: readTlsFiles(k.tls, 'kafka.tls') } : {}),
  };
}

/** Each topic's partitions and message count (high - low watermarks, summed). */
async function topicPartitions(kafka: KafkaSide, topics: readonly string[], config: SyncConfig): Promise<Map<string, { ids: number[]; messages: number }>> {
  const client = createKafkaClient({ ...kafka, clientId: 'dts-verify', logger: silent });
  const admin = client.admin();
  const out = new Map<string, { ids: number[]; messages: number }>();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new SyncError('KAFKA_TOPIC_MISSING', `Kafka at ${config.kafka.brokers.join(', ')} has no topic ${missing.join(', ')}; has the synchronizer run with this config?`);
    }
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      out.set(topic, {
        ids: offsets.map((p) => p.partition).sort((a, b) => a - b),
        messages: offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0),
      });
    }
  } catch (e) {
    throw consumerError(e, { doing: `reading the partitions of ${topics.join(', ')}`, brokers: kafka.brokers, topic: topics.join(', '), group: '-', ...(kafka.sasl ? { sasl: kafka.sasl } : {}) });
  } finally {
    await admin.disconnect().catch(noop);
  }
  return out;
}

/** information_schema's row estimates: only to size the buckets. */
async function estimateRows(conn: Connection, tables: readonly VerifiedTable[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [t.database, t.table]);
    total += Number(rows[0]?.n ?? 0);
  }
  return total;
}
