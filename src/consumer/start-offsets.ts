/**
 * Where the consumer starts reading a partition: the one rule, pure, so that it can be
 * tested without a broker. In order:
 *
 * 1. `applyConfigured` (use-config-checkpoint, at this client's start) and a checkpoint is
 *    configured: the first record at or after it (offsetsForTimes).
 * 2. The group's committed offset (written by this client or, in subscribe mode, by the one
 *    that held the partition before).
 * 3. The local checkpoint file's offset (the group has none: new group, expired offsets).
 * 4. The configured checkpoint, when one is given.
 * 5. The start of the partition.
 *
 * A stored offset outside the partition's [low, high] range (the topic was recreated or
 * truncated, or retention removed records) is found again by its timestamp when one was
 * stored, else clamped into the range (below low: those records are gone).
 */

export interface StoredPosition {
  /** the next offset to read */
  readonly offset: bigint;
  /** sourceTimestamp of the last record processed (UNIX seconds), when known */
  readonly timestamp: number | null;
}

export interface StartInputs {
  /** the partition's first and next-to-be-written offsets */
  readonly low: bigint;
  readonly high: bigint;
  readonly committed: StoredPosition | null;
  readonly local: StoredPosition | null;
  /** the configured checkpoint, UNIX seconds; 'earliest' for the start of the topic */
  readonly configured: number | 'earliest' | null;
  readonly applyConfigured: boolean;
}

/** Either an offset, or a timestamp still to be looked up with offsetsForTimes. */
export type StartDecision =
  | { readonly kind: 'offset'; readonly offset: bigint; readonly reason: string }
  | { readonly kind: 'timestamp'; readonly seconds: number; readonly reason: string };

export function decideStart(i: StartInputs): StartDecision {
  const fromConfigured = (why: string): StartDecision =>
    i.configured === 'earliest'
      ? { kind: 'offset', offset: i.low, reason: `${why}: the start of the partition` }
      : { kind: 'timestamp', seconds: i.configured as number, reason: `${why} ${i.configured as number}` };

  if (i.applyConfigured && i.configured !== null) return fromConfigured('configured checkpoint');
  for (const [stored, what] of [[i.committed, "the group's committed offset"], [i.local, 'the local checkpoint file']] as const) {
    if (stored === null) continue;
    if (stored.offset >= i.low && stored.offset <= i.high) return { kind: 'offset', offset: stored.offset, reason: what };
    if (stored.timestamp !== null) {
      return {
        kind: 'timestamp',
        seconds: stored.timestamp,
        reason: `${what} ${stored.offset} is outside the partition's offsets ${i.low}..${i.high}; its timestamp ${stored.timestamp}`,
      };
    }
    const clamped = stored.offset < i.low ? i.low : i.high;
    return {
      kind: 'offset',
      offset: clamped,
      reason: `${what} ${stored.offset} is outside the partition's offsets ${i.low}..${i.high}${stored.offset < i.low ? ' (records removed by retention are lost to this consumer)' : ''}`,
    };
  }
  if (i.configured !== null) return fromConfigured('no stored checkpoint; configured checkpoint');
  return { kind: 'offset', offset: i.low, reason: 'no checkpoint configured or stored: the start of the partition' };
}

/**
 * The offset for a timestamp in seconds, from a native Kafka ListOffsets answer: a plain
 * Kafka cluster takes milliseconds (DTS's own proxy takes seconds), hence the caller asks for
 * seconds × 1000. Kafka answers the high watermark (kafkajs) or -1 when no record is at or
 * after the time: then the consumer waits at the end.
 */
export function offsetForTime(answer: bigint, high: bigint): bigint {
  return answer < 0n ? high : answer;
}

/** The timestamp stored in the commit metadata (`{"timestamp":1700000000}`), when there is one. */
export function timestampFromMetadata(metadata: string | null | undefined): number | null {
  if (typeof metadata !== 'string' || metadata === '') return null;
  try {
    const t = (JSON.parse(metadata) as { timestamp?: unknown }).timestamp;
    return Number.isSafeInteger(t) && (t as number) >= 0 ? (t as number) : null;
  } catch {
    return null;
  }
}
