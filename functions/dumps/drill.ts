/**
 * The restore drill of a dump backup: a backup is proven by restoring it. Every object's SHA-256 is checked
 * against the manifest, then the backup is restored into a throwaway server of its engine that the drill
 * starts itself (on 127.0.0.1, in a temporary directory, always stopped and removed at the end), and what
 * that server holds is compared with what the manifest recorded: databases, tables, every table's rows,
 * schema objects, and for Dolt and Doltgres every branch head, tag and working set. The result, shaped like
 * AWS Backup's restore validation, is written as `drill.json` beside the manifest.
 */

import { MANIFEST_FILE } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { type DrillPick, type DrillResult, drillKeyOf } from '../contracts/drill.ts';
import { IntegrityError, SafekeepError, StoppedError } from '../contracts/errors.ts';
import { type Engine, loadManifest, type Manifest } from '../contracts/manifest.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { doltDrill, doltgresDrill } from './drill/dolt.ts';
import type { EngineDrill } from './drill/engine-drill.ts';
import { Findings } from './drill/findings.ts';
import { mysqlDrill } from './drill/mysql.ts';
import { postgresDrill } from './drill/postgres.ts';
import { engineFor } from './engines/registry.ts';
import type { ScratchServer } from './engines/scratch-server.ts';
import { checkStoredHash, openVerified } from './read-artifacts.ts';

const DRILLS: Record<Engine, EngineDrill> = {
  postgres: postgresDrill,
  mysql: mysqlDrill,
  dolt: doltDrill,
  doltgres: doltgresDrill,
};

export interface DrillRequest {
  readonly manifestKey: string;
  /** The drill's own id (run id grammar). */
  readonly drillId: string;
  readonly trigger: 'schedule' | 'manual';
  readonly pick?: DrillPick;
  readonly timeoutMs: number;
  /** The S3 endpoint override, for servers that read the backup themselves (Dolt, Doltgres). */
  readonly endpointUrl?: string;
}

export interface DrillContext {
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly now: () => Date;
  /**
   * Aborted by SIGTERM/SIGINT: the scratch server is stopped at once (it runs in its own process group, so a
   * signal to ours would not reach it), nothing is written, and the drill ends with a StoppedError: a drill
   * cut short proves nothing either way.
   */
  readonly stop?: AbortSignal;
}

/** Runs the drill and writes its result; a failed drill is a result (FAILED), not an exception. */
export async function runDrill(request: DrillRequest, context: DrillContext): Promise<{ result: DrillResult; key: string }> {
  const startedAt = context.now();
  const findings = new Findings();
  let manifest: Manifest | undefined;
  let scratch: ScratchServer | undefined;
  const onStop = () => void scratch?.stop();
  context.stop?.addEventListener('abort', onStop, { once: true });
  try {
    manifest = await readManifest(context.store, request.manifestKey, findings);
    if (manifest) await checkHashes(manifest, context.store, findings);
    if (manifest && findings.problems.length === 0) {
      const drill = DRILLS[manifest.engine];
      context.log.info('starting a scratch server for the drill', { engine: manifest.engine, runId: manifest.runId });
      scratch = await drill.start(manifest, request.endpointUrl);
      if (context.stop?.aborted) onStop();
      context.log.info('restoring into the scratch server', { engine: scratch.engine, version: scratch.serverVersion });
      await drill.restoreAndCompare(drillContext(manifest, scratch, request, context, findings));
      findings.check({
        what: 'databases',
        expected: manifest.source.databases.length,
        found: findings.counts.databases ?? 0,
        ok: (findings.counts.databases ?? 0) === manifest.source.databases.length,
      });
    }
  } catch (error) {
    if (!(error instanceof SafekeepError)) throw error;
    findings.fail(error.message);
  } finally {
    context.stop?.removeEventListener('abort', onStop);
    await scratch?.stop();
  }
  if (context.stop?.aborted) {
    throw new StoppedError(
      `the drill of ${request.manifestKey} was stopped (${String(context.stop.reason)}); nothing was recorded`,
    );
  }
  const result = drillResult(request, manifest, scratch, findings, startedAt, context.now());
  const key = drillKeyOf(request.manifestKey);
  await context.store.put(key, `${JSON.stringify(result, null, 2)}\n`, 'application/json');
  context.log.info('drill recorded', { key, status: result.validationStatus });
  return { result, key };
}

