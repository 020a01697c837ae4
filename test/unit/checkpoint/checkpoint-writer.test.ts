/**
 * The checkpoint writer over a synchronous store (the file) and an asynchronous one (Kafka,
 * faked here with writes answered when the test says): ids are used only once reserved in
 * the store, writes land one at a time in order, a failed write stops the session and the
 * next session writes again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyCheckpoint } from '../../../src/checkpoint/checkpoint-store.ts';
import { type CheckpointDocument, type CheckpointStore, CheckpointWriter } from '../../../src/checkpoint/checkpoint-writer.ts';
import { SyncError } from '../../../src/errors.ts';

/** A store whose writes wait until `answer()`; every document it was given, in order. */
class SlowStore implements CheckpointStore {
  readonly where = 'checkpoint in a fake store';
  readonly written: CheckpointDocument[] = [];
  readonly waiting: { doc: CheckpointDocument; resolve: () => void; reject: (e: Error) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  write(doc: CheckpointDocument): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.waiting.push({
        doc,
        resolve: () => { this.inFlight--; this.written.push(doc); resolve(); },
        reject: (e) => { this.inFlight--; reject(e); },
      });
    });
  }
  /** Answers the oldest write; resolves once the writer saw the answer. */
  async answer(error?: Error): Promise<CheckpointDocument> {
    const w = this.waiting.shift();
    assert.ok(w, 'a write is waiting');
    if (error) w.reject(error);
    else w.resolve();
    await new Promise((r) => setImmediate(r));
    return w.doc;
  }
}

/** Answers every write the store gets until `p` settles; gives `p`. */
async function answering<T>(store: SlowStore, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => { done = true; }, () => { done = true; });
  while (!done) {
    if (store.waiting.length > 0) await store.answer();
    else await new Promise((r) => setImmediate(r));
  }
  return p;
}

const writer = (store: CheckpointStore, idReservedUntil = '1') =>
  new CheckpointWriter({ store, intervalMs: 60_000, initial: { ...emptyCheckpoint(), idReservedUntil } });

test('a synchronous store: the first id reserves a block at once, and ids continue above an earlier reservation', () => {
  const docs: CheckpointDocument[] = [];
  const w = writer({ where: 'file', write: (d) => void docs.push(d) }, '2000001');
  assert.equal(w.nextId(), 2_000_001n);
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.idReservedUntil, '3000001');
  for (let i = 0; i < 499_999; i++) w.nextId();
  assert.equal(docs.length, 1, 'no write while less than half the block is used');
  w.nextId();
  assert.equal(docs.length, 2, 'the next block is reserved with half of this one left');
  assert.equal(docs[1]!.idReservedUntil, '3500001');
});

test('an asynchronous store: ids only once their block is acknowledged, the next block reserved ahead; writes one at a time, in order', async () => {
  const store = new SlowStore();
  const w = writer(store);
  const opened = w.open();
  assert.equal((await store.answer()).idReservedUntil, '1000001');
  await opened;
  assert.equal(w.nextId(), 1n);
  w.advance({ file: 'b.000001', position: 100 }, null);
  w.reset({ file: 'b.000001', position: 200, gtid: null });
  w.reset({ file: 'b.000001', position: 300, gtid: null });
  assert.equal(store.waiting.length, 1, 'one write at a time: the later changes wait for it');
  await store.answer();
  assert.equal(store.waiting.length, 1, 'then one write carries all of them');
  assert.deepEqual((await store.answer()).binlog, { file: 'b.000001', position: 300, gtid: null });
  // Half the block used: the next one is asked for, and not answered yet.
  for (let i = 1; i < 1_000_000; i++) w.nextId();
  assert.equal(store.waiting.length, 1);
  assert.equal(store.waiting[0]!.doc.idReservedUntil, '1500001');
  assert.throws(() => w.nextId(), (e: SyncError) => e.code === 'CHECKPOINT_WRITE_FAILED' && e.retriable && /record id 1000001 is not reserved yet/.test(e.message));
  await store.answer();
  assert.equal(w.nextId(), 1_000_001n);
  await answering(store, w.flush());
  assert.equal(store.waiting.length, 0);
  assert.equal(store.maxInFlight, 1);
});

