/**
 * The election (src/ha/election.ts) against each real broker of the lab (Kafka 3.9 in KRaft
 * mode, Kafka 1.0.2 with ZooKeeper). Each member is a child process (this file, run with
 * HA_ELECTION_CHILD set), so that one can be SIGKILLed or SIGSTOPped like a real instance.
 * A child prints one JSON line per thing that happens: its role changes, its election's log
 * lines (a `joined` line per assignment, saying whether it owns partition 0), a change of
 * `holdsLease()`, and, when its 25 ms probe finds the process was stopped, a `resumed` line;
 * every line carries `holds`, `holdsLease()` when it was printed. The tests wait on these
 * lines, never on time.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Election, type Role } from '../../src/ha/election.ts';
import type { SinkLogger } from '../../src/sink/kafkajs-log.ts';
import { ensureLab, kafkaBrokers, labPorts, uniqueName } from './lab.ts';

const SESSION_TIMEOUT_MS = 6_000;

interface ChildConfig {
  broker: string;
  groupId: string;
  topic: string;
  name: string;
  startedAt: string;
}

/** A member of the election, in its own process: prints JSON lines, takes `stop` and `who` on stdin. */
async function runChild(c: ChildConfig): Promise<void> {
  let election: Election | null = null;
  const print = (line: Record<string, unknown>) => {
    const holds = election?.holdsLease() ?? false;
    process.stdout.write(`${JSON.stringify({ ...line, holds, mono: Math.round(performance.now()) })}\n`);
  };
  const at = (level: string) => (obj: object, msg?: string) => print({ t: 'log', level, msg, ...obj });
  const logger: SinkLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  election = new Election({
    connection: { brokers: [c.broker], clientId: `it-ha-${c.name}`, logger, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 } },
    groupId: c.groupId,
    topic: c.topic,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    identity: { host: c.name, pid: process.pid, startedAt: c.startedAt },
    logger,
  });
  const e = election;
  e.onRoleChange((role, why) => print({ t: 'role', role, why }));
  let holds = false;
  let last = performance.now();
  setInterval(() => {
    // The first thing this tick does after a stop is ask for the lease, before printing anything.
    const now = performance.now();
    const h = e.holdsLease();
    if (now - last > SESSION_TIMEOUT_MS / 2) print({ t: 'resumed', gapMs: Math.round(now - last), lastTick: Math.round(last), holdsAtResume: h, role: e.role });
    if (h !== holds) print({ t: 'lease', value: h });
    holds = h;
    last = now;
  }, 25);
  readline.createInterface({ input: process.stdin }).on('line', (cmd) => {
    if (cmd === 'who') {
      // A standby learns the active one's identity from the coordinator just after its join.
      const deadline = performance.now() + 10_000;
      const answer = () => {
        if (e.activeIdentity === null && performance.now() < deadline) setTimeout(answer, 50);
        else print({ t: 'who', active: e.activeIdentity });
      };
      answer();
    }
    if (cmd === 'block past the lease') {
      // The event loop held, as by a long synchronous job (no heartbeat, no timer, no I/O
      // callback), until 300 ms after the lease ends: holdsLease(now + d) tells how long it has left.
      const start = performance.now();
      let left = 0;
      while (left < 10_000 && e.holdsLease(start + left + 10)) left += 10;
      while (performance.now() < start + left + 300);
      print({ t: 'unblocked', leaseLeftMs: left, role: e.role });
    }
    if (cmd === 'stop') {
      void e.stop().then(() => {
        print({ t: 'stopped' });
        process.exit(0);
      });
    }
  });
  await e.start();
  print({ t: 'started', role: e.role });
}

if (process.env.HA_ELECTION_CHILD) {
  await runChild(JSON.parse(process.env.HA_ELECTION_CHILD) as ChildConfig);
} else {
  defineTests();
}

interface Line {
  t: string;
  holds: boolean;
  role?: Role;
  msg?: string;
  owns?: boolean;
  [key: string]: unknown;
}

