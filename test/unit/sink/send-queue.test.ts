/**
 * The sink's ordered send queue (send-queue.ts) against a fake producer: one produce request
 * at a time in call order, nothing after a failure, no sends until started again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSyncError, SyncError } from '../../../src/errors.ts';
import type { ProduceRound, TopicLimits } from '../../../src/sink/produce-plan.ts';
import { type RoundProducer, SendQueue, type SendQueueOptions } from '../../../src/sink/send-queue.ts';
import type { SinkMessage, SinkObserver } from '../../../src/sink/sink.ts';

/** A record whose value names its send and its place in it, e.g. `A3`. */
function msg(send: string, i: number, partition = 0, topic = 't'): SinkMessage {
  return { topic, partition, key: null, value: Buffer.from(`${send}${i}`), timestamp: '1700000000000' };
}
function batch(send: string, n: number, partitions = 1, topic = 't'): SinkMessage[] {
  return Array.from({ length: n }, (_, i) => msg(send, i, i % partitions, topic));
}
const labels = (round: ProduceRound) => round.topicMessages.flatMap((t) => t.messages.map((m) => m.value.toString()));

/**
 * Records every round it is given and answers each after a random few milliseconds (so that,
 * were two requests in flight at once, they could finish out of order), or as `answer` says.
 */
class FakeProducer implements RoundProducer {
  readonly rounds: string[][] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly answer: (n: number, round: ProduceRound) => SyncError | null = () => null) {}

  async sendRound(round: ProduceRound): Promise<void> {
    const n = this.rounds.length;
    this.rounds.push(labels(round));
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
      const error = this.answer(n, round);
      if (error !== null) throw error;
    } finally {
      this.inFlight--;
    }
  }
  /** Every record it was given, in order. */
  get sent(): string[] {
    return this.rounds.flat();
  }
}

function observer(): SinkObserver & { log: string[] } {
  const log: string[] = [];
  const first = (messages: readonly SinkMessage[]) => messages[0]?.value.toString()[0] ?? '-';
  return {
    log,
    sending: (m) => log.push(`sending ${first(m)}`),
    settled: (m, e) => log.push(`settled ${first(m)} ${e === null ? 'ok' : e.code}`),
    connection: (up) => log.push(`connection ${up}`),
  };
}

function queue(extra: Partial<SendQueueOptions> = {}, limits: Record<string, TopicLimits> = { t: { partitions: 4, maxMessageBytes: 1 << 20 } }): SendQueue {
  return new SendQueue({
    // Small requests, so that a send is several rounds (produce requests).
    plan: { maxRecordBytes: 100, maxBatchRecords: 3, maxRequestBytes: 1 << 20, limits: (t) => limits[t] },
    learnTopics: async () => {},
    target: 'fake:9092',
    toSyncError: (e, doing) => new SyncError('KAFKA_UNREACHABLE', `${doing}: ${String(e)}`),
    ...extra,
  });
}

const unreachable = () => new SyncError('KAFKA_UNREACHABLE', 'the broker went away', { retriable: true });

