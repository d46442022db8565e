/**
 * The commit protocol for one streamed artifact:
 *
 *   producer stdout -> completeness check (raw bytes) -> compression -> SHA-256 -> S3 multipart parts
 *
 * `stageObject` leaves the multipart upload OPEN: nothing is visible at the final key. It returns a
 * staged object only when the producer exited 0, its completeness check passed and the hash is known;
 * on anything else it aborts the upload and throws. `commitRun` completes every staged upload of a run
 * and only then writes the manifest, so a backup exists if and only if its manifest exists.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartUpload, UploadedPart } from '../../contracts/artifact-store.ts';
import { DumpError, SafekeepError, StoreError } from '../../contracts/errors.ts';
import type { Compression } from '../../contracts/manifest.ts';
import type { CompletenessCheck, CompletenessReport } from './completeness.ts';
import { compressor } from './compression.ts';
import type { PartSizePolicy } from './part-size.ts';
import { PartWriter } from './part-writer.ts';
import type { Producer, ProducerExit } from './producer.ts';

/** How many raw bytes go to the completeness check and the compressor at once. */
const BATCH_BYTES = 1024 * 1024;

export interface StageOptions {
  readonly producer: Producer;
  readonly upload: MultipartUpload;
  readonly compression: Compression;
  readonly completeness: CompletenessCheck;
  readonly partSizes: PartSizePolicy;
  /** Called as bytes flow, for progress lines. */
  readonly onProgress?: (rawBytes: number, storedBytes: number) => void;
}

export interface StagedObject {
  readonly key: string;
  readonly upload: MultipartUpload;
  readonly parts: readonly UploadedPart[];
  readonly rawBytes: number;
  readonly storedBytes: number;
  /** Hex SHA-256 of the stored (compressed) bytes. */
  readonly sha256: string;
  readonly report: CompletenessReport;
}

export async function stageObject(options: StageOptions): Promise<StagedObject> {
  const { producer, upload, completeness } = options;
  const hash = createHash('sha256');
  let rawBytes = 0;
  let storedBytes = 0;
  // The tool's pipe delivers 64 KiB reads; the check and the codec cost a call per chunk, so hand them 1 MiB.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const checkAndPass = (callback: (error?: Error | null, batch?: Buffer) => void) => {
    if (pendingBytes === 0) return callback();
    const batch = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    try {
      const checked = completeness.update(batch);
      if (checked) checked.then(() => callback(null, batch), callback);
      else callback(null, batch);
    } catch (error) {
      callback(error as Error);
    }
  };
  const rawTap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      rawBytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < BATCH_BYTES) callback();
      else checkAndPass(callback);
    },
    flush(callback) {
      checkAndPass(callback);
    },
  });
  const storedTap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      storedBytes += chunk.length;
      options.onProgress?.(rawBytes, storedBytes);
      callback(null, chunk);
    },
  });
  const writer = new PartWriter(upload, options.partSizes);

  try {
    try {
      await pipeline(producer.stdout, rawTap, compressor(options.compression), storedTap, writer);
    } catch (error) {
      // A failed upload or check: stop the tool. Its own failure explains more, unless we stopped it.
      producer.kill();
      const exit = await producer.exited;
      throw (exit.stoppedByUs ? undefined : exitFailure(producer, exit)) ?? asSafekeepError(error);
    }
    const failure = exitFailure(producer, await producer.exited);
    if (failure) throw failure;
    const report = await completeness.finish();
    return { key: upload.key, upload, parts: writer.parts, rawBytes, storedBytes, sha256: hash.digest('hex'), report };
  } catch (error) {
    completeness.abort();
    await upload.abort();
    throw error;
  }
}

/** A DumpError describing how the producer failed, or undefined when it exited 0. */
function exitFailure(producer: Producer, exit: ProducerExit): DumpError | undefined {
  const said = exit.stderrTail ? `: ${exit.stderrTail}` : '';
  if (exit.timedOut) {
    return new DumpError(
      `${producer.description} did not finish before the timeout and was stopped${said}; raise --timeout or find what blocks it`,
      5,
    );
  }
  if (exit.signal) return new DumpError(`${producer.description} was killed by ${exit.signal}${said}`);
  if (exit.code !== 0) return new DumpError(`${producer.description} failed with exit code ${exit.code}${said}`);
  return undefined;
}

function asSafekeepError(error: unknown): SafekeepError {
  if (error instanceof SafekeepError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError(`uploading to S3 failed: ${message}; check the endpoint, credentials and bucket`, { cause: error });
}

/**
 * Makes a run's staged objects visible, then writes the manifest (last, and only if absent). If any
 * completion fails, the remaining uploads are aborted and no manifest is written.
 */
export async function commitRun<T>(
  staged: readonly StagedObject[],
  writeManifest: (versions: ReadonlyMap<string, string | undefined>) => Promise<T>,
): Promise<T> {
  const versions = new Map<string, string | undefined>();
  for (const [index, object] of staged.entries()) {
    try {
      const { versionId } = await object.upload.complete(object.parts);
      versions.set(object.key, versionId);
    } catch (error) {
      await abandon(staged.slice(index));
      throw new StoreError(
        `completing the upload of ${object.key} failed: ${(error as Error).message}; no manifest was written`,
        {
          cause: error,
        },
      );
    }
  }
  return writeManifest(versions);
}

/** Aborts every staged upload (after a later object of the same run failed). */
export async function abandon(staged: readonly StagedObject[]): Promise<void> {
  await Promise.allSettled(staged.map((object) => object.upload.abort()));
}
