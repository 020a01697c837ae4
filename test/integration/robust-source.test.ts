/**
 * Fault cases that need a source of their own (docs/reliability.md), on a MariaDB and on a
 * MySQL: the source restarted
 * mid-workload (1), its binlog purged under the checkpoint (3), two synchronizers on one
 * checkpoint or one server id (6), a corrupt checkpoint and a start from a given time (7), and
 * a source in Europe/Berlin across DST changes (10). The server is a throwaway instance
 * (throwaway-source.ts), never the lab's shared one; Kafka is the lab's 3.9. Each case ends
 * with verify finding no difference between the topic and the source.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { ServerIdLock } from '../../src/source/server-id-lock.ts';
import { ensureLab, kafkaBrokers, LAB_SYNC_USER, labSources, uniqueName } from './lab.ts';
import { binlogEndOf, compareWithSource, createWorkloadTables, mulberry32, normaliseDatetime, readWholeTopic, sleep, waitForCheckpoint, Workload } from './mixed-workload.ts';
import { verifyNoDifferences } from './robust-harness.ts';
import { image, killIfRunning, type RunningSync, runSyncToExit, startSync, type SyncTestConfig, tail, topicOf, writeSyncConfig } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const BROKER = kafkaBrokers().find((b) => b.version === '3.9')!.broker;
const SEED = Number(process.env.ROBUST_SOURCE_SEED ?? Math.floor(Math.random() * 2 ** 31));

before(async () => {
  await ensureLab({ kafka: true });
});

/** A connection for the workload that survives server restarts (reopen()). */
class Reconnecting {
  private current: mysql.Connection | null = null;
  constructor(private readonly open: () => Promise<mysql.Connection>) {}
  async reopen(): Promise<void> {
    await this.current?.end().catch(() => {});
    this.current = await this.open();
  }
  query(...args: unknown[]): unknown {
    return (this.current!.query as (...a: unknown[]) => unknown)(...args);
  }
  async end(): Promise<void> {
    await this.current?.end().catch(() => {});
    this.current = null;
  }
}

