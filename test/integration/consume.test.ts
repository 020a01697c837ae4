/**
 * The tracked-data consumer against the real brokers, on records produced directly (so that
 * their timestamps, positions and partitions are known): checkpoints in seconds, commits and
 * resume, the library API (for await, handlers), assign-mode conflicts, and subscribe-mode
 * failover after a SIGKILL, on Kafka 3.9 and 1.0.2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { DtsConsumer, type ConsumedRecord } from '../../src/consumer/consumer.ts';
import type { JsonRecord } from '../../src/consumer/record-format.ts';
import { encodeEvent } from '../../src/dts/encoder.ts';
import type { RowChangeEvent } from '../../src/model/change-event.ts';
import type { TableSchema } from '../../src/model/table-schema.ts';
import { column } from '../fixtures/column.ts';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const table: TableSchema = {
  database: 'it_consume',
  table: 'orders',
  columns: [
    column('id', 'int', { nullable: false }),
    column('name', 'varchar', { charset: 'utf8mb4', length: 20 }),
    column('amount', 'decimal', { precision: 10, scale: 2 }),
  ],
  primaryKey: { name: 'PRIMARY', columns: ['id'] },
  uniqueKeys: [],
};

/** A DTS INSERT record of row `id` committed at `seconds`, at binlog position `id * 100` of file 7. */
function insertRecord(id: number, seconds: number): Buffer {
  const event: RowChangeEvent = {
    kind: 'row',
    operation: 'INSERT',
    table,
    before: null,
    after: [BigInt(id), Buffer.from(`row ${id}`), `${id}.50`],
    source: {
      position: { file: 'mysql-bin.000007', position: id * 100 },
      transactionStart: { file: 'mysql-bin.000007', position: id * 100 - 50 },
      commitTimestamp: seconds,
      serverId: 1,
      threadId: 7,
      gtid: null,
    },
  };
  // encodeEvent returns a view of a shared slab: copy before the next call.
  return Buffer.from(encodeEvent(event, { id: BigInt(id), sourceVersion: '10.11', readerTimestampMs: seconds * 1000 }));
}

