/**
 * One backup run: preflight (before any upload), stream every object of the run through the commit
 * protocol, then complete the uploads and write the manifest last. Any failure aborts every open upload of
 * the run, and earlier backups are never read, listed or touched. Only once the manifest is committed, and
 * only for a configured target (one with `retention`), are the target's older backups pruned.
 */

import { MANIFEST_FILE, newRunId, RUN_ID_PATTERN, runDate, runPrefix, type S3Location } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { StoppedError, StoreError, UsageError } from '../contracts/errors.ts';
import type { Compression } from '../contracts/manifest.ts';
import { type Engine, type Manifest, type ManifestObject, manifestSchema } from '../contracts/manifest.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { type PartSizePolicy, partSizesForStreams } from './commit/part-size.ts';
import { abandon, commitRun, type StagedObject, stageObject } from './commit/stage-object.ts';
import type { DatabaseEngine, DoltRemoteOptions, StageSpec } from './engines/engine.ts';
import { type DumpPruneResult, type DumpRetention, pruneDumpTarget } from './prune.ts';
import type { DatabaseEndpoint } from './source.ts';

export interface DumpRequest {
  readonly engine: DatabaseEngine;
  readonly source: DatabaseEndpoint;
  readonly destination: S3Location;
  /** Target name recorded in the manifest (the last segment of the destination prefix by default). */
  readonly target: string;
  readonly compression: Compression;
  readonly timeoutMs: number;
  readonly partSizes?: PartSizePolicy;
  /** Streams per database (PostgreSQL), from the target's `parallelism`; 1 when absent. */
  readonly parallelism?: number;
  readonly endpointUrl?: string;
  readonly dolt?: DoltRemoteOptions;
  /** Run id chosen by the dispatcher (so it can find the manifest); a new one otherwise. */
  readonly runId?: string;
  /**
   * A configured target's retention: applied to its backups right after this run's manifest is committed.
   * Absent for an ad-hoc dump (`--to`), which prunes nothing.
   */
  readonly retention?: DumpRetention;
}

export interface DumpContext {
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
  /** Progress of the object being streamed. */
  readonly onProgress?: (progress: { object: string; rawBytes: number; storedBytes: number }) => void;
  /**
   * Aborted when the run must stop (SIGTERM from ECS, SIGINT): the tools are stopped, every open upload is
   * aborted, no manifest is written, and the run fails with a StoppedError.
   */
  readonly stop?: AbortSignal;
}

export interface DumpResult {
  readonly manifest: Manifest;
  readonly manifestKey: string;
  /** What the prune after the run did, or why it failed (the backup itself stands either way). */
  readonly prune?: DumpPruneResult | { readonly error: string };
}