async function rejection(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSyncError(e), `expected a SyncError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('concurrent sends go out one request at a time, in call order, and settle in call order', async () => {
  const q = queue();
  const producer = new FakeProducer();
  q.start(producer);
  const sends = ['A', 'B', 'C', 'D', 'E'].map((s, i) => batch(s, 2 + i * 3, 2));
  const settled: string[] = [];
  // Not awaited in between: the queue keeps the order.
  await Promise.all(sends.map((b) => q.send(b).then(() => settled.push(b[0]!.value.toString()[0]!))));
  assert.equal(producer.maxInFlight, 1, 'two produce requests were in flight at once');
  assert.ok(producer.rounds.length > sends.length, 'sends of several rounds each');
  const records = sends.flat().map((m) => m.value.toString());
  assert.deepEqual([...producer.sent].sort(), [...records].sort(), 'every record once');
  assert.deepEqual(producer.sent.map((l) => l[0]), records.map((l) => l[0]), 'all of a send before anything of the next');
  // Within a send, a partition's records keep their order (a send's rounds go in order too).
  for (const b of sends) {
    for (const p of [0, 1]) {
      const want = b.filter((m) => m.partition === p).map((m) => m.value.toString());
      const got = producer.sent.filter((l) => want.includes(l));
      assert.deepEqual(got, want);
    }
  }
  assert.deepEqual(settled, ['A', 'B', 'C', 'D', 'E']);
});

test('a failed send rejects with its error, and every send after it rejects without anything of it sent', async () => {
  // Sends of 7 records are 3 rounds each (3, 3, 1): A's go out, then B's second fails (the producer's retries spent).
  let bRounds = 0;
  const producer = new FakeProducer((_, round) => (labels(round)[0]!.startsWith('B') && ++bRounds === 2 ? unreachable() : null));
  const failAt = 4;
  const obs = observer();
  const q = queue({ observer: obs });
  q.start(producer);
  const results = await Promise.allSettled(['A', 'B', 'C', 'D'].map((s) => q.send(batch(s, 7))));
  assert.equal(results[0]!.status, 'fulfilled', 'a send before the failure is not affected');
  const [b, c, d] = results.slice(1).map((r) => {
    assert.equal(r.status, 'rejected');
    return (r as PromiseRejectedResult).reason as SyncError;
  });
  assert.equal(b!.message, 'the broker went away');
  for (const later of [c!, d!]) {
    assert.equal(later.code, 'KAFKA_UNREACHABLE');
    assert.equal(later.retriable, true, 'as retriable as the failure it follows');
    assert.match(later.message, /not sent, because an earlier send failed .*the broker went away/);
  }
  assert.equal(producer.rounds.length, failAt + 1, 'no request after the failed one');
  assert.ok(!producer.sent.some((l) => l.startsWith('C') || l.startsWith('D')), 'nothing of C or D was sent');
  assert.ok(!producer.sent.some((l) => l === 'B6'), "B's rounds after the failed one were not sent");
  // A send issued after the failure is refused at once, without being queued.
  const e = await rejection(q.send(batch('E', 1)));
  assert.match(e.message, /not sent, because an earlier send failed/);
  assert.equal(producer.rounds.length, failAt + 1);
  assert.equal(q.accepting, false);
  assert.deepEqual(obs.log, ['sending A', 'sending B', 'sending C', 'sending D', 'settled A ok', 'connection false', 'settled B KAFKA_UNREACHABLE', 'settled C KAFKA_UNREACHABLE', 'settled D KAFKA_UNREACHABLE']);
});

test('a send refused when planned (a record too large) fails alone: the sends before it still go, none after it', async () => {
  const producer = new FakeProducer();
  const q = queue();
  q.start(producer);
  const a = q.send(batch('A', 4));
  const big = { ...msg('B', 0), value: Buffer.alloc(101) };
  const b = rejection(q.send([msg('B', 1), big]));
  const c = rejection(q.send(batch('C', 1)));
  await a;
  assert.equal((await b).code, 'RECORD_TOO_LARGE');
  assert.match((await c).message, /not sent, because an earlier send failed/);
  assert.deepEqual(producer.sent, ['A0', 'A1', 'A2', 'A3']);
});

test('no send before start; after a failure none until started again, and then only to the new producer', async () => {
  const q = queue();
  const notConnected = await rejection(q.send(batch('X', 1)));
  assert.equal(notConnected.code, 'KAFKA_UNREACHABLE');
  assert.match(notConnected.message, /not connected to fake:9092; call connect\(\) first/);

  const first = new FakeProducer(() => unreachable());
  q.start(first);
  assert.equal(q.accepting, true);
  const failed = Promise.allSettled([q.send(batch('A', 1)), q.send(batch('B', 1))]);
  await q.settled();
  await failed;
  assert.equal((await rejection(q.send(batch('C', 1)))).code, 'KAFKA_UNREACHABLE');

  const second = new FakeProducer();
  q.start(second);
  await q.send(batch('D', 2));
  assert.deepEqual(first.sent, ['A0']);
  assert.deepEqual(second.sent, ['D0', 'D1']);
});

test('settled() waits for every queued send; stop() fails the sends that have not gone out yet', async () => {
  const producer = new FakeProducer();
  const q = queue();
  q.start(producer);
  const a = q.send(batch('A', 1));
  const b = q.send(batch('B', 1));
  let done = false;
  const idle = q.settled().then(() => (done = true));
  await a;
  assert.equal(done, false, 'settled() before the last send settled');
  await b;
  await idle;

  const c = q.send(batch('C', 1)); // queued: its turn comes after the stop
  assert.equal(q.stop(), producer);
  const e = await rejection(c);
  assert.match(e.message, /disconnected from fake:9092 before this send/);
  assert.deepEqual(producer.sent, ['A0', 'B0']);
});

test('topics the plan does not know are learnt first, then the send is planned again with their limits', async () => {
  const limits: Record<string, TopicLimits> = {};
  const learnt: string[][] = [];
  const learnTopics = async (topics: string[]): Promise<void> => {
    learnt.push(topics);
    limits.u = { partitions: 2, maxMessageBytes: 1 << 20 };
  };
  const q = queue({ learnTopics }, limits);
  const producer = new FakeProducer();
  q.start(producer);
  // Unknown, partition 5 passes the first plan; learnt, the topic has 2 partitions: refused before anything is sent.
  const e = await rejection(q.send([msg('A', 0, 1, 'u'), msg('A', 1, 5, 'u')]));
  assert.equal(e.code, 'KAFKA_TOPIC_MISSING');
  assert.match(e.message, /topic u has no partition 5 \(it has partitions 0 to 1\)/);
  assert.deepEqual(learnt, [['u']]);
  assert.deepEqual(producer.sent, []);
  // Known now: planned with its limits at once, nothing more to learn.
  q.start(producer);
  await q.send(batch('B', 2, 2, 'u'));
  assert.deepEqual(learnt, [['u']]);
  assert.deepEqual(producer.sent, ['B0', 'B1']);
});

test('the fence is asked before every produce request: once it answers an error, no request goes out and the send fails with it', async () => {
  const producer = new FakeProducer();
  let lease = true;
  const q = queue({ fence: () => (lease ? null : new SyncError('NOT_ACTIVE', 'the election lease ran out')) });
  q.start(producer);
  // A's third round (of 3, 3, 1) finds the lease gone: its first two went out, nothing after.
  const sent = q.send(batch('A', 7));
  const later = q.send(batch('B', 1));
  const fenceAfter = 2;
  const originalSend = producer.sendRound.bind(producer);
  producer.sendRound = async (round) => {
    await originalSend(round);
    if (producer.rounds.length >= fenceAfter) lease = false;
  };
  const e = await rejection(sent);
  assert.equal(e.code, 'NOT_ACTIVE');
  assert.equal(producer.rounds.length, fenceAfter);
  assert.deepEqual(producer.sent, ['A0', 'A1', 'A2', 'A3', 'A4', 'A5']);
  assert.match((await rejection(later)).message, /not sent, because an earlier send failed .*lease ran out/);
  assert.equal(q.accepting, false);
});

/** A transactional fake: `commit()` is recorded among the rounds as `COMMIT`. */
class FakeTransactionalProducer extends FakeProducer {
  commitAnswer: () => SyncError | null = () => null;
  async commit(): Promise<void> {
    this.rounds.push(['COMMIT']);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
    const error = this.commitAnswer();
    if (error !== null) throw error;
  }
}

test('a commit goes after every send before it and before every send after it, its closing records last in the transaction', async () => {
  const q = queue();
  const producer = new FakeTransactionalProducer();
  q.start(producer);
  const acked: string[] = [];
  const a = q.send(batch('A', 5)).then(() => acked.push('A'));
  const b = q.send(batch('B', 2)).then(() => acked.push('B'));
  // What closes the transaction is asked only once the callbacks chained on A and B ran.
  let seenAtCommit: string[] = [];
  const committed = q.commit(() => {
    seenAtCommit = [...acked];
    return [msg('K', 0)];
  });
  const c = q.send(batch('C', 1));
  await Promise.all([a, b, committed, c]);
  assert.deepEqual(seenAtCommit, ['A', 'B']);
  assert.deepEqual(producer.sent, ['A0', 'A1', 'A2', 'A3', 'A4', 'B0', 'B1', 'K0', 'COMMIT', 'C0']);
  assert.equal(producer.maxInFlight, 1);
});

test('a commit with nothing to add commits; after a failed send the commit is not made, nor anything after it', async () => {
  const producer = new FakeTransactionalProducer((n) => (n === 1 ? unreachable() : null));
  const q = queue();
  q.start(producer);
  await q.commit(() => []);
  assert.deepEqual(producer.sent, ['COMMIT']);
  const a = q.send(batch('A', 2));
  const b = q.send(batch('B', 1));
  let asked = false;
  const committed = q.commit(() => {
    asked = true;
    return [msg('K', 0)];
  });
  assert.equal((await rejection(a)).code, 'KAFKA_UNREACHABLE');
  assert.match((await rejection(b)).message, /not sent, because an earlier send failed/);
  assert.match((await rejection(committed)).message, /not sent, because an earlier send failed/);
  assert.equal(asked, false);
  assert.deepEqual(producer.sent, ['COMMIT', 'A0', 'A1']);
});

test('a failed commit fails the sends after it unsent; the fence is asked before the commit too', async () => {
  const producer = new FakeTransactionalProducer();
  producer.commitAnswer = () => new SyncError('NOT_ACTIVE', 'fenced by the broker: another producer of this transactional id');
  const q = queue();
  q.start(producer);
  const committed = q.commit(() => []);
  const after = q.send(batch('A', 1));
  assert.equal((await rejection(committed)).code, 'NOT_ACTIVE');
  assert.match((await rejection(after)).message, /not sent/);
  assert.deepEqual(producer.sent, ['COMMIT']);

  let lease = true;
  const fenced = queue({ fence: () => (lease ? null : new SyncError('NOT_ACTIVE', 'lease ran out')) });
  const p2 = new FakeTransactionalProducer();
  fenced.start(p2);
  const first = fenced.send(batch('B', 1)).then(() => { lease = false; });
  const c2 = fenced.commit(() => []);
  await first;
  assert.equal((await rejection(c2)).code, 'NOT_ACTIVE');
  assert.deepEqual(p2.sent, ['B0']);
});

test('commit() on a producer that is not transactional fails clearly', async () => {
  const q = queue();
  q.start(new FakeProducer());
  assert.match((await rejection(q.commit(() => []))).message, /not transactional/);
});
