// The chunk worker's entry point (chunk-pool.ts starts it). The synchronizer runs its
// TypeScript through tsx, whose loader a worker thread does not get for its first module:
// register it here, then load the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./chunk-worker.ts');