export async function runDump(request: DumpRequest, context: DumpContext): Promise<DumpResult> {
  const { engine, source } = request;
  const startedAt = context.now();
  const stopped = () =>
    new StoppedError(
      `the backup of ${request.target} was stopped (${String(context.stop?.reason ?? 'stop requested')}) before it finished; every upload was aborted and no manifest written, so there is no backup of this run`,
    );
  const parallelism = request.parallelism ?? 1;
  const facts = await engine.preflight(source, request.timeoutMs);
  if (context.stop?.aborted) throw stopped();
  const runId = request.runId ?? newRunId(startedAt, context.randomSuffix());
  if (!RUN_ID_PATTERN.test(runId))
    throw new UsageError(`run id "${runId}" is not valid: expected yyyymmddThhmmssZ-suffix, as the dispatcher makes them`);
  const prefix = runPrefix(request.destination.prefix, runDate(runId) ?? startedAt, runId);
  context.log.info('backup started', { target: request.target, engine: engine.engine, runId, databases: facts.databases });

  const staged: StagedObject[] = [];
  const described: Omit<ManifestObject, 'versionId'>[] = [];
  // The tools still writing: a stop ends each, so its stage aborts its own upload and fails.
  const live = new Set<StageSpec['producer']>();
  const stopTools = () => {
    for (const producer of live) producer.kill();
  };
  context.stop?.addEventListener('abort', stopTools, { once: true });
  const stage = async (spec: StageSpec) => {
    const key = `${prefix}${spec.name}`;
    if (context.stop?.aborted) {
      spec.producer.kill();
      spec.completeness.abort();
      throw stopped();
    }
    live.add(spec.producer);
    let upload: Awaited<ReturnType<ArtifactStore['startUpload']>>;
    try {
      upload = await context.store.startUpload(key, contentTypeOf(spec.format, request.compression));
    } catch (error) {
      spec.producer.kill();
      spec.completeness.abort();
      throw error;
    }
    const object = await stageObject({
      producer: spec.producer,
      upload,
      compression: request.compression,
      completeness: spec.completeness,
      // N streams at once share the memory one stream would have: smaller parts each.
      partSizes: request.partSizes ?? partSizesForStreams(parallelism),
      onProgress: (rawBytes, storedBytes) => context.onProgress?.({ object: spec.name, rawBytes, storedBytes }),
    }).finally(() => live.delete(spec.producer));
    staged.push(object);
    described.push({
      key,
      role: spec.role,
      database: spec.database,
      format: spec.format,
      compression: request.compression,
      rawBytes: object.rawBytes,
      storedBytes: object.storedBytes,
      sha256: object.sha256,
      rowCounts: object.report.rowCounts,
      ...(object.report.schemaObjects ? { schemaObjects: object.report.schemaObjects } : {}),
      ...(object.report.extensions ? { extensions: [...object.report.extensions] } : {}),
      ...(spec.part ? { part: spec.part } : {}),
    });
  };

  let outcome: Awaited<ReturnType<DatabaseEngine['dump']>>;
  try {
    outcome = await engine.dump({
      source,
      facts,
      store: context.store,
      endpointUrl: request.endpointUrl,
      dolt: request.dolt ?? {},
      prefix,
      compression: request.compression,
      timeoutMs: request.timeoutMs,
      parallelism,
      log: context.log,
      stage,
    });
    if (context.stop?.aborted) throw stopped();
  } catch (error) {
    await abandon(staged);
    throw context.stop?.aborted ? stopped() : error;
  } finally {
    context.stop?.removeEventListener('abort', stopTools);
  }

  const manifestKey = `${prefix}${MANIFEST_FILE}`;
  const manifest = await commitRun(staged, async (versions) => {
    const objects: ManifestObject[] = [
      ...described.map((object) => ({ ...object, versionId: versions.get(object.key) })),
      ...(outcome.extraObjects ?? []),
    ];
    const finishedAt = context.now();
    const record = manifestSchema.parse({
      safekeepManifest: 1,
      target: request.target,
      engine: engine.engine as Engine,
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      source: { host: source.host, port: source.port, serverVersion: facts.serverVersion, databases: [...facts.databases] },
      client: facts.client,
      compression: request.compression,
      objects,
      dolt: outcome.dolt,
      totals: {
        rawBytes: objects.reduce((sum, o) => sum + (o.rawBytes ?? 0), 0),
        storedBytes: objects.reduce((sum, o) => sum + o.storedBytes, 0),
        objects: objects.length,
      },
    });
    // The last moment a stop can still leave no backup behind: nothing is a backup without its manifest.
    if (context.stop?.aborted) throw stopped();
    const put = await context.store.putIfAbsent(manifestKey, `${JSON.stringify(record, null, 2)}\n`, 'application/json');
    if (!put.created) {
      throw new StoreError(`a manifest already exists at ${manifestKey}; run ids must be unique, so this run was not recorded`);
    }
    return record;
  });
  context.log.info('backup committed', {
    target: request.target,
    runId,
    manifest: manifestKey,
    bytes: manifest.totals.storedBytes,
  });
  if (!request.retention?.policy) return { manifest, manifestKey };
  return { manifest, manifestKey, prune: await pruneAfterRun(request, request.retention, runId, context) };
}

/**
 * The prune after a committed run. It runs here, in the worker, rather than in a prune Lambda the recorder
 * would trigger: the worker already holds the target's retention (deployment document or config) and its
 * store, so one code path covers the Fargate task, the Lambda worker and a local `safekeep dump --target`,
 * with no extra function, trigger or queue that could fail on its own; the role that writes the prefix gets
 * a narrow grant to delete-mark it (ArtifactBucket.grantPruneTarget). Its failure does not fail the run: the backup is whole and recorded, and
 * the next run's prune decides over the same backups again (retention is hereditary), so it is a warning.
 */
async function pruneAfterRun(
  request: DumpRequest,
  retention: DumpRetention,
  runId: string,
  context: DumpContext,
): Promise<DumpPruneResult | { error: string }> {
  try {
    const result = await pruneDumpTarget(context.store, {
      target: request.destination.prefix,
      retention,
      now: context.now(),
      dryRun: false,
      protectRunId: runId,
    });
    context.log.info('pruned', { target: request.target, kept: result.kept.length, deleted: result.deleted.length });
    return result;
  } catch (error) {
    const message = `the backup is committed, but pruning older backups of "${request.target}" failed (${(error as Error).message}); run safekeep prune --target ${request.target}`;
    context.log.warn(message, { target: request.target });
    return { error: message };
  }
}

function contentTypeOf(format: string, compression: Compression): string {
  if (compression === 'zstd') return 'application/zstd';
  if (compression === 'gzip') return 'application/gzip';
  return format === 'sql' ? 'application/sql' : 'application/octet-stream';
}