for (const labSource of labSources()) {
  describe(`source faults on a throwaway ${labSource.label}`, () => {
    let db: ThrowawaySource;
    let admin: mysql.Connection;
    const running = new Set<RunningSync>();
    const dirs: string[] = [];

    before(async () => {
      db = await startThrowawaySource(labSource);
      admin = await db.admin();
      console.log(`robust-source seed: ${SEED} (ROBUST_SOURCE_SEED=${SEED} replays the workloads); throwaway ${labSource.label} on port ${db.port}`);
    });

    after(async () => {
      for (const s of running) await killIfRunning(s);
      await admin?.end().catch(() => {});
      await db?.destroy();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    async function start(configFile: string, args: string[] = []): Promise<RunningSync> {
      const s = await startSync(configFile, { args });
      running.add(s);
      return s;
    }

    async function mixedTables(prefix: string): Promise<string> {
      const database = uniqueName(prefix);
      await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
      await createWorkloadTables(admin, database);
      return database;
    }

    function config(database: string, tables: string[], extra: Partial<SyncTestConfig> = {}) {
      const cfg = writeSyncConfig({ source: db.source, broker: BROKER, objects: tables.map((t) => `${database}.${t}`), defaultTopic: uniqueName(database), sourceLines: ['heartbeatMs: 1000'], ...extra });
      dirs.push(cfg.dir);
      return cfg;
    }

    test('6: two synchronizers on one checkpoint file, or on one source.serverId: the second refuses to start, the first goes on', { timeout: 120_000 }, async () => {
      const database = uniqueName('rs_twice');
      await admin.query(`CREATE DATABASE \`${database}\``);
      await admin.query(`CREATE TABLE \`${database}\`.t (id INT PRIMARY KEY, v VARCHAR(20))`);
      const serverId = 61_000 + Math.floor(Math.random() * 1000);
      const a = config(database, ['t'], { serverId });
      const first = await start(a.configFile);
      await admin.query(`INSERT INTO \`${database}\`.t VALUES (1, 'a'), (2, 'b')`);

      // The same checkpoint file: the file lock.
      const sameFile = await runSyncToExit(['--config', a.configFile]);
      assert.equal(sameFile.code, 2, sameFile.output);
      assert.match(sameFile.output, new RegExp(`\\[CHECKPOINT_LOCKED\\]: another synchronizer \\(pid ${first.proc.pid} on [^,]+, running since [^)]+\\) is using checkpoint`));

      // Another checkpoint file, the same server id: the source-side lock, seen by the precheck.
      const b = config(database, ['t'], { serverId });
      const sameId = await runSyncToExit(['--config', b.configFile]);
      assert.equal(sameId.code, 2, sameId.output);
      assert.match(sameId.output, new RegExp(`\\[PRECHECK_FAILED\\]: the precheck failed \\(server_id\\):\\nserver_id: source\\.serverId ${serverId} is in use`));
      assert.match(sameId.output, /give this one its own source\.serverId/);
      assert.equal(fs.existsSync(b.checkpointFile), false, 'the second wrote no checkpoint');

      // The same lock taken past the precheck (two starting at once): SERVER_ID_IN_USE.
      const source = { host: '127.0.0.1', port: db.port, ...LAB_SYNC_USER };
      const quiet = { warn: () => {} };
      const other = new ServerIdLock(source, serverId, quiet);
      await assert.rejects(other.acquire(), (e: Error & { code?: string }) => e.code === 'SERVER_ID_IN_USE' && /source\.serverId \d+ is in use/.test(e.message));
      const spare = new ServerIdLock(source, serverId + 1, quiet);
      await spare.acquire();
      await spare.release();

      // The first never lost its binlog connection and goes on.
      await admin.query(`INSERT INTO \`${database}\`.t VALUES (3, 'c')`);
      await admin.query(`UPDATE \`${database}\`.t SET v = 'b2' WHERE id = 2`);
      const conn = await db.admin(database);
      await waitForCheckpoint(conn, a.checkpointFile, 30_000);
      await conn.end();
      assert.doesNotMatch(first.output(), /sync interrupted/, tail(first.output()));
      assert.equal(await first.stop(), 0, first.output());
      await verifyNoDifferences(a.configFile);
    });

    test('7: a truncated or corrupt checkpoint is a clear error, never a start from elsewhere; --start-timestamp starts from a given time', { timeout: 150_000 }, async () => {
      const database = await mixedTables('rs_ckpt');
      const cfg = config(database, ['a', 'b']);
      const conn = await db.admin(database);
      const workload = new Workload(conn, mulberry32(SEED));
      try {
        const first = await start(cfg.configFile);
        await workload.run(1_500, 3_000);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
        assert.equal(await first.stop(), 0, first.output());
        const records = (await readWholeTopic(BROKER, topicOf(cfg.configFile))).length;

        const good = fs.readFileSync(cfg.checkpointFile);
        const corruptions: [string, Buffer][] = [
          ['truncated', good.subarray(0, Math.floor(good.length / 2))],
          ['random bytes', randomBytes(200)],
        ];
        for (const [what, bytes] of corruptions) {
          fs.writeFileSync(cfg.checkpointFile, bytes);
          const r = await runSyncToExit(['--config', cfg.configFile]);
          assert.equal(r.code, 2, `${what}: ${r.output}`);
          assert.match(r.output, /\[CHECKPOINT_CORRUPT\]: checkpoint file .* is corrupt/, what);
          assert.match(r.output, /--start-position FILE:POS or --start-timestamp SECONDS/, what);
          assert.ok(fs.readFileSync(cfg.checkpointFile).equals(bytes), `${what}: the corrupt file is left as it was`);
        }
        assert.equal((await readWholeTopic(BROKER, topicOf(cfg.configFile))).length, records, 'nothing was produced from a guessed position');

        // More changes while no synchronizer runs, from a known second on.
        const from = Math.floor(Date.now() / 1000) + 1;
        await sleep(from * 1000 - Date.now() + 20);
        const end = await binlogEndOf(conn);
        await workload.run(3_000, 3_000);

        // The documented way out: move the file away, start from a time.
        fs.renameSync(cfg.checkpointFile, `${cfg.checkpointFile}.corrupt`);
        const second = await start(cfg.configFile, ['--start-timestamp', String(from)]);
        assert.match(second.output(), new RegExp(`"position":"${end.file}:${end.position}".*starting at the first transaction committed at or after --start-timestamp`));
        await waitForCheckpoint(conn, cfg.checkpointFile, 60_000);
        assert.equal(await second.stop(), 0, second.output());

        await verifyNoDifferences(cfg.configFile);
        const messages = await readWholeTopic(BROKER, topicOf(cfg.configFile));
        const result = await compareWithSource(conn, database, messages, workload.deletedKeys());
        assert.deepEqual(result.problems.slice(0, 10), []);
        assert.equal(result.distinct, workload.changes, 'every row change is in the topic, once');
        assert.equal(result.repeated, 0, 'the timestamp start repeats nothing of before it');
      } finally {
        await conn.end();
      }
    });

    test(`1: ${labSource.label} restarted mid-workload (a clean stop, then a crash): the sync reconnects and resumes from its checkpoint`, { timeout: 180_000 }, async () => {
      const database = await mixedTables('rs_restart');
      const cfg = config(database, ['a', 'b']);
      const sync = await start(cfg.configFile);
      const conn = new Reconnecting(() => db.admin(database));
      await conn.reopen();
      const workload = new Workload(conn as unknown as mysql.Connection, mulberry32(SEED ^ 0x1234));
      const restarts: string[] = [];
      const restartAt: [number, 'SIGTERM' | 'SIGKILL'][] = [[3_000, 'SIGTERM'], [6_000, 'SIGKILL']];
      try {
        await workload.run(9_000, 1_500, async (changes) => {
          const next = restartAt[0];
          if (!next || changes < next[0]) return;
          restartAt.shift();
          const t0 = Date.now();
          await conn.end();
          await db.restart(next[1]);
          await conn.reopen();
          await admin.end().catch(() => {});
          admin = await db.admin();
          restarts.push(`${next[1]} at ${changes} changes (down ${Date.now() - t0} ms)`);
        });
        await waitForCheckpoint(conn as unknown as mysql.Connection, cfg.checkpointFile, 90_000);
        console.log(`restarts: ${restarts.join(', ')}`);
        assert.equal(sync.proc.exitCode, null, `the sync exited:\n${tail(sync.output())}`);
        const interruptions = sync.output().split('sync interrupted; resuming from the checkpoint').length - 1;
        assert.ok(interruptions >= 2, `the sync noticed ${interruptions} restarts:\n${tail(sync.output())}`);
        assert.equal(await sync.stop(), 0, tail(sync.output()));

        await verifyNoDifferences(cfg.configFile);
        const messages = await readWholeTopic(BROKER, topicOf(cfg.configFile));
        const result = await compareWithSource(conn as unknown as mysql.Connection, database, messages, workload.deletedKeys());
        console.log(`workload ${workload.changes} row changes; records ${messages.length} (${result.repeated} repeated)`);
        assert.deepEqual(result.problems.slice(0, 10), []);
        assert.equal(result.distinct, workload.changes, 'every row change of the workload is in the topic');
      } finally {
        await conn.end();
      }
    });

    test('3: the binlog the checkpoint points into was purged: a fatal error naming the position and the recovery, never a silent skip', { timeout: 120_000 }, async () => {
      const database = uniqueName('rs_purge');
      await admin.query(`CREATE DATABASE \`${database}\``);
      await admin.query(`CREATE TABLE \`${database}\`.t (id INT PRIMARY KEY, v VARCHAR(20))`);
      const cfg = config(database, ['t']);
      const topic = topicOf(cfg.configFile);
      const conn = await db.admin(database);
      try {
        const first = await start(cfg.configFile);
        await conn.query(`INSERT INTO t VALUES ${Array.from({ length: 10 }, (_, i) => `(${i + 1}, 'before')`).join(', ')}`);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
        assert.equal(await first.stop(), 0, first.output());
        const checkpoint = JSON.parse(fs.readFileSync(cfg.checkpointFile, 'utf8')) as { binlog: { file: string; position: number } };

        // Changes the synchronizer has not read, then their binlog is purged.
        await conn.query(`INSERT INTO t VALUES ${Array.from({ length: 10 }, (_, i) => `(${i + 11}, 'unread')`).join(', ')}`);
        await conn.query('FLUSH BINARY LOGS');
        const status = await binlogEndOf(conn);
        // MariaDB keeps a file until its binlog checkpoint says crash recovery no longer needs it: retry a little.
        let warnings = '';
        for (let i = 0; ; i++) {
          await conn.query(`PURGE BINARY LOGS TO '${status.file}'`);
          const [w] = (await conn.query('SHOW WARNINGS')) as unknown as [{ Message: string }[]];
          warnings = w.map((x) => x.Message).join('; ');
          const [logs] = (await conn.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
          if (!logs.some((l) => l.Log_name === checkpoint.binlog.file)) break;
          assert.ok(i < 100, `${checkpoint.binlog.file} is not purged: ${warnings}`);
          await sleep(100);
        }

        const r = await runSyncToExit(['--config', cfg.configFile]);
        assert.equal(r.code, 2, r.output);
        const at = `${checkpoint.binlog.file}:${checkpoint.binlog.position}`.replaceAll('.', '\\.');
        assert.match(r.output, new RegExp(`\\[BINLOG_POSITION_PURGED\\]: the source no longer has binlog position ${at}`));
        assert.match(r.output, /Recover with a fresh snapshot: delete the checkpoint file and start again with mode "initial"/);
        assert.deepEqual(JSON.parse(fs.readFileSync(cfg.checkpointFile, 'utf8')).binlog, checkpoint.binlog, 'the checkpoint is left as it was');
        // The sync has exited: the topic is what it produced.
        assert.equal((await readWholeTopic(BROKER, topic)).length, 10, 'nothing was produced from a later position');
        // A start from a time the remaining binlog does not go back to is refused the same way.
        const early = await runSyncToExit(['--config', cfg.configFile, '--start-timestamp', String(Math.floor(Date.now() / 1000) - 86_400)]);
        assert.equal(early.code, 2, early.output);
        assert.match(early.output, /\[BINLOG_POSITION_PURGED\]: no binlog file on the source goes back to .*the files before it were purged/);

        // The recovery the message gives: a fresh snapshot.
        fs.rmSync(cfg.checkpointFile);
        fs.writeFileSync(cfg.configFile, fs.readFileSync(cfg.configFile, 'utf8').replace('mode: incremental', 'mode: initial'));
        const again = await start(cfg.configFile);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
        assert.equal(await again.stop(), 0, again.output());
        const report = await verifyNoDifferences(cfg.configFile);
        assert.equal(report.tables[0]!.sourceRows, 20);
      } finally {
        await conn.end();
      }
    });

    test('10: a source in Europe/Berlin across both DST changes: TIMESTAMP values are the same instants, DATETIME values the same wall-clock components', { timeout: 120_000 }, async () => {
      db.loadTimeZone('Europe/Berlin');
      await db.stop();
      await db.start(['--default-time-zone=Europe/Berlin']);
      const database = uniqueName('rs_tz');
      const conn = await db.admin();
      try {
        const [[zone]] = (await conn.query('SELECT @@GLOBAL.time_zone AS g, @@SESSION.time_zone AS s')) as unknown as [[{ g: string; s: string }]];
        assert.deepEqual(zone, { g: 'Europe/Berlin', s: 'Europe/Berlin' });
        await conn.query(`CREATE DATABASE \`${database}\``);
        await conn.query(`USE \`${database}\``);
        await conn.query('CREATE TABLE tz (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL DEFAULT NULL, ts0 TIMESTAMP NULL DEFAULT NULL, dt DATETIME(6) NULL, d DATE NULL, note VARCHAR(60))');

        // Instants in UTC around 2024-03-31 01:00 UTC (02:00 CET -> 03:00 CEST) and 2024-10-27 01:00 UTC
        // (03:00 CEST -> 02:00 CET), and DATETIMEs that do not exist, or exist twice, on Berlin's clock.
        const instants = ['2024-03-31 00:59:59.999999', '2024-03-31 01:00:00', '2024-03-31 01:30:00.5', '2024-10-27 00:30:00', '2024-10-27 00:59:59.999999',
          '2024-10-27 01:00:00', '2024-10-27 01:30:00.25', '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999'];
        // The same on Berlin's clock (the server maps them to instants; 02:30 on 27 October is
        // ambiguous, and 02:30 on 31 March does not exist, which the server refuses for a TIMESTAMP).
        const berlin = ['2024-03-31 01:59:59.999999', '2024-03-31 03:00:00', '2024-03-31 03:30:00.5', '2024-10-27 02:30:00', '2024-10-27 02:59:59.999999',
          '2024-10-27 03:00:00', '2024-10-27 01:59:59.25', '1970-01-01 01:00:01', '2038-01-19 04:14:07.999999'];
        const datetimes = ['2024-03-31 02:30:00', '2024-10-27 02:30:00.123456', '2024-10-27 02:00:00', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999'];
        const insert = async (base: number, zoneOfSession: string) => {
          await conn.query(`SET time_zone = '${zoneOfSession}'`);
          const values = zoneOfSession === '+00:00' ? instants : berlin;
          const rows = values.map((ts, i) => [base + i, ts, ts.slice(0, 19), datetimes[i % datetimes.length], ts.slice(0, 10), `${zoneOfSession} ${ts}`]);
          await conn.query('INSERT INTO tz (id, ts, ts0, dt, d, note) VALUES ?', [rows]);
        };
        // Before the synchronizer starts (its initial snapshot reads them), written as UTC and as Berlin
        // wall-clock text (which the server maps to instants itself, ambiguous hour included).
        await insert(1, '+00:00');
        await insert(21, 'Europe/Berlin');
        const cfg = config(database, ['tz'], { mode: 'initial' });
        const sync = await start(cfg.configFile);
        // After: the binlog stream.
        await insert(101, '+00:00');
        await insert(121, 'Europe/Berlin');
        await conn.query("SET time_zone = 'Europe/Berlin'");
        await conn.query('UPDATE tz SET ts = ts + INTERVAL 1 HOUR, dt = dt - INTERVAL 30 MINUTE WHERE id IN (2, 4, 102, 104, 126)');
        const streamedAt = Math.floor(Date.now() / 1000);
        await waitForCheckpoint(conn, cfg.checkpointFile, 30_000);
        assert.equal(await sync.stop(), 0, sync.output());

        // The source, read in UTC, against the last record of each row.
        await conn.query("SET time_zone = '+00:00'");
        const [rows] = (await conn.query('SELECT id, CAST(ts AS CHAR) ts, CAST(ts0 AS CHAR) ts0, CAST(dt AS CHAR) dt, CAST(d AS CHAR) d, UNIX_TIMESTAMP(ts) epoch FROM tz')) as unknown as [Record<string, string>[]];
        const messages = await readWholeTopic(BROKER, topicOf(cfg.configFile));
        const last = new Map<string, Record<string, string | null>>();
        for (const m of messages) if (m.record.operation !== 'DDL') last.set(image(m.record).id!, image(m.record));
        assert.equal(last.size, rows.length);
        for (const row of rows) {
          const got = last.get(String(row.id))!;
          const want = { ts: normaliseDatetime(row.ts!), ts0: normaliseDatetime(row.ts0!), dt: normaliseDatetime(row.dt!), d: row.d };
          assert.deepEqual({ ts: got.ts, ts0: got.ts0, dt: got.dt, d: got.d }, want, `row ${row.id} (epoch ${row.epoch})`);
        }
        // A few by hand: the UTC instants written in a UTC session come back as those instants, and
        // the DATETIME that Berlin's clock skips is kept as written.
        assert.equal(last.get('2')!.ts, '2024-03-31 02:00:00');
        assert.equal(last.get('6')!.ts, '2024-10-27 01:00:00');
        assert.equal(last.get('101')!.dt, '2024-03-31 02:30:00');
        // Commit times are UNIX time, not shifted by the source's offset (one or two hours in Berlin).
        const streamed = messages.filter((m) => Number(image(m.record).id) > 100);
        for (const m of streamed) assert.ok(Math.abs(Number(m.record.sourceTimestamp) - streamedAt) < 120, `sourceTimestamp ${m.record.sourceTimestamp} vs ${streamedAt}`);
        await verifyNoDifferences(cfg.configFile);
      } finally {
        await conn.end();
      }
    });
  });
}
