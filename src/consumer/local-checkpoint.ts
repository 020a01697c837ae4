/**
 * The consumer's own checkpoint file: per partition, the next offset to read (Kafka's
 * committed-offset convention) and the sourceTimestamp (UNIX seconds, the DTS checkpoint) of
 * the last record processed. It is written right after each successful commit to the group,
 * so it never runs ahead of the group's committed offsets; it is what a restart uses when the
 * group has no committed offset (a new group, or offsets expired by the broker's
 * offsets.retention), and its timestamp finds the place again when the offset no longer
 * exists (the topic was recreated or truncated).
 *
 * Written atomically (temporary file, fsync, rename), so a crash leaves the old or the new
 * file, never half of one. A file that does not parse, or that belongs to another topic or
 * group, is an error: never a silent start from somewhere else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SyncError } from '../errors.ts';

export interface PartitionCheckpoint {
  /** the next offset to read */
  readonly offset: bigint;
  /** sourceTimestamp of the last record processed, UNIX seconds */
  readonly timestamp: number;
}

export interface LocalCheckpoint {
  readonly topic: string;
  readonly group: string;
  readonly partitions: ReadonlyMap<number, PartitionCheckpoint>;
}

interface FileShape {
  version: 1;
  topic: string;
  group: string;
  partitions: Record<string, { offset: string; timestamp: number }>;
  updatedAt: string;
}

const FIX = 'delete it (or set another checkpointFile) to start from the configured checkpoint or the group\'s committed offsets';

/** The checkpoint in `file`, or null when there is none. Throws CHECKPOINT_CORRUPT for a bad file or one of another topic/group. */
export function readLocalCheckpoint(file: string, topic: string, group: string): LocalCheckpoint | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SyncError('CHECKPOINT_CORRUPT', `consumer checkpoint file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SyncError('CHECKPOINT_CORRUPT', `consumer checkpoint file ${file} is not valid JSON (${(err as Error).message}); ${FIX}`, { cause: err });
  }
  const problem = shapeProblem(parsed);
  if (problem !== null) throw new SyncError('CHECKPOINT_CORRUPT', `consumer checkpoint file ${file} is corrupt: ${problem}; ${FIX}`);
  const f = parsed as FileShape;
  if (f.topic !== topic || f.group !== group) {
    throw new SyncError(
      'CHECKPOINT_CORRUPT',
      `consumer checkpoint file ${file} belongs to topic ${f.topic} and group ${f.group}, not topic ${topic} and group ${group}; give this consumer its own checkpointFile, or ${FIX}`,
    );
  }
  const partitions = new Map<number, PartitionCheckpoint>();
  for (const [p, v] of Object.entries(f.partitions)) partitions.set(Number(p), { offset: BigInt(v.offset), timestamp: v.timestamp });
  return { topic, group, partitions };
}

function shapeProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'it is not a JSON object';
  const f = v as Record<string, unknown>;
  if (f.version !== 1) return `unknown version ${JSON.stringify(f.version)} (this build writes 1)`;
  if (typeof f.topic !== 'string' || typeof f.group !== 'string') return 'topic or group is not a string';
  if (typeof f.partitions !== 'object' || f.partitions === null || Array.isArray(f.partitions)) return 'partitions is not an object';
  for (const [p, e] of Object.entries(f.partitions as Record<string, unknown>)) {
    if (!/^\d+$/.test(p)) return `partition ${JSON.stringify(p)} is not a partition number`;
    const entry = e as Record<string, unknown> | null;
    if (typeof entry?.offset !== 'string' || !/^\d+$/.test(entry.offset)) return `partitions.${p}.offset is not a decimal string`;
    if (!Number.isSafeInteger(entry.timestamp) || (entry.timestamp as number) < 0) return `partitions.${p}.timestamp is not UNIX seconds`;
  }
  return null;
}

/** Writes the checkpoint atomically. */
export function writeLocalCheckpoint(file: string, checkpoint: LocalCheckpoint): void {
  const partitions: FileShape['partitions'] = {};
  for (const [p, c] of [...checkpoint.partitions].sort((a, b) => a[0] - b[0])) {
    partitions[String(p)] = { offset: c.offset.toString(), timestamp: c.timestamp };
  }
  const body: FileShape = { version: 1, topic: checkpoint.topic, group: checkpoint.group, partitions, updatedAt: new Date().toISOString() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
