/**
 * A consumer's records as an async iterator over its handler-based `run`: a record counts as
 * processed when the loop asks for the next one; leaving the loop stops the consumer and
 * leaves the record in hand unprocessed (its handler promise rejects with ABANDONED, so it is
 * not committed and a restart repeats it).
 */
import type { ConsumedRecord, RecordHandler } from './consumer-types.ts';

/** Rejects a handler's promise when the consumer stops before the record was processed. */
export const ABANDONED = Symbol('abandoned');

export interface IteratedConsumer {
  run(handler: RecordHandler): Promise<void>;
  stop(): Promise<void>;
  /** called with the function that abandons the records offered but not processed */
  onAbandon(abandon: () => void): void;
}

export function iterateRecords(c: IteratedConsumer): AsyncIterator<ConsumedRecord> {
  interface Offered {
    readonly record: ConsumedRecord;
    readonly settle: (processed: boolean) => void;
  }
  const queue: Offered[] = [];
  let inHand: Offered | null = null;
  let waiter: { resolve: (r: IteratorResult<ConsumedRecord>) => void; reject: (e: unknown) => void } | null = null;
  let ended = false;
  let endError: unknown;

  const handler: RecordHandler = (record) =>
    new Promise<void>((resolve, reject) => {
      const offered: Offered = { record, settle: (processed) => (processed ? resolve() : reject(ABANDONED)) };
      if (waiter !== null) {
        const w = waiter;
        waiter = null;
        inHand = offered;
        w.resolve({ value: record, done: false });
      } else {
        queue.push(offered);
      }
    });
  const abandon = (): void => {
    inHand?.settle(false);
    inHand = null;
    for (const q of queue.splice(0)) q.settle(false);
  };
  c.onAbandon(abandon);
  const finished = c.run(handler).then(
    () => { ended = true; },
    (e: unknown) => { ended = true; endError = e; },
  ).finally(() => {
    if (waiter === null) return;
    const w = waiter;
    waiter = null;
    if (endError !== undefined) w.reject(endError);
    else w.resolve({ value: undefined, done: true });
  });

  return {
    next: () => {
      // Asking for the next record means the loop body finished the previous one.
      inHand?.settle(true);
      inHand = null;
      const offered = queue.shift();
      if (offered !== undefined) {
        inHand = offered;
        return Promise.resolve({ value: offered.record, done: false });
      }
      if (ended) return endError !== undefined ? Promise.reject(endError) : Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => { waiter = { resolve, reject }; });
    },
    return: async () => {
      abandon();
      await c.stop();
      await finished;
      return { value: undefined, done: true };
    },
  };
}
