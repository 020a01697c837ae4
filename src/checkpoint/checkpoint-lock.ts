/**
 * One synchronizer per checkpoint file, with a lock the kernel releases when its holder dies.
 *
 * The lock is a listening Unix socket in Linux's abstract namespace, named after the
 * checkpoint file's folder (its device and inode, so every path to it gives the same name)
 * and file name. Binding a name is atomic and exclusive, and the kernel frees it with the
 * process, however that ends (SIGKILL, OOM, a container stopped): nothing is left behind to
 * be judged stale. The PID lock file this replaces could not tell, after a container
 * restart, its dead holder from an unrelated live process that got the same PID in the new
 * PID namespace, and refused every start from then on.
 *
 * A second synchronizer asks the holder who it is (it answers with its pid, host and start
 * time) and stops with CHECKPOINT_LOCKED naming it.
 *
 * Scope: abstract names belong to a network namespace, so the lock separates the processes
 * of one host, or of one container or pod, not containers with their own network sharing a
 * volume, nor hosts sharing a network file system. For several hosts use
 * `checkpoint.store: kafka`, whose election is Kafka's group membership. Other systems than
 * Linux have no abstract namespace: there the socket is a file in the temporary folder,
 * removed at release and replaced when no process listens on it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SyncError } from '../errors.ts';

export interface CheckpointLockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** The socket name of `file`'s lock (pure but for one stat of its folder, which it creates). */
export function lockName(file: string, platform: NodeJS.Platform = process.platform): string {
  const resolved = path.resolve(file);
  const dir = path.dirname(resolved);
  fs.mkdirSync(dir, { recursive: true });
  const st = fs.statSync(dir);
  const id = createHash('sha256').update(`${st.dev}:${st.ino}:${path.basename(resolved)}`).digest('hex').slice(0, 40);
  return platform === 'linux' ? `\0dts-binlog-kafka/checkpoint/${id}` : path.join(os.tmpdir(), `dts-binlog-kafka-${id}.sock`);
}

/**
 * Takes the lock of checkpoint `file`; resolves to its release. Rejects with
 * CHECKPOINT_LOCKED when another live process holds it.
 */
export async function lockCheckpoint(file: string): Promise<() => Promise<void>> {
  const name = lockName(file);
  const me: CheckpointLockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const answer = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; ; attempt++) {
    const server = net.createServer((c) => c.end(answer));
    server.on('error', () => {}); // after listening: nothing a client does can fail the lock
    const bound = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen(name, () => resolve(null));
    });
    if (bound === null) {
      server.unref(); // the lock never keeps the process alive
      removeLegacyLockFile(file);
      return () => new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (bound.code !== 'EADDRINUSE') {
      throw new SyncError('CHECKPOINT_LOCKED', `could not lock checkpoint ${file}: ${bound.message}`, { cause: bound });
    }
    const holder = await askHolder(name);
    if (holder !== null) {
      throw new SyncError('CHECKPOINT_LOCKED',
        `another synchronizer (pid ${holder.pid} on ${holder.host}, running since ${holder.since}) is using checkpoint ${file}; ` +
          'stop it first, or give this one its own checkpoint.file');
    }
    // No one answers: the holder is closing the lock right now, or (a socket file, not on
    // Linux) it died and left the file.
    if (!name.startsWith('\0')) fs.rmSync(name, { force: true });
    if (attempt >= 20) throw new SyncError('CHECKPOINT_LOCKED', `could not lock checkpoint ${file}: the lock is in use but its holder does not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Who holds the lock, or null when no process answers on it. */
function askHolder(name: string): Promise<CheckpointLockHolder | null> {
  return new Promise((resolve) => {
    let text = '';
    const c = net.connect(name);
    const done = (holder: CheckpointLockHolder | null) => {
      c.destroy();
      resolve(holder);
    };
    c.setTimeout(5_000, () => done({ pid: 0, host: 'unknown', since: 'unknown' }));
    c.setEncoding('utf8');
    c.on('data', (d: string) => { text += d; });
    c.on('end', () => {
      try {
        done(JSON.parse(text) as CheckpointLockHolder);
      } catch {
        done({ pid: 0, host: 'unknown', since: 'unknown' }); // something answers: in use
      }
    });
    c.on('error', () => done(null));
  });
}

/** Earlier versions locked with `<file>.lock` holding a PID; it means nothing now. */
function removeLegacyLockFile(file: string): void {
  fs.rmSync(`${file}.lock`, { force: true });
}
