import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lockCheckpoint, lockName } from '../../../src/checkpoint/checkpoint-lock.ts';

function tmp(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-lock-')), 'sub');
  fs.mkdirSync(dir);
  return path.join(dir, 'checkpoint.json');
}
const LOCK_MODULE = fileURLToPath(new URL('../../../src/checkpoint/checkpoint-lock.ts', import.meta.url));
const locked = (pid: number | string) => (e: Error & { code?: string }) =>
  e.code === 'CHECKPOINT_LOCKED' && e.message.includes(`pid ${pid} on ${os.hostname()}`) && /give this one its own checkpoint.file/.test(e.message);

/** Another process holding the lock of `file` until it is killed; resolves once it holds it. */
async function holderProcess(file: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e',
    `import('${LOCK_MODULE}').then(async (m) => { await m.lockCheckpoint(${JSON.stringify(file)}); console.log('locked'); setInterval(() => {}, 1000); })`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code} before locking`)));
  });
  return { pid: child.pid!, kill: async () => { child.kill('SIGKILL'); await exited; } };
}

test('a second lock of one checkpoint is refused, naming the holder; a released lock can be taken again', async () => {
  const file = tmp();
  const release = await lockCheckpoint(file);
  await assert.rejects(lockCheckpoint(file), locked(process.pid));
  await release();
  const again = await lockCheckpoint(file);
  await again();
});

test('every path to the same folder gives the same lock; another file in it, another lock', async () => {
  const file = tmp();
  const link = path.join(path.dirname(path.dirname(file)), 'link');
  fs.symlinkSync(path.dirname(file), link);
  assert.equal(lockName(path.join(link, 'checkpoint.json')), lockName(file));
  assert.notEqual(lockName(path.join(link, 'other.json')), lockName(file));
  const release = await lockCheckpoint(file);
  await assert.rejects(lockCheckpoint(path.join(link, '..', 'sub', 'checkpoint.json')), locked(process.pid));
  const other = await lockCheckpoint(path.join(link, 'other.json'));
  await other();
  await release();
});

test('the kernel releases the lock of a SIGKILLed holder: the next start takes it at once', async () => {
  const file = tmp();
  const holder = await holderProcess(file);
  await assert.rejects(lockCheckpoint(file), locked(holder.pid));
  await holder.kill();
  const release = await lockCheckpoint(file);
  await release();
});

test('a lock file of an earlier version naming a live, unrelated PID does not block a start (a restarted container)', async () => {
  const file = tmp();
  // A live process that has nothing to do with the checkpoint: in a new PID namespace the
  // PID a lock file names can be anyone's.
  const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(`${file}.lock`, `${unrelated.pid}\n`);
    const release = await lockCheckpoint(file);
    assert.equal(fs.existsSync(`${file}.lock`), false, 'the obsolete lock file is removed');
    await release();
  } finally {
    unrelated.kill('SIGKILL');
  }
});
