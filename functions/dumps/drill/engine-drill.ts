/** What each engine's part of a drill gets: the backup, the scratch server it was restored into, and a way to restore. */
import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import type { Manifest, ManifestObject } from '../../contracts/manifest.ts';
import type { Logger } from '../../contracts/telemetry.ts';
import type { RestoreOutcome } from '../engines/engine.ts';
import type { ScratchServer } from '../engines/scratch-server.ts';
import type { Findings } from './findings.ts';

export interface DrillContext {
  readonly manifest: Manifest;
  readonly scratch: ScratchServer;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly findings: Findings;
  /** Restores one database of the backup into the scratch server under its own name, as `safekeep restore` would. */
  restore(sourceDatabase: string, withGlobals: boolean): Promise<RestoreOutcome>;
  openVerified(object: ManifestObject): Promise<import('node:stream').Readable>;
}

export interface EngineDrill {
  /** Starts the scratch server this backup restores into. */
  start(manifest: Manifest, endpointUrl: string | undefined): Promise<ScratchServer>;
  /** Restores every database into it and compares what it holds with what the manifest recorded. */
  restoreAndCompare(drill: DrillContext): Promise<void>;
}

/** The restore's failure as one line; a drill goes on with the next database. */
export async function restored(drill: DrillContext, database: string, withGlobals: boolean): Promise<boolean> {
  try {
    await drill.restore(database, withGlobals);
    drill.findings.add('databases', 1);
    return true;
  } catch (error) {
    drill.findings.check(
      { what: 'restore', subject: database, ok: false },
      `restoring "${database}" into the scratch ${drill.scratch.engine} ${drill.scratch.serverVersion} server failed: ${(error as Error).message}`,
    );
    return false;
  }
}
