/**
 * Live config changes: which edits can apply while the synchronizer runs, and the file
 * watch (plus SIGHUP) that notices them. What applies live: the selected objects (tables
 * added are copied while the stream flows, tables removed stop at the next transaction),
 * the topics and the DDL option (at a transaction boundary), and the snapshot and log
 * options. Everything else (the source, Kafka, the checkpoint, the mode, the partition
 * policy, metrics) needs a restart, and an edit that touches it is refused whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { SyncConfig } from '../config/index.ts';

const LIVE_OPTIONS = new Set(['objects', 'topics', 'ddl', 'snapshot', 'log']);

/** The options (as dotted paths) that differ between two configs and cannot change live. Pure. */
export function restartNeeded(running: SyncConfig, edited: SyncConfig): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(running), ...Object.keys(edited)]);
  for (const k of keys) {
    if (LIVE_OPTIONS.has(k)) continue;
    const a = (running as Record<string, unknown>)[k];
    const b = (edited as Record<string, unknown>)[k];
    if (isDeepStrictEqual(a, b)) continue;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!isDeepStrictEqual((a as Record<string, unknown>)[sub], (b as Record<string, unknown>)[sub])) out.push(`${k}.${sub}`);
      }
    } else out.push(k);
  }
  return out;
}

export function sameConfig(a: SyncConfig, b: SyncConfig): boolean {
  return isDeepStrictEqual(a, b);
}

/**
 * Calls `onChange` (debounced) when the config file is written, replaced (editors and
 * `mv` replace it: the folder is watched, not the inode) or SIGHUP arrives. Returns the stop.
 */
export function watchConfigFile(file: string, onChange: (why: string) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const fire = (why: string) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => { timer = null; onChange(why); }, 200);
  };
  const name = path.basename(file);
  const watcher = fs.watch(path.dirname(file), (_event, changed) => {
    if (changed === null || changed === name) fire('the config file changed');
  });
  watcher.on('error', () => {});
  const onHup = () => fire('SIGHUP');
  process.on('SIGHUP', onHup);
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
    process.off('SIGHUP', onHup);
  };
}
