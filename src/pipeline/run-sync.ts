/**
 * The synchronizer: takes the checkpoint from its store and runs the active sync
 * (run-active.ts). With `checkpoint.store: file`, the file on this host, locked against a
 * second synchronizer (checkpoint-lock.ts). With `kafka`, run-standby.ts: the instances of a
 * task elect one active among them, the others stand by.
 */
import { lockCheckpoint } from '../checkpoint/checkpoint-lock.ts';
import { emptyCheckpoint, readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { CheckpointWriter, fileCheckpointStore } from '../checkpoint/checkpoint-writer.ts';
import { redactConfig } from '../config/index.ts';
import { recordCheckpoint } from '../ops/metrics.ts';
import { runActive, type RunSyncOptions } from './run-active.ts';
import { runStandby } from './run-standby.ts';

export type { RunSyncOptions } from './run-active.ts';

export async function runSync(o: RunSyncOptions): Promise<void> {
  const { config, logger: log } = o;
  if (config.checkpoint.store === 'kafka') return runStandby(o);
  const release = await lockCheckpoint(config.checkpoint.file);
  try {
    log.info({ config: redactConfig(config) }, 'configuration');
    const checkpoint = new CheckpointWriter({
      store: fileCheckpointStore(config.checkpoint.file),
      intervalMs: config.checkpoint.intervalMs,
      initial: readCheckpoint(config.checkpoint.file) ?? emptyCheckpoint(),
      onWrite: (position) => {
        log.debug({ position }, 'checkpoint written');
        if (checkpoint.position) recordCheckpoint(checkpoint.position);
      },
    });
    await runActive({ ...o, checkpoint, precheck: true });
  } finally {
    await release();
  }
}
