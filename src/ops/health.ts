/**
 * Readiness, decided from a snapshot of the synchronizer's state; pure. Ready means doing
 * its job: connected to the source and to Kafka, not stopping, and Kafka acknowledging what
 * it is sent. A stall (records sent, no acknowledgement for `stallMs`) counts as not ready
 * even before the producer gives up, which takes kafkajs' retries (10 s or more).
 *
 * With `checkpoint.store: kafka` an instance is active or standing by (src/ha). A standby is
 * ready when its election works: it is doing its job, which is to be ready to take over;
 * a rolling update waits on it before stopping the active one. /readyz names the role.
 *
 * Liveness is not decided here: the process answers /healthz while it runs, and exits by
 * itself on a fatal error (the supervisor in run-active.ts retries everything else).
 */

/** single: checkpoint.store file; the others: store kafka (src/ha). */
export type Role = 'single' | 'starting' | 'active' | 'standby';

export interface HealthInputs {
  readonly role: Role;
  readonly sourceConnected: boolean;
  readonly kafkaConnected: boolean;
  readonly stopping: boolean;
  /** how long sends have waited with no acknowledgement (0: nothing pending) */
  readonly stalledMs: number;
  readonly stallMs: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly role: Role;
  /** why not, one phrase each; empty when ready */
  readonly reasons: readonly string[];
  readonly source: boolean;
  readonly kafka: boolean;
  readonly stalledSeconds: number;
}

export function readiness(s: HealthInputs): Readiness {
  const reasons: string[] = [];
  const syncing = s.role === 'single' || s.role === 'active';
  if (s.stopping) reasons.push('stopping');
  if (s.role === 'starting') reasons.push('joining the election of the active instance');
  if (syncing && !s.sourceConnected) reasons.push('not connected to the source');
  if (syncing && !s.kafkaConnected) reasons.push('not connected to Kafka');
  if (syncing && s.stalledMs >= s.stallMs) {
    reasons.push(`records sent to Kafka have waited ${Math.round(s.stalledMs / 1000)} s with no acknowledgement (metrics.stallSeconds ${s.stallMs / 1000})`);
  }
  return {
    ready: reasons.length === 0,
    role: s.role,
    reasons,
    source: s.sourceConnected,
    kafka: s.kafkaConnected,
    stalledSeconds: Math.round(s.stalledMs / 100) / 10,
  };
}
