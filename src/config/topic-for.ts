import type { SyncConfig } from './config-schema.ts';
import { formatObjectPattern } from './object-pattern.ts';

/**
 * The topic for table `db`.`table`: its `topics.mapping` entry for `db.table`, else the one for
 * `db.*`, else `topics.default`. Pure.
 */
export function topicFor(config: Pick<SyncConfig, 'topics'>, db: string, table: string): string {
  const { mapping } = config.topics;
  return (
    mapping[formatObjectPattern({ database: db, table })] ??
    mapping[formatObjectPattern({ database: db, table: '*' })] ??
    config.topics.default
  );
}