test('an asynchronous write that fails stops the session (onError) and flush rejects; the next session writes again', async () => {
  const store = new SlowStore();
  const w = writer(store);
  const opened = w.open();
  await store.answer();
  await opened;
  const errors: SyncError[] = [];
  w.resume((e) => errors.push(e));
  w.reset({ file: 'b.000002', position: 4, gtid: null });
  await store.answer(new Error('broker gone'));
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'CHECKPOINT_WRITE_FAILED');
  assert.match(errors[0]!.message, /writing the checkpoint in a fake store failed: broker gone/);
  w.advance({ file: 'b.000002', position: 500 }, null);
  assert.equal(store.waiting.length, 0, 'nothing more is written in a failed session');
  await assert.rejects(w.flush(), /broker gone/);
  w.resume((e) => errors.push(e));
  assert.deepEqual((await store.answer()).binlog, { file: 'b.000002', position: 500, gtid: null }, 'the next session writes what the failed one could not');
});

/** An exactly-once session's transactional sink, faked: each commit waits until `answer()`; the document is taken then. */
class FakeTransactions {
  readonly committed: CheckpointDocument[] = [];
  readonly waiting: { take: () => CheckpointDocument; resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly commit = (take: () => CheckpointDocument): Promise<void> =>
    new Promise((resolve, reject) => { this.waiting.push({ take, resolve, reject }); });
  async answer(error?: Error): Promise<CheckpointDocument | null> {
    const w = this.waiting.shift();
    assert.ok(w, 'a commit is waiting');
    if (error) {
      w.reject(error);
      await new Promise((r) => setImmediate(r));
      return null;
    }
    const doc = w.take();
    this.committed.push(doc);
    w.resolve();
    await new Promise((r) => setImmediate(r));
    return doc;
  }
}

const exactlyOnce = (intervalMs = 0) =>
  new CheckpointWriter({
    store: { where: 'unused', write: () => { throw new Error('an exactly-once writer commits through the session, never the store'); } },
    intervalMs,
    initial: { ...emptyCheckpoint(), idReservedUntil: '500' },
    exactlyOnce: true,
  });

test('exactly-once: ids need no reservation; a write commits the transaction with the document as it stands when the commit is made', async () => {
  const w = exactlyOnce();
  await w.open();
  assert.equal(w.nextId(), 500n);
  assert.equal(w.nextId(), 501n);
  const txn = new FakeTransactions();
  w.commitWith(txn.commit);
  w.reset({ file: 'b.000001', position: 100, gtid: null });
  assert.equal(txn.waiting.length, 1);
  // Acknowledged before the commit's turn came: part of it.
  w.advance({ file: 'b.000001', position: 200 }, 'g:1-2');
  w.nextId();
  const doc = await txn.answer();
  assert.deepEqual(doc, { binlog: { file: 'b.000001', position: 200, gtid: 'g:1-2' }, idReservedUntil: '503', snapshot: null });
  await w.flush();
  assert.equal(txn.committed.length, 1, 'nothing changed since: no second commit');
});

test('exactly-once: a write asked for where the records sent are not covered waits for the next covered point', async () => {
  const w = exactlyOnce();
  const txn = new FakeTransactions();
  w.commitWith(txn.commit);
  w.covered(false); // a batch ended inside a transaction
  w.advance({ file: 'b.000001', position: 300 }, null);
  assert.equal(txn.waiting.length, 0);
  assert.equal(w.commitDue, true, 'the session is asked to cut its next batch at a boundary');
  await w.flush();
  assert.equal(txn.waiting.length, 0, 'not even a flush commits what is not covered');
  w.covered(true);
  assert.equal(txn.waiting.length, 1);
  assert.equal(w.commitDue, false);
  assert.equal((await txn.answer())?.binlog?.position, 300);
});

test('exactly-once: no commit without a session; restore() takes the committed checkpoint back after a failed commit', async () => {
  const w = exactlyOnce();
  w.advance({ file: 'b.000001', position: 400 }, null);
  w.commitWith(null);
  await w.flush();
  const txn = new FakeTransactions();
  const failures: SyncError[] = [];
  w.resume((e) => failures.push(e));
  w.commitWith(txn.commit);
  w.covered(true);
  assert.equal(txn.waiting.length, 1, 'the session covers what was asked: committed now');
  const flushed = assert.rejects(w.flush(), /fenced/);
  await txn.answer(new SyncError('NOT_ACTIVE', 'fenced'));
  await flushed;
  assert.equal(failures[0]?.code, 'NOT_ACTIVE');
  w.restore({ ...emptyCheckpoint(), binlog: { file: 'b.000001', position: 100, gtid: null }, idReservedUntil: '42' });
  assert.equal(w.position?.position, 100);
  assert.equal(w.nextId(), 42n);
  w.resume(null);
  w.commitWith(null);
});
