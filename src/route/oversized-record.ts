/**
 * A record larger than Kafka takes (kafka.oversizedRecord, docs/reliability.md case 4): it is
 * checked before it is queued, against `Sink.recordLimit` (kafka.maxRecordBytes, or what
 * fits under the topic's max.message.bytes). `stop` (the default) throws RECORD_TOO_LARGE
 * naming the table, key, size and limit, so the sync stops before the row's transaction is
 * checkpointed; `skip` leaves the row out with a warning naming the same, and counts it.
 * Never a silent drop.
 */
import type { SyncConfig } from '../config/index.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Sink } from '../sink/sink.ts';

export class OversizedRecords {
  /** rows left out (kafka.oversizedRecord: skip) */
  skipped = 0;
  private readonly config: () => SyncConfig;
  private readonly sink: Pick<Sink, 'recordLimit'>;
  private readonly log: Logger;
  private readonly scope: string;

  /** `config` is read at each record (it may be reloaded); `scope` names what the count covers in the log line ("in this session"). */
  constructor(config: () => SyncConfig, sink: Pick<Sink, 'recordLimit'>, log: Logger, scope: string) {
    this.config = config;
    this.sink = sink;
    this.log = log;
    this.scope = scope;
  }

  /**
   * Whether the record may be sent. `what` names the row ("INSERT of db.t"), `where` its place
   * (a binlog position). Throws RECORD_TOO_LARGE with kafka.oversizedRecord stop.
   */
  admit(topic: string, key: Buffer | null, value: Buffer, what: string, where: string): boolean {
    const size = value.length + (key?.length ?? 0);
    const limit = this.sink.recordLimit(topic);
    if (size <= limit.bytes) return true;
    const keyText = key === null ? 'none' : key.length > 200 ? `${key.subarray(0, 200).toString('utf8')}...` : key.toString('utf8');
    const bound = limit.bytes < limit.maxRecordBytes
      ? `the ${limit.bytes} bytes of key + value that topic ${topic}'s max.message.bytes (${limit.maxMessageBytes}) lets through`
      : `kafka.maxRecordBytes (${limit.maxRecordBytes})`;
    const detail = `${what} with key ${keyText} at ${where} makes a record of ${size} bytes (key ${key?.length ?? 0} + value ${value.length}) for topic ${topic}, above ${bound}`;
    if (this.config().kafka.oversizedRecord === 'skip') {
      this.skipped++;
      this.log.warn({ topic, key: keyText, bytes: size, limit: limit.bytes, position: where, oversizedSkipped: this.skipped },
        `record skipped: ${detail}; kafka.oversizedRecord is skip, so this row is not in the topic (${this.skipped} skipped ${this.scope})`);
      return false;
    }
    throw new SyncError('RECORD_TOO_LARGE',
      `${detail}. kafka.oversizedRecord is stop (the default): the sync stops, its checkpoint before this transaction. ` +
        "Raise the topic's max.message.bytes (and kafka.maxRecordBytes) and start again to send it, or set kafka.oversizedRecord: skip to leave such rows out (logged and counted)");
  }
}
