/**
 * Verifying a backup without restoring it into anything the user owns: every object is re-read, its
 * SHA-256 checked against the manifest, and the engine confirms the content is a complete archive.
 */
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { loadManifest } from '../contracts/manifest.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { missingCount, notHeldBy } from './engines/dolt/backup-notes.ts';
import { engineFor } from './engines/registry.ts';
import { openVerified } from './read-artifacts.ts';

export interface VerifyResult {
  readonly runId: string;
  readonly target: string;
  readonly engine: string;
  readonly objects: readonly string[];
  readonly storedBytes: number;
  /** What the backup does not hold (Doltgres: users, server state, objects recorded as missing). */
  readonly notHeld: readonly string[];
  /** Objects the manifest records as missing: when any, the backup is not whole. */
  readonly missingObjects: number;
}

export async function runVerify(
  manifestKey: string,
  context: { store: ArtifactStore; log: Logger; timeoutMs: number; endpointUrl?: string },
): Promise<VerifyResult> {
  const { manifest } = await loadManifest(context.store, manifestKey);
  const { checked } = await engineFor(manifest.engine).verify({
    manifest,
    store: context.store,
    endpointUrl: context.endpointUrl,
    timeoutMs: context.timeoutMs,
    log: context.log,
    openVerified: (object) => openVerified(context.store, object),
  });
  context.log.info('backup verified', { runId: manifest.runId, objects: checked.length });
  return {
    runId: manifest.runId,
    target: manifest.target,
    engine: manifest.engine,
    objects: checked,
    storedBytes: manifest.totals.storedBytes,
    notHeld: notHeldBy(manifest),
    missingObjects: missingCount(manifest),
  };
}