/**
 * The backup's manifest. A corrupt one is a failed drill (recorded); one that cannot be read at all (no such
 * key, no access) is an error of the drill's own, and nothing is written beside a backup that may not exist.
 */
async function readManifest(store: ArtifactStore, key: string, findings: Findings): Promise<Manifest | undefined> {
  try {
    return (await loadManifest(store, key)).manifest;
  } catch (error) {
    if (!(error instanceof IntegrityError)) throw error;
    findings.fail(error.message);
    return undefined;
  }
}

/** Every object read in full through its SHA-256; all are checked, so the result names every corrupt one. */
async function checkHashes(manifest: Manifest, store: ArtifactStore, findings: Findings): Promise<void> {
  for (const object of manifest.objects) {
    try {
      await checkStoredHash(store, object);
      findings.check({ what: 'sha256', subject: object.key, expected: object.sha256, found: object.sha256, ok: true });
    } catch (error) {
      if (!(error instanceof SafekeepError)) throw error;
      findings.check({ what: 'sha256', subject: object.key, expected: object.sha256, ok: false }, error.message);
    }
    findings.add('objects', 1);
  }
}

function drillContext(
  manifest: Manifest,
  scratch: ScratchServer,
  request: DrillRequest,
  context: DrillContext,
  findings: Findings,
) {
  const read = (object: Manifest['objects'][number]) => openVerified(context.store, object);
  const prefix = request.manifestKey.slice(0, request.manifestKey.length - MANIFEST_FILE.length);
  return {
    manifest,
    scratch,
    store: context.store,
    log: context.log,
    findings,
    openVerified: read,
    restore: (sourceDatabase: string, withGlobals: boolean) =>
      engineFor(manifest.engine).restore({
        manifest,
        prefix,
        endpointUrl: request.endpointUrl,
        store: context.store,
        target: scratch.endpoint,
        sourceDatabase,
        targetDatabase: sourceDatabase,
        force: false,
        swap: false,
        withGlobals,
        timeoutMs: request.timeoutMs,
        log: context.log,
        openVerified: read,
      }),
  };
}

function drillResult(
  request: DrillRequest,
  manifest: Manifest | undefined,
  scratch: ScratchServer | undefined,
  findings: Findings,
  startedAt: Date,
  finishedAt: Date,
): DrillResult {
  const ok = findings.problems.length === 0;
  const counts = findings.counts;
  const more = findings.problems.length > 1 ? ` (and ${findings.problems.length - 1} more problems)` : '';
  const summary = `restored ${plural(counts.databases ?? 0, 'database')} into a scratch ${scratch?.engine ?? ''} ${scratch?.serverVersion ?? ''} server: ${plural(counts.tables ?? 0, 'table')}, ${plural(counts.rows ?? 0, 'row')}, every object's SHA-256 and every count as the backup recorded`;
  return {
    safekeepDrill: 1,
    target: manifest?.target ?? request.manifestKey.split('/')[0] ?? '',
    drillId: request.drillId,
    backupRunId: manifest?.runId ?? runIdOfKey(request.manifestKey),
    restoredFrom: { manifestKey: request.manifestKey },
    trigger: request.trigger,
    ...(request.pick ? { pick: request.pick } : {}),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.max(0, (finishedAt.getTime() - startedAt.getTime()) / 1000),
    validationStatus: ok ? 'SUCCESSFUL' : 'FAILED',
    validationStatusMessage: ok
      ? `${summary.replace(/ {2,}/g, ' ')}${scratch?.note ? `; ${scratch.note}` : ''}`
      : `${findings.problems[0]}${more}${scratch?.note ? `; ${scratch.note}` : ''}`,
    restore: {
      kind: 'scratch-server',
      ...(manifest ? { engine: manifest.engine } : {}),
      ...(scratch ? { serverVersion: `${scratch.engine} ${scratch.serverVersion}` } : {}),
    },
    compared: findings.compared,
    counts,
  };
}

/** `<target>/<yyyy>/<mm>/<dd>/<run id>/manifest.json` -> the run id. */
function runIdOfKey(manifestKey: string): string {
  return manifestKey.split('/').at(-2) ?? '';
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
