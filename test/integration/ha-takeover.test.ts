/**
 * Active/standby on one config (checkpoint.store kafka, issue 18): two `sync` processes of
 * one task; the active one is SIGKILLed five times during a 50,000-row mixed workload, and
 * each time the other takes over within the session timeout + 5 s, resuming from the
 * checkpoint in Kafka. The killed one is started again and stands by. At the end no row is
 * lost, every row change is in Kafka, and record ids only grow across the takeovers.
 *
 * Then a paused active instance: SIGSTOPped past its session, the standby takes over; once
 * SIGCONTed, the paused one produces nothing more (its lease ran out while it was stopped)
 * and stands by.
 *
 * MariaDB with Kafka 1.0.2 (ZooKeeper, the old protocol), MySQL with Kafka 3.9 (KRaft).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HaLab, SESSION_TIMEOUT_MS } from './ha-harness.ts';
import { ensureLab, kafkaBrokers, type LabSource, labSources, uniqueName } from './lab.ts';
import { compareWithSource, readWholeTopic } from './mixed-workload.ts';
import { writeOpsConfig } from './ops-harness.ts';
import { tail } from './sync-harness.ts';

const TOTAL_CHANGES = 50_000;
const KILLS = 5;
const RATE = 1_000;
const SEED = Number(process.env.HA_SEED ?? Math.floor(Math.random() * 2 ** 31));

before(async () => {
  await ensureLab({ kafka: true });
});

const brokerFor = (source: LabSource) => kafkaBrokers().find((b) => b.version === (source.kind === 'mariadb' ? '1.0' : '3.9'))!;

for (const source of labSources()) {
  const kafka = brokerFor(source);
  describe(`active/standby on ${source.label} and Kafka ${kafka.version}`, () => {
    const lab = new HaLab(source, kafka.broker);
    const setup = (prefix: string) => lab.setup(prefix);
    const start = (configFile: string, readyText: string | null) => lab.start(configFile, readyText);
    before(() => lab.open());
    after(() => lab.close());

    test(`the standby takes over each of ${KILLS} SIGKILLs of the active one within the session timeout + 5 s; no row lost`, { timeout: 420_000 }, async () => {
      console.log(`ha-takeover seed on ${source.label}: ${SEED} (HA_SEED=${SEED} replays it)`);
      const { db, conn, task, cpTopic, cfg } = await setup('it_ha');
      try {
        const { workload, takeovers } = await lab.killActiveDuringWorkload({ conn, configFile: cfg.configFile, cpTopic, task, seed: SEED, kills: KILLS, total: TOTAL_CHANGES, rate: RATE });
        console.log(`${source.label}: ${workload.changes} row changes; takeovers after SIGKILL in ms: ${takeovers.join(', ')} (session timeout ${SESSION_TIMEOUT_MS})`);
        const messages = await readWholeTopic(kafka.broker, db);
        for (let i = 1; i < messages.length; i++) {
          assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}`);
        }
        const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
        console.log(`records in Kafka: ${messages.length}; repeated: ${result.repeated}; keys checked: ${result.keysChecked}; lost: ${result.lost}`);
        assert.deepEqual(result.problems.slice(0, 20), [], `${result.problems.length} keys differ from the source`);
        assert.equal(result.lost, 0);
        assert.equal(result.distinct, workload.changes, 'every row change of the workload is in Kafka');
      } finally {
        await conn.end().catch(() => {});
      }
    });

    test('a paused active instance, resumed after the takeover, produces nothing more and stands by', { timeout: 180_000 }, async () => {
      const { db, conn, cfg } = await setup('it_ha_stop');
      try {
        const { paused, workload } = await lab.pauseActiveDuringWorkload(conn, cfg.configFile, SEED);
        const messages = await readWholeTopic(kafka.broker, db);
        // Every record after the takeover came from the new active one: ids only grow (the
        // paused one's would be lower: its id block was reserved before the new one's).
        for (let i = 1; i < messages.length; i++) {
          assert.ok(messages[i]!.record.id > messages[i - 1]!.record.id, `record id ${messages[i]!.record.id} at offset ${messages[i]!.offset} follows id ${messages[i - 1]!.record.id}: the paused instance produced after the takeover`);
        }
        const result = await compareWithSource(conn, db, messages, workload.deletedKeys());
        assert.equal(result.lost, 0);
        assert.match(paused.output(), /membership lease ran out|no longer the active one/);
      } finally {
        await conn.end().catch(() => {});
      }
    });

    test('a second config sharing the task name is refused; a checkpoint topic without compaction is warned about', { timeout: 120_000 }, async () => {
      const { db, conn, cfg, task, cpTopic } = await setup('it_ha_conflict');
      await conn.end();
      const first = await start(cfg.configFile, 'starting binlog stream');
      // The same task and checkpoint topic, another mode: not the same job.
      const other = writeOpsConfig({ broker: kafka.broker, objects: [`${db}.a`], defaultTopic: db, source, mode: 'initial' }, (doc) => {
        doc.checkpoint = { ...doc.checkpoint, store: 'kafka', task, topic: cpTopic, sessionTimeoutMs: SESSION_TIMEOUT_MS };
      });
      lab.dirs.push(other.dir);
      const second = await start(other.configFile, null);
      const code = await second.exited;
      assert.equal(code, 2, tail(second.output()));
      assert.match(second.output(), new RegExp(`CONFIG_INVALID\\]: the active instance of task ${task} \\(pid ${first.proc.pid} on [^)]+\\) runs with another config.*give this one its own checkpoint.task`));
      assert.equal(first.proc.exitCode, null, 'the active one runs on');
      assert.equal(await first.stop(), 0, tail(first.output()));

      // A checkpoint topic made by hand without compaction: the start says so, and how to fix it.
      const plain = uniqueName('it_ha_plain');
      const { Kafka, logLevel } = await import('kafkajs');
      const kadmin = new Kafka({ clientId: 'ha-test', brokers: [kafka.broker], logLevel: logLevel.NOTHING }).admin();
      await kadmin.connect();
      try {
        await kadmin.createTopics({ topics: [{ topic: plain, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }], waitForLeaders: true });
      } finally {
        await kadmin.disconnect();
      }
      const warned = writeOpsConfig({ broker: kafka.broker, objects: [`${db}.a`], defaultTopic: `${db}_plain`, source }, (doc) => {
        doc.checkpoint = { ...doc.checkpoint, store: 'kafka', task: uniqueName('task'), topic: plain, sessionTimeoutMs: SESSION_TIMEOUT_MS };
      });
      lab.dirs.push(warned.dir);
      const third = await start(warned.configFile, 'starting binlog stream');
      assert.match(third.output(), new RegExp(`${plain}.*cleanup.policy=compact`));
      assert.equal(await third.stop(), 0, tail(third.output()));
    });
  });
}
