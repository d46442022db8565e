/**
 * Restoring a backup: the manifest says what the run holds; every object needed is first read in full and
 * checked against its SHA-256, so a corrupt backup is refused before the target database is touched.
 */

import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { RestoreError, UsageError } from '../contracts/errors.ts';
import { loadManifest } from '../contracts/manifest.ts';
import type { Logger } from '../contracts/telemetry.ts';
import type { RestoreOutcome, RestoreRecipe } from './engines/engine.ts';
import { engineFor } from './engines/registry.ts';
import { checkStoredHash, openVerified } from './read-artifacts.ts';
import type { DatabaseEndpoint } from './source.ts';

export interface RestoreCommand {
  readonly manifestKey: string;
  /**
   * The manifest's version, for a pruned backup (its current version is a delete marker). The objects are
   * read at the versions the manifest pins either way, so a pruned backup restores like any other.
   */
  readonly manifestVersionId?: string;
  readonly target: DatabaseEndpoint;
  /** Database of the backup to restore; may be omitted when the backup holds exactly one. */
  readonly sourceDatabase?: string;
  readonly force: boolean;
  readonly swap: boolean;
  readonly withGlobals: boolean;
  readonly recipe?: RestoreRecipe;
  readonly timeoutMs: number;
  readonly endpointUrl?: string;
}

export async function runRestore(
  command: RestoreCommand,
  context: { store: ArtifactStore; log: Logger },
): Promise<RestoreOutcome & { runId: string }> {
  const { manifest, prefix } = await loadManifest(context.store, command.manifestKey, command.manifestVersionId);
  if (manifest.engine !== command.target.engine) {
    throw new UsageError(
      `the backup was taken with --engine ${manifest.engine}, but the restore target is ${command.target.engine}`,
    );
  }
  const [targetDatabase, ...extra] = command.target.databases;
  if (!targetDatabase || extra.length > 0) {
    throw new UsageError(
      '--target must name exactly one database to restore into, e.g. postgres://user@host:5432/metadb_restored',
    );
  }
  const databases = manifest.source.databases;
  const sourceDatabase = command.sourceDatabase ?? (databases.length === 1 ? databases[0] : undefined);
  if (!sourceDatabase || !databases.includes(sourceDatabase)) {
    throw new UsageError(`choose the database to restore with --database; the backup holds ${databases.join(', ')}`);
  }
  if (command.recipe === 'bytebase' && manifest.engine !== 'postgres') {
    throw new UsageError(`--recipe bytebase restores Bytebase's PostgreSQL metadata; this backup is ${manifest.engine}`);
  }
  if (command.swap && command.force) throw new UsageError('--swap always restores into a new temporary database; drop --force');

  const engine = engineFor(manifest.engine);
  const needed = manifest.objects.filter(
    (object) =>
      object.database === sourceDatabase ||
      (command.withGlobals && (object.role === 'globals' || object.role === 'grants' || object.role === 'branch-control')),
  );
  // A Dolt backup synced to file:// has no objects in the bucket: the server reads it back from its own disk.
  const syncedByServer = manifest.dolt?.some((entry) => entry.database === sourceDatabase) ?? false;
  if (needed.length === 0 && !syncedByServer)
    throw new RestoreError(`the backup holds no objects for database "${sourceDatabase}"`);
  // All at once: a parallel backup's parts are checked in the time of its largest, not of their sum.
  await Promise.all(needed.map((object) => checkStoredHash(context.store, object)));
  context.log.info('artifacts verified, restoring', { runId: manifest.runId, database: sourceDatabase, into: targetDatabase });

  const outcome = await engine.restore({
    manifest,
    prefix,
    endpointUrl: command.endpointUrl,
    store: context.store,
    target: command.target,
    sourceDatabase,
    targetDatabase,
    force: command.force,
    swap: command.swap,
    withGlobals: command.withGlobals,
    recipe: command.recipe,
    timeoutMs: command.timeoutMs,
    log: context.log,
    openVerified: (object) => openVerified(context.store, object),
  });
  return { ...outcome, runId: manifest.runId };
}
