/**
 * Foreign keys whose actions change rows the binlog never shows. A child row deleted or
 * updated by `ON DELETE/UPDATE CASCADE` or `SET NULL` is changed inside the storage engine,
 * and neither MySQL (bug 32506) nor MariaDB (MDEV-38243) writes that change to the binlog:
 * the topic keeps the child rows the source deleted, or their old parent key. A warning,
 * not a failure: many schemas never delete parents, and the fix is the user's to choose.
 * Pure.
 */
import { warn, pass, listSome, type PrecheckCheck } from './report.ts';

export interface ForeignKeyRow {
  readonly database: string;
  /** the child table (the one holding the foreign key) */
  readonly table: string;
  readonly name: string;
  readonly parent: string;
  readonly updateRule: string;
  readonly deleteRule: string;
}

const SILENT = new Set(['CASCADE', 'SET NULL']);

export function checkForeignKeys(rows: readonly ForeignKeyRow[], selected: readonly { database: string; table: string }[]): PrecheckCheck {
  const isSelected = new Set(selected.map((t) => `${t.database}.${t.table}`));
  const silent = rows
    .filter((r) => isSelected.has(`${r.database}.${r.table}`))
    .flatMap((r) => {
      const actions = [
        ...(SILENT.has(r.deleteRule.toUpperCase()) ? [`ON DELETE ${r.deleteRule.toUpperCase()}`] : []),
        ...(SILENT.has(r.updateRule.toUpperCase()) ? [`ON UPDATE ${r.updateRule.toUpperCase()}`] : []),
      ];
      return actions.length > 0 ? [`${r.database}.${r.table} (${r.name} → ${r.parent}, ${actions.join(', ')})`] : [];
    });
  if (silent.length === 0) return pass('foreign_keys', 'no selected table has a cascading foreign key');
  return warn('foreign_keys',
    `${listSome(silent)}: the rows these actions change are changed inside the storage engine and are not in the binlog ` +
      '(MySQL bug 32506, MariaDB MDEV-38243), so the topic keeps child rows the source deleted, or their old values',
    'delete or update the child rows explicitly before the parent (in the application, or with ON DELETE RESTRICT), or accept that the topic keeps them; verify reports such rows as extra');
}
