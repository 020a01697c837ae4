/**
 * What only MySQL has, on a throwaway MySQL 9.7 of this test's own (the lab's script in a
 * temporary folder, so that purging binlogs and changing global settings touch nobody
 * else): the checkpoint's executed GTID set and a resume by it after the checkpoint's own
 * binlog file was purged; and the settings a new user can get wrong, each named by the
 * precheck with its fix.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { binlogStatus } from '../../src/source/source-inspector.ts';
import { ensureLab, kafkaBrokers, uniqueName } from './lab.ts';
import { image, readTopic, runSyncToExit, startSync, writeSyncConfig } from './sync-harness.ts';
import { startThrowawaySource, type ThrowawaySource } from './throwaway-source.ts';

const broker = kafkaBrokers()[0]!.broker;
const GTID_SET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:1-\d+$/;

function line(output: string, check: string): [string, string, string | null] {
  const m = new RegExp(`^(PASS|WARN|FAIL|SKIP)  ${check} +(.*)$(?:\\n +fix: (.*)$)?`, 'm').exec(output);
  assert.ok(m, `no line for ${check} in:\n${output}`);
  return [m[1]!, m[2]!, m[3] ?? null];
}

interface Checkpoint { binlog: { file: string; position: number; gtid: string | null } }
const readCheckpoint = (file: string): Checkpoint => JSON.parse(fs.readFileSync(file, 'utf8')) as Checkpoint;

describe('MySQL 9.7 (a throwaway server): GTID checkpoints and bad settings', () => {
  let server: ThrowawaySource;
  let admin: mysql.Connection;
  const db = uniqueName('it_my');

  before(async () => {
    await ensureLab();
    server = await startThrowawaySource('mysql');
    admin = await server.admin();
    await admin.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
  });

  after(async () => {
    await admin?.end().catch(() => {});
    await server?.destroy();
  });

  const executed = async (): Promise<string> => {
    const [[r]] = (await admin.query('SELECT @@GLOBAL.gtid_executed AS g')) as unknown as [{ g: string }[]];
    return r!.g.replace(/\s+/g, '');
  };

  test('the checkpoint holds the executed GTID set, and a restart resumes by it after the checkpoint\'s binlog file was purged', { timeout: 180_000 }, async () => {
    const topic = uniqueName('it_my_gtid');
    const cfg = writeSyncConfig({ source: server.source, broker, objects: [`${db}.t`], defaultTopic: topic, mode: 'incremental' });
    let sync = await startSync(cfg.configFile);
    await admin.query(`INSERT INTO ${db}.t VALUES (1, 'a'), (2, 'b')`);
    await admin.query(`INSERT INTO ${db}.t VALUES (3, 'c')`);
    const set = await executed();
    await readTopic(broker, topic, (ms) => ms.length >= 3);
    // The checkpoint reaches the server's executed set once the broker acknowledged.
    const deadline = Date.now() + 30_000;
    while (readCheckpoint(cfg.checkpointFile).binlog.gtid !== set) {
      assert.ok(Date.now() < deadline, `checkpoint ${JSON.stringify(readCheckpoint(cfg.checkpointFile).binlog)} never reached ${set}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await sync.stop(), 0, sync.output());
    const stopped = readCheckpoint(cfg.checkpointFile).binlog;
    assert.match(stopped.gtid!, GTID_SET);

    // Changes while it is stopped, in a new file; then the checkpoint's file is purged.
    await admin.query('FLUSH BINARY LOGS');
    await admin.query(`INSERT INTO ${db}.t VALUES (4, 'd'); UPDATE ${db}.t SET v = 'a2' WHERE id = 1; DELETE FROM ${db}.t WHERE id = 2`);
    const end = await binlogStatus(admin);
    await admin.query(`PURGE BINARY LOGS TO '${end.file}'`);
    const [logs] = (await admin.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
    assert.ok(!logs.some((l) => l.Log_name === stopped.file), `${stopped.file} is still there`);

    sync = await startSync(cfg.configFile);
    assert.match(sync.output(), new RegExp(`"gtid":"${stopped.gtid}"[^\\n]*"msg":"starting binlog stream"`));
    const all = await readTopic(broker, topic, (ms) => ms.some((m) => m.record.operation === 'DELETE'));
    assert.equal(await sync.stop(), 0, sync.output());
    // Nothing lost, nothing repeated: the server sent exactly what the set lacked.
    assert.deepEqual(all.map((m) => `${m.record.operation} ${image(m.record).id}`), ['INSERT 1', 'INSERT 2', 'INSERT 3', 'INSERT 4', 'UPDATE 1', 'DELETE 2']);
    assert.equal(readCheckpoint(cfg.checkpointFile).binlog.gtid, await executed());
  });

  test('each bad setting is named by the precheck with its fix; GTIDs off warn, compression passes', { timeout: 180_000 }, async () => {
    const precheck = async (o: { user?: string; password?: string; mode?: 'initial' | 'incremental' } = {}) => {
      const cfg = writeSyncConfig({ source: server.source, broker, objects: [`${db}.t`], defaultTopic: uniqueName('it_my_pre'), mode: o.mode ?? 'incremental', user: o.user, password: o.password });
      return runSyncToExit(['--config', cfg.configFile, '--precheck']);
    };
    const seen: string[] = [];
    const expectCheck = async (setup: string, undo: string, check: string, status: string, detail: RegExp, fix: RegExp | null, code: number) => {
      await admin.query(setup);
      try {
        const r = await precheck();
        const [s, d, f] = line(r.output, check);
        seen.push(`${setup} -> ${s}  ${check} ${d}${f ? `\n    fix: ${f}` : ''}`);
        assert.equal(s, status, r.output);
        assert.match(d, detail);
        if (fix) assert.match(f ?? '', fix);
        assert.equal(r.code, code, r.output);
      } finally {
        await admin.query(undo);
      }
    };
    await expectCheck("SET GLOBAL binlog_row_metadata = 'MINIMAL'", "SET GLOBAL binlog_row_metadata = 'FULL'",
      'binlog_row_metadata', 'FAIL', /MINIMAL/, /SET GLOBAL binlog_row_metadata = 'FULL'/, 1);
    await expectCheck("SET GLOBAL binlog_row_image = 'MINIMAL'", "SET GLOBAL binlog_row_image = 'FULL'",
      'binlog_row_image', 'FAIL', /MINIMAL/, /SET GLOBAL binlog_row_image = 'FULL'/, 1);
    await expectCheck("SET GLOBAL binlog_row_value_options = 'PARTIAL_JSON'", "SET GLOBAL binlog_row_value_options = ''",
      'binlog_row_value_options', 'FAIL', /PARTIAL_JSON/, /SET GLOBAL binlog_row_value_options = ''/, 1);
    await expectCheck('SET GLOBAL binlog_transaction_compression = ON', 'SET GLOBAL binlog_transaction_compression = OFF',
      'binlog_transaction_compression', 'PASS', /^ON: compressed transactions .* are decompressed/, null, 0);
    await expectCheck("SET GLOBAL gtid_mode = 'ON_PERMISSIVE'; SET GLOBAL gtid_mode = 'OFF_PERMISSIVE'; SET GLOBAL gtid_mode = 'OFF'",
      "SET GLOBAL gtid_mode = 'OFF_PERMISSIVE'; SET GLOBAL gtid_mode = 'ON_PERMISSIVE'; SET GLOBAL gtid_mode = 'ON'",
      'gtid_mode', 'WARN', /gtid_mode is OFF/, /SET GLOBAL gtid_mode = ON/, 0);

    // A user without BACKUP_ADMIN or RELOAD: fine for mode incremental, refused for an initial sync.
    const user = uniqueName('it_nobackup');
    await admin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw_${user}'; GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${user}'@'127.0.0.1'`);
    const incremental = await precheck({ user, password: `pw_${user}`, mode: 'incremental' });
    assert.equal(line(incremental.output, 'privileges')[0], 'PASS', incremental.output);
    const initial = await precheck({ user, password: `pw_${user}`, mode: 'initial' });
    const [s, d, f] = line(initial.output, 'privileges');
    seen.push(`a user without BACKUP_ADMIN, mode initial -> ${s}  privileges ${d}\n    fix: ${f}`);
    assert.equal(s, 'FAIL', initial.output);
    assert.match(d, /lacks BACKUP_ADMIN \(the initial sync reads its consistent binlog position from performance_schema\.log_status/);
    assert.equal(f, `as an administrator run: GRANT BACKUP_ADMIN ON *.* TO '${user}'@'127.0.0.1';`);
    assert.equal(initial.code, 1);
    console.log(seen.join('\n'));
  });
});
