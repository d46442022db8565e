/**
 * Bytebase's restore option 2 ("restore to a different database"): `migration_history.namespace` names the
 * metadata database, so a copy restored under another name must have those rows rewritten to the new name, or
 * Bytebase treats its own schema history as another database's.
 */
import type pg from 'pg';
import { RestoreError } from '../../../contracts/errors.ts';

export interface NamespaceRewrite {
  /** Rows moved from the source name to the target name (0 when the names are the same). */
  readonly rewritten: number;
}

/**
 * Rewrites the namespace rows of `from` to `to` in one transaction; refuses (throws, nothing changed) when the
 * database has no migration_history table, or when rows already name `to`.
 */
export async function rewriteBytebaseNamespace(db: pg.Client, from: string, to: string): Promise<NamespaceRewrite> {
  await db.query('BEGIN');
  try {
    const table = await db.query<{ t: string | null }>("SELECT to_regclass('migration_history')::text AS t");
    if (!table.rows[0]?.t) {
      throw new RestoreError(
        '--recipe bytebase: the backup has no migration_history table, so it is not Bytebase metadata; restore it without --recipe',
        2,
      );
    }
    if (from === to) {
      await db.query('COMMIT');
      return { rewritten: 0 };
    }
    // Lock the table so that no row can appear between the check and the update.
    await db.query('LOCK TABLE migration_history IN EXCLUSIVE MODE');
    const clash = await db.query<{ n: string }>('SELECT count(*) AS n FROM migration_history WHERE namespace = $1', [to]);
    const clashing = Number(clash.rows[0]?.n ?? 0);
    if (clashing > 0) {
      throw new RestoreError(
        `--recipe bytebase: migration_history already has ${clashing} row(s) for namespace "${to}", so it cannot take over "${from}"'s; restore under another name`,
        2,
      );
    }
    const update = await db.query('UPDATE migration_history SET namespace = $1 WHERE namespace = $2', [to, from]);
    await db.query('COMMIT');
    return { rewritten: update.rowCount ?? 0 };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