async function createTopic(broker: string, topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'it-consume', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Produces records `ids` (INSERTs) to `partition`, each with its commit time as the message timestamp. */
async function produce(broker: string, topic: string, rows: readonly { id: number; seconds: number; partition?: number }[]): Promise<void> {
  const producer = new Kafka({ clientId: 'it-consume', brokers: [broker], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: rows.map((r) => ({
        partition: r.partition ?? 0,
        key: JSON.stringify([String(r.id)]),
        value: insertRecord(r.id, r.seconds),
        timestamp: String(r.seconds * 1000),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function committedOffsets(broker: string, group: string, topic: string): Promise<Map<number, { offset: string; metadata: string | null }>> {
  const admin = new Kafka({ clientId: 'it-consume', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(t!.partitions.map((p) => [p.partition, { offset: p.offset, metadata: p.metadata }]));
  } finally {
    await admin.disconnect();
  }
}

interface Run {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

function startConsume(args: string[]): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/consume-main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function consumeToEnd(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; records: JsonRecord[]; stderr: string }> {
  const run = startConsume(['--format', 'json', '--exit-at-end', ...args]);
  const timer = setTimeout(() => run.proc.kill('SIGKILL'), timeoutMs);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, records: jsonLines(run.stdout()), stderr: run.stderr() };
}

function jsonLines(text: string): JsonRecord[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JsonRecord);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'consume-it-'));
const T0 = Math.floor(Date.now() / 1000) - 3600;

before(async () => {
  await ensureLab();
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const { version, broker } of kafkaBrokers()) {
  describe(`consumer on Kafka ${version}`, () => {
    test('a checkpoint in seconds skips the records before it; the rest print in order with their fields', async () => {
      const topic = uniqueName('it_consume_ts');
      await createTopic(broker, topic, 1);
      await produce(broker, topic, [0, 1, 2, 3, 4, 5].map((i) => ({ id: i + 1, seconds: T0 + i * 10 })));
      const common = ['--brokers', broker, '--topic', topic, '--checkpoint-file', 'none'];

      const all = await consumeToEnd([...common, '--group', uniqueName('g')]);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(all.records.map((r) => r.id), ['1', '2', '3', '4', '5', '6']);

      // 25 s after T0 lies between the third (T0+20) and the fourth (T0+30) record.
      const from = await consumeToEnd([...common, '--group', uniqueName('g'), '--checkpoint', String(T0 + 25)]);
      assert.equal(from.code, 0, from.stderr);
      assert.deepEqual(from.records.map((r) => r.id), ['4', '5', '6']);
      // Exactly at a record's second: that record is included.
      const at = await consumeToEnd([...common, '--group', uniqueName('g'), '--checkpoint', String(T0 + 30)]);
      assert.deepEqual(at.records.map((r) => r.id), ['4', '5', '6']);
      // After the last record: nothing, and no error.
      const none = await consumeToEnd([...common, '--group', uniqueName('g'), '--checkpoint', String(T0 + 3600)]);
      assert.equal(none.code, 0, none.stderr);
      assert.deepEqual(none.records, []);

      const r = from.records[0]!;
      assert.equal(r.topic, topic);
      assert.equal(r.partition, 0);
      assert.equal(r.offset, '3');
      assert.equal(r.key, '["4"]');
      assert.equal(r.timestamp, (T0 + 30) * 1000);
      assert.equal(r.operation, 'INSERT');
      assert.equal(r.objectName, 'it_consume.orders');
      assert.equal(r.sourceTimestamp, T0 + 30);
      assert.equal(r.bornTimestamp, T0 + 30);
      assert.equal(r.sourcePosition, '400@7');
      assert.equal(r.safeSourcePosition, '350@7');
      assert.deepEqual(r.columns.map((c) => [c.name, c.type, c.after]), [
        ['id', 'MYSQL_TYPE_LONG', '4'],
        ['name', 'MYSQL_TYPE_VAR_STRING', 'row 4'],
        ['amount', 'MYSQL_TYPE_NEWDECIMAL', '4.50'],
      ]);

      // A checkpoint in milliseconds is refused with the value in seconds.
      const ms = await consumeToEnd([...common, '--group', 'g', '--checkpoint', String((T0 + 25) * 1000)]);
      assert.equal(ms.code, 2);
      assert.match(ms.stderr, new RegExp(`--checkpoint, checkpoint: .*seconds, not milliseconds: write ${T0 + 25}`));
    });

    test('commits after processing, stores the checkpoint in the group and the local file, and resumes there', async () => {
      const topic = uniqueName('it_consume_resume');
      const group = uniqueName('g');
      const file = path.join(tmp, `${group}.json`);
      await createTopic(broker, topic, 1);
      await produce(broker, topic, [1, 2, 3, 4].map((id) => ({ id, seconds: T0 + id })));
      const args = ['--brokers', broker, '--topic', topic, '--group', group, '--checkpoint-file', file, '--use-config-checkpoint', 'false'];

      const first = await consumeToEnd(args);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(first.records.map((r) => r.id), ['1', '2', '3', '4']);
      const committed = (await committedOffsets(broker, group, topic)).get(0)!;
      assert.equal(committed.offset, '4');
      assert.deepEqual(JSON.parse(committed.metadata!), { timestamp: T0 + 4 });
      const local = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.deepEqual({ topic: local.topic, group: local.group, partitions: local.partitions }, { topic, group, partitions: { 0: { offset: '4', timestamp: T0 + 4 } } });

      await produce(broker, topic, [5, 6].map((id) => ({ id, seconds: T0 + id })));
      const second = await consumeToEnd(args);
      assert.deepEqual(second.records.map((r) => r.id), ['5', '6'], 'continues after the last commit');
      assert.match(second.stderr, /starting at offset 4 \(the group's committed offset\)/);

      // use-config-checkpoint (the default) starts from the configured checkpoint again.
      const again = await consumeToEnd([...args.slice(0, -2), '--checkpoint', String(T0 + 3)]);
      assert.deepEqual(again.records.map((r) => r.id), ['3', '4', '5', '6']);

      // Without the group's offsets (another group name), the local file is the checkpoint.
      const other = uniqueName('g');
      const moved = path.join(tmp, `${other}.json`);
      fs.writeFileSync(moved, JSON.stringify({ ...local, group: other, partitions: { 0: { offset: '5', timestamp: T0 + 5 } } }));
      const fromFile = await consumeToEnd(['--brokers', broker, '--topic', topic, '--group', other, '--checkpoint-file', moved, '--use-config-checkpoint', 'false']);
      assert.deepEqual(fromFile.records.map((r) => r.id), ['6']);
      assert.match(fromFile.stderr, /the local checkpoint file/);
      // A file of another group is refused rather than used.
      const wrong = await consumeToEnd(['--brokers', broker, '--topic', topic, '--group', uniqueName('g'), '--checkpoint-file', moved]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /CHECKPOINT_CORRUPT.*belongs to topic/);
    });

    test('library: for await commits what the loop finished; a failing handler stops without committing its record', async () => {
      const topic = uniqueName('it_consume_lib');
      const group = uniqueName('g');
      await createTopic(broker, topic, 1);
      await produce(broker, topic, [1, 2, 3, 4, 5].map((id) => ({ id, seconds: T0 + id })));
      const options = { brokers: [broker], topic, group, useConfigCheckpoint: false, commitIntervalMs: 60_000 };

      const seen: string[] = [];
      for await (const r of new DtsConsumer(options)) {
        seen.push(r.record.id.toString());
        if (seen.length === 3) break; // the third is in hand, not finished
      }
      assert.deepEqual(seen, ['1', '2', '3']);
      assert.equal((await committedOffsets(broker, group, topic)).get(0)!.offset, '2');

      const handled: string[] = [];
      const failing = new DtsConsumer(options);
      await assert.rejects(
        failing.run((r: ConsumedRecord) => {
          if (r.record.id === 5n) throw new Error('handler failed on 5');
          handled.push(r.record.id.toString());
        }),
        /handler failed on 5/,
      );
      assert.deepEqual(handled, ['3', '4'], 'resumes with the record that was in hand');
      assert.equal((await committedOffsets(broker, group, topic)).get(0)!.offset, '4');
    });

    test('assign mode: two clients of one group cannot read the same partition; modes cannot share a group', async () => {
      const topic = uniqueName('it_consume_conflict');
      await createTopic(broker, topic, 2);
      const group = uniqueName('g');
      const a = new DtsConsumer({ brokers: [broker], topic, group, partitions: [0], sessionTimeoutMs: 6000 });
      const runA = a.run(() => {});
      await waitFor('the first client to join', () => a.assignedPartitions.length === 1);
      const b = new DtsConsumer({ brokers: [broker], topic, group, partitions: [0, 1], sessionTimeoutMs: 6000 });
      const runB = b.run(() => {});
      // Whichever the group leader gives partition 0 to keeps it; the other stops.
      const first = await Promise.race([
        runA.then(() => 'a stopped', (e: unknown) => e),
        runB.then(() => 'b stopped', (e: unknown) => e),
        new Promise((r) => setTimeout(() => r('timeout'), 30_000)),
      ]);
      await a.stop();
      await b.stop();
      const settled = await Promise.allSettled([runA, runB]);
      const errors = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
      assert.ok(first instanceof Error, `a conflict ends one client (got ${String(first)})`);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, /partition 0 of topic .* is already read by another assign-mode client/);

      const mixed = uniqueName('g');
      const assign = new DtsConsumer({ brokers: [broker], topic, group: mixed, partitions: [0] });
      const runAssign = assign.run(() => {});
      await waitFor('the assign client to join', () => assign.assignedPartitions.length === 1);
      const subscribe = new DtsConsumer({ brokers: [broker], topic, group: mixed, mode: 'subscribe' });
      await assert.rejects(subscribe.run(() => {}), /already has clients in the other mode/);
      await assign.stop();
      await runAssign;
    });

    test('subscribe mode: SIGKILL one client; the other takes its partition over from the last commit, nothing lost', async () => {
      const topic = uniqueName('it_consume_failover');
      const group = uniqueName('g');
      await createTopic(broker, topic, 2);
      let next = 1;
      let producing = true;
      const producer = (async () => {
        while (producing) {
          const id = next++;
          await produce(broker, topic, [{ id, seconds: T0 + id, partition: id % 2 }]);
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      const args = [
        '--brokers', broker, '--topic', topic, '--group', group, '--mode', 'subscribe', '--format', 'json',
        '--use-config-checkpoint', 'false', '--commit-interval-ms', '0', '--session-timeout-ms', '6000', '--checkpoint-file', 'none',
      ];
      const a = startConsume(args);
      const b = startConsume(args);
      try {
        const partitionsOf = (run: Run) => new Set(jsonLines(run.stdout()).map((r) => r.partition));
        await waitFor('both clients to print records', () => partitionsOf(a).size > 0 && partitionsOf(b).size > 0);
        const assignedTo = (run: Run): number[] => {
          const lines = run.stderr().split('\n').filter((l) => l.includes('assigned partitions'));
          return JSON.parse(lines.at(-1)!).partitions as number[];
        };
        await waitFor('one partition each', () => assignedTo(a).length === 1 && assignedTo(b).length === 1);
        const victim = assignedTo(a)[0]!;
        a.proc.kill('SIGKILL');
        await a.exited;
        // B may have read the partition itself before A joined: only what it prints from now on counts.
        const bBefore = jsonLines(b.stdout()).length;
        const lastCommit = BigInt((await committedOffsets(broker, group, topic)).get(victim)!.offset);
        const printedByA = jsonLines(a.stdout()).filter((r) => r.partition === victim).map((r) => BigInt(r.offset));
        assert.ok(printedByA.length > 0);
        // A commits after every record: at most the record in hand was printed and not committed.
        assert.ok(lastCommit >= printedByA.at(-1)!, `A printed up to ${printedByA.at(-1)}, committed ${lastCommit}`);

        await waitFor('B to take the partition over', () => assignedTo(b).length === 2, 60_000);
        // The producer goes on until B has printed records of the partition it took over.
        await waitFor('B to print records of the taken-over partition', () => jsonLines(b.stdout()).slice(bBefore).some((r) => r.partition === victim), 60_000);
        producing = false;
        await producer;
        const admin = new Kafka({ clientId: 'it', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
        await admin.disconnect();
        const offsetsOf = (run: Run, p: number) => jsonLines(run.stdout()).filter((r) => r.partition === p).map((r) => BigInt(r.offset));
        await waitFor('B to reach the end of both partitions', () =>
          [0, 1].every((p) => (offsetsOf(b, p).at(-1) ?? -1n) === ends.get(p)! - 1n));
        b.proc.kill('SIGTERM');
        assert.equal(await b.exited, 0, b.stderr());

        const taken = jsonLines(b.stdout()).slice(bBefore).filter((r) => r.partition === victim).map((r) => BigInt(r.offset));
        assert.equal(taken[0], lastCommit, 'B starts on the taken-over partition at the last commit');
        for (const p of [0, 1]) {
          const seen = new Set([...offsetsOf(a, p), ...offsetsOf(b, p)].map(String));
          for (let o = 0n; o < ends.get(p)!; o++) assert.ok(seen.has(String(o)), `partition ${p} offset ${o} was printed`);
        }
        // Nothing committed is printed twice: repeats are at most what A had not committed.
        const repeats = taken.filter((o) => printedByA.includes(o));
        assert.ok(repeats.length <= 1, `repeated ${repeats.join(', ')}`);
      } finally {
        producing = false;
        await producer.catch(() => {});
        for (const run of [a, b]) if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
      }
    });
  });
}