class Member {
  readonly lines: Line[] = [];
  private text = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<void>;

  constructor(readonly name: string, readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.text += `${l}\n`;
      try {
        this.lines.push(JSON.parse(l) as Line);
      } catch {
        return;
      }
      for (const w of this.waiters) w();
    });
    proc.stderr!.on('data', (d) => { this.text += d; });
    this.exited = new Promise((resolve) => proc.on('exit', () => { resolve(); for (const w of this.waiters) w(); }));
  }

  /** The first line from index `from` on that matches; fails when the member exits or nothing comes within `ms`. */
  waitFor(pred: (l: Line) => boolean, what: string, ms = 60_000, from = 0): Promise<{ line: Line; index: number; at: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.lines.findIndex((l, i) => i >= from && pred(l));
        if (index >= 0) {
          done();
          resolve({ line: this.lines[index]!, index, at: performance.now() });
        } else if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          done();
          reject(new Error(`${this.name} exited before ${what}:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: no ${what} within ${ms} ms:\n${this.tail()}`)); }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  role(): Role | undefined {
    return this.lines.filter((l) => l.t === 'role').at(-1)?.role;
  }

  roleChanges(from = 0): Line[] {
    return this.lines.slice(from).filter((l) => l.t === 'role');
  }

  send(cmd: string): void {
    this.proc.stdin!.write(`${cmd}\n`);
  }

  tail(n = 30): string {
    return this.text.split('\n').slice(-n).join('\n');
  }
}

