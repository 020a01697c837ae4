/**
 * Which binlog position may be checkpointed: only one whose every earlier record the
 * broker has acknowledged. Batches are sent in order and may be acknowledged out of
 * order; the checkpoint advances over the acknowledged prefix only, to the last
 * transaction boundary inside it (Maxwell's in-flight list, in batches).
 */
import type { BinlogPosition } from '../model/binlog-position.ts';

export interface Boundary {
  readonly position: BinlogPosition;
  readonly gtid: string | null;
}

interface Entry {
  readonly seq: number;
  readonly boundary: Boundary | null;
  readonly bytes: number;
  acked: boolean;
}

export class InFlight {
  private readonly queue: Entry[] = [];
  private nextSeq = 0;
  private bytesInFlight = 0;
  private committed: Boundary | null;

  constructor(start: Boundary | null) {
    this.committed = start;
  }

  /** Registers a batch about to be sent; `boundary` is the last transaction end it completes, if any. */
  add(boundary: Boundary | null, bytes: number): number {
    const seq = this.nextSeq++;
    this.queue.push({ seq, boundary, bytes, acked: false });
    this.bytesInFlight += bytes;
    return seq;
  }

  /** Marks a batch acknowledged; returns the new safe boundary when it moved. */
  ack(seq: number): Boundary | null {
    const entry = this.queue.find((e) => e.seq === seq);
    if (!entry || entry.acked) return null;
    entry.acked = true;
    this.bytesInFlight -= entry.bytes;
    let moved = false;
    while (this.queue.length > 0 && this.queue[0]!.acked) {
      const head = this.queue.shift()!;
      if (head.boundary) {
        this.committed = head.boundary;
        moved = true;
      }
    }
    return moved ? this.committed : null;
  }

  get safeBoundary(): Boundary | null {
    return this.committed;
  }

  get batches(): number {
    return this.queue.filter((e) => !e.acked).length;
  }

  get bytes(): number {
    return this.bytesInFlight;
  }
}
