/**
 * The broker's release range, inferred from the ApiVersions it answers: brokers do not say
 * their version on the wire, but each release raised the highest Produce version (and added
 * APIs), so those numbers pin a range. Pure.
 *
 * Produce max version per release (Kafka's ProduceRequest.json): 2 in 0.10.x, 3 in 0.11,
 * 4-5 in 1.x, 6 in 2.0, 7 in 2.1-2.3, 8 in 2.4-2.7, 9 in 2.8-3.6, 10 in 3.7, 11 in 3.8-3.9,
 * 12+ in 4.x. 0.10.0 and 0.10.1 both stop at Produce v2; CreateTopics (key 19) arrived in
 * 0.10.1. A broker that does not answer ApiVersions at all is older than 0.10.0.
 */

export const API_PRODUCE = 0;
export const API_CREATE_TOPICS = 19;
export const API_CREATE_DELEGATION_TOKEN = 38;
export const API_INIT_PRODUCER_ID = 22;
/** The release delivery exactly-once needs, and what shows it: InitProducerId v3 (KIP-360). */
export const OLDEST_EXACTLY_ONCE = '2.5';

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface KafkaVersionRange {
  /** e.g. `1.0`, `2.1-2.3`, `4.0+` */
  readonly label: string;
  /** at least 0.10.1, the oldest release DTS (and this synchronizer) supports */
  readonly supported: boolean;
  /** the evidence, for the report: `Produce v5, 38 APIs` */
  readonly basis: string;
  /**
   * Kafka 2.5+ (InitProducerId v3, KIP-360): transactions as delivery exactly-once uses them.
   * Transactions exist since 0.11, but before 2.5 a transactional producer whose state the
   * broker dropped (UNKNOWN_PRODUCER_ID, e.g. a quiet partition's records removed by
   * retention) or whose epoch it refused could only fail for good, and the brokers of that
   * time had transaction bugs fixed later; this synchronizer does not claim exactly-once there.
   */
  readonly exactlyOnce: boolean;
}

export const OLDEST_SUPPORTED = '0.10.1';

export function inferKafkaVersion(apis: readonly ApiVersionRange[]): KafkaVersionRange {
  const max = (key: number) => apis.find((a) => a.apiKey === key)?.maxVersion;
  const has = (key: number) => max(key) !== undefined;
  const produce = max(API_PRODUCE) ?? -1;
  const basis = `Produce v${produce}, ${apis.length} APIs`;
  const exactlyOnce = (max(API_INIT_PRODUCER_ID) ?? -1) >= 3;
  const range = (label: string, supported = true): KafkaVersionRange => ({ label, supported, basis, exactlyOnce });
  if (produce >= 12) return range('4.0+');
  if (produce === 11) return range('3.8-3.9');
  if (produce === 10) return range('3.7');
  if (produce === 9) return range('2.8-3.6');
  if (produce === 8) return range('2.4-2.7');
  if (produce === 7) return range('2.1-2.3');
  if (produce === 6) return range('2.0');
  if (produce >= 4) return range(has(API_CREATE_DELEGATION_TOKEN) ? '1.1' : '1.0');
  if (produce === 3) return range('0.11');
  if (produce === 2 && has(API_CREATE_TOPICS)) return range('0.10.1-0.10.2');
  if (produce === 2) return range('0.10.0', false);
  return range('older than 0.10.0', false);
}