const isJoined = (owns: boolean) => (l: Line) => l.t === 'log' && l.msg === 'election: joined the group' && l.owns === owns;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function defineTests(): void {
  const members: Member[] = [];

  before(async () => {
    // Only Kafka is needed: when both brokers answer, the lab (or whoever runs it) is left alone.
    const p = labPorts();
    if (!((await portOpen(p.KAFKA39_PORT)) && (await portOpen(p.KAFKA10_PORT)))) await ensureLab({ kafka: true });
  });

  after(async () => {
    for (const m of members) {
      if (m.proc.exitCode === null && m.proc.signalCode === null) {
        m.proc.kill('SIGCONT');
        m.proc.kill('SIGKILL');
      }
    }
    await Promise.all(members.map((m) => m.exited));
  });

  for (const { version, broker } of kafkaBrokers()) {
    describe(`election on kafka ${version} (${broker})`, { timeout: 180_000 }, () => {
      const kafka = new kafkajs.Kafka({ clientId: 'it-ha-admin', brokers: [broker], logLevel: kafkajs.logLevel.NOTHING });
      const admin = kafka.admin();
      const topics: string[] = [];

      before(async () => {
        await admin.connect();
      });
      after(async () => {
        await admin.deleteTopics({ topics }).catch(() => {});
        await admin.disconnect();
      });

      /** A fresh group and a one-partition topic, as the checkpoint topic is. */
      async function newElection(): Promise<{ groupId: string; topic: string }> {
        const topic = uniqueName('it_ha_election');
        topics.push(topic);
        await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
        return { groupId: uniqueName('it-ha-group'), topic };
      }

      function startMember(g: { groupId: string; topic: string }, name: string, startedAt: string): Member {
        const config: ChildConfig = { broker, ...g, name, startedAt };
        const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, FORCE_COLOR: '0', HA_ELECTION_CHILD: JSON.stringify(config) },
        });
        const m = new Member(name, proc);
        members.push(m);
        return m;
      }

      /** a, started first, active; b standby. b claims an earlier start, so only stickiness keeps a active. */
      async function activeAndStandby(g: { groupId: string; topic: string }): Promise<{ a: Member; b: Member }> {
        const a = startMember(g, 'a', '2024-06-01T00:00:00.000Z');
        await a.waitFor((l) => l.t === 'started', 'start');
        assert.equal(a.role(), 'active', 'the only member is active');
        const b = startMember(g, 'b', '2024-01-01T00:00:00.000Z');
        const started = await b.waitFor((l) => l.t === 'started', 'start');
        assert.equal(started.line.role, 'standby', 'a member joining an active group stands by, however long it has run');
        await a.waitFor(isJoined(true), 'a keeping partition 0 in the rebalance b caused', 30_000, a.lines.findIndex(isJoined(true)) + 1);
        assert.equal(a.role(), 'active');
        assert.deepEqual(a.roleChanges().map((l) => l.role), ['active'], 'a never stood by');
        return { a, b };
      }

      test('exactly one active; a third member joining does not move it; stop() of the active hands over at once', async (t) => {
        const g = await newElection();
        const { a, b } = await activeAndStandby(g);
        await a.waitFor((l) => l.t === 'lease' && l.value === true, 'a holding its lease');
        assert.equal(b.lines.some((l) => l.holds), false, 'a standby never holds a lease');

        // A standby knows who is active (for its logs and /readyz).
        b.send('who');
        const who = await b.waitFor((l) => l.t === 'who', 'who');
        assert.equal((who.line.active as { host?: string } | null)?.host, 'a');

        const aBefore = a.lines.length;
        const bBefore = b.lines.length;
        const c = startMember(g, 'c', '2023-01-01T00:00:00.000Z');
        const cStarted = await c.waitFor((l) => l.t === 'started', 'start');
        assert.equal(cStarted.line.role, 'standby');
        // The rebalance c caused is over for a and b too: each printed its assignment in it.
        await a.waitFor(isJoined(true), 'a keeping partition 0 when c joined', 30_000, aBefore);
        const bWithC = await b.waitFor(isJoined(false), 'b staying standby when c joined', 30_000, bBefore);
        assert.deepEqual(a.roleChanges(aBefore), [], 'a third member joining changed nothing for the active one');
        assert.deepEqual(b.roleChanges(bBefore), []);

        const t0 = performance.now();
        a.send('stop');
        const aStopped = await a.waitFor((l) => l.t === 'role' && l.role === 'stopped', 'role stopped');
        assert.equal(aStopped.line.holds, false, 'no lease once stopping');
        // c claims the earliest start: with no active member left, the longest-running one takes over.
        const cActive = await c.waitFor((l) => l.t === 'role' && l.role === 'active', 'takeover');
        const ms = Math.round(cActive.at - t0);
        t.diagnostic(`kafka ${version}: stop() of the active → c active after ${ms} ms`);
        assert.ok(ms < SESSION_TIMEOUT_MS, `took ${ms} ms: the leave did not reach the coordinator, the session timed out`);
        await b.waitFor(isJoined(false), 'b standby after a left', 30_000, bWithC.index + 1);
        assert.notEqual(b.role(), 'active');
        await a.exited;
      });

      test('the active one SIGKILLed: the standby takes over within the session timeout + 5 s', async (t) => {
        const g = await newElection();
        const { a, b } = await activeAndStandby(g);
        const t0 = performance.now();
        a.proc.kill('SIGKILL');
        const bActive = await b.waitFor((l) => l.t === 'role' && l.role === 'active', 'takeover', SESSION_TIMEOUT_MS + 20_000);
        const ms = Math.round(bActive.at - t0);
        t.diagnostic(`kafka ${version}: SIGKILL of the active → b active after ${ms} ms (session ${SESSION_TIMEOUT_MS} ms)`);
        assert.ok(ms <= SESSION_TIMEOUT_MS + 5_000, `took ${ms} ms`);
        assert.equal(bActive.line.holds, true, 'the new active one holds its lease as it becomes active');
      });

      test('the active one SIGSTOPped past the session: the standby takes over; resumed, the old one holds no lease at once and stands by', async (t) => {
        const g = await newElection();
        const { a, b } = await activeAndStandby(g);
        await a.waitFor((l) => l.t === 'lease' && l.value === true, 'a holding its lease');
        const t0 = performance.now();
        a.proc.kill('SIGSTOP');
        const aStoppedAt = a.lines.length;
        const bActive = await b.waitFor((l) => l.t === 'role' && l.role === 'active', 'takeover while a is stopped', SESSION_TIMEOUT_MS + 20_000);
        const ms = Math.round(bActive.at - t0);
        t.diagnostic(`kafka ${version}: SIGSTOP of the active → b active after ${ms} ms`);
        assert.ok(ms <= SESSION_TIMEOUT_MS + 5_000, `took ${ms} ms`);
        const bActiveIndex = bActive.index;

        a.proc.kill('SIGCONT');
        const resumed = await a.waitFor((l) => l.t === 'resumed', 'resumed', 30_000, aStoppedAt);
        assert.equal(resumed.line.holdsAtResume, false, 'the first lease check after the stop says no');
        assert.equal(resumed.line.role, 'standby', 'and the role reads standby at once');
        await a.waitFor((l) => l.t === 'role' && l.role === 'standby', 'a standing by', 30_000, aStoppedAt);
        // kafkajs finds it was expired (UNKNOWN_MEMBER_ID) and joins again: as a standby, since b is active.
        await a.waitFor(isJoined(false), 'a rejoining as a standby', 30_000, aStoppedAt);
        await b.waitFor(isJoined(true), 'b keeping partition 0 when a rejoined', 30_000, bActiveIndex);
        // Lines printed after the stop (one printed just before it may be read after it: told apart by a's own clock).
        const afterResume = a.lines.slice(aStoppedAt).filter((l) => (l.mono as number) > (resumed.line.lastTick as number) + 1_000);
        assert.ok(afterResume.length >= 3);
        assert.deepEqual(afterResume.filter((l) => l.holds), [], 'the resumed member never held a lease again');
        assert.deepEqual(afterResume.filter((l) => l.t === 'role' && l.role === 'active'), []);
        assert.deepEqual(b.roleChanges(bActiveIndex + 1), [], 'b stayed active');
        t.diagnostic(`a after the resume: ${afterResume.map((l) => `${l.t}${l.role ? `=${l.role}` : ''}${l.msg ? `(${l.msg})` : ''}`).join(', ')}`);
      });

      test('the active one stalled past its lease but within the session: no lease at once, standby, then active again; the standby stays standby', async (t) => {
        const g = await newElection();
        const { a, b } = await activeAndStandby(g);
        await a.waitFor((l) => l.t === 'lease' && l.value === true, 'a holding its lease');
        const from = a.lines.length;
        const bFrom = b.lines.length;
        // Past the lease (at most session - margin = 4 s from a moment before the broker last
        // heard from a) by 300 ms, so within the session: the broker still counts a in.
        a.send('block past the lease');
        const unblocked = await a.waitFor((l) => l.t === 'unblocked', 'unblocked', 30_000, from);
        assert.equal(unblocked.line.role, 'standby');
        const left = unblocked.line.leaseLeftMs as number;
        assert.ok(left > 0 && left <= SESSION_TIMEOUT_MS - 2_000, `lease left when blocked: ${left} ms`);
        const standby = await a.waitFor((l) => l.t === 'role' && l.role === 'standby', 'standby', 30_000, from);
        assert.equal(standby.line.holds, false);
        // Still the owner of partition 0 in the same generation: a later heartbeat proves it, and a is active again.
        const back = await a.waitFor((l) => l.t === 'role' && l.role === 'active', 'active again', 30_000, standby.index);
        assert.equal(back.line.holds, true);
        assert.deepEqual(a.lines.slice(from).filter(isJoined(false)), [], 'a never lost partition 0');
        assert.deepEqual(b.roleChanges(bFrom), [], 'b never became active');
        t.diagnostic(`kafka ${version}: lease left when the stall began ${left} ms; active again ${Math.round((back.line.mono as number) - (standby.line.mono as number))} ms after standing by`);
      });
    });
  }
}
