/**
 * Reading backups back: the manifest, and objects streamed through a SHA-256 check against the manifest
 * and then decompressed. A mismatch, a truncation or undecodable bytes all end the stream with an
 * IntegrityError naming the object.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MANIFEST_FILE, parseS3Url } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { IntegrityError, SafekeepError } from '../contracts/errors.ts';
import type { ManifestObject } from '../contracts/manifest.ts';
import { decompressor } from './commit/compression.ts';

/** `--from s3://bucket/.../manifest.json` (or the run's directory). */
export function manifestLocation(url: string): { bucket: string; key: string } {
  const { bucket, prefix } = parseS3Url(url, '--from');
  return { bucket, key: prefix.endsWith(MANIFEST_FILE) ? prefix : `${prefix}/${MANIFEST_FILE}` };
}

/** Streams the stored bytes and fails unless they hash to what the manifest recorded. */
function hashGuard(object: ManifestObject): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest('hex');
      if (size !== object.storedBytes || actual !== object.sha256) {
        callback(
          new IntegrityError(
            `${object.key} is corrupt: ${size} bytes with SHA-256 ${actual.slice(0, 16)}..., the manifest recorded ${object.storedBytes} bytes with ${object.sha256.slice(0, 16)}...; it will not be restored`,
          ),
        );
      } else {
        callback();
      }
    },
  });
}

/** Reads the whole object and checks its SHA-256, without decompressing. */
export async function checkStoredHash(store: ArtifactStore, object: ManifestObject): Promise<void> {
  const body = await store.read(object.key, object.versionId);
  const guard = hashGuard(object);
  await pipeline(body, guard, async (source) => {
    for await (const _ of source) {
      // drain: only the hash matters here
    }
  });
}

/** Waits for room in `stream`, or for its end; leaves no listener behind (one per chunk would pile up). */
function drainedOrClosed(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** The object's decompressed content; the stream errors with IntegrityError on any corruption. */
export async function openVerified(store: ArtifactStore, object: ManifestObject): Promise<Readable> {
  const body = await store.read(object.key, object.versionId);
  const output = new PassThrough();
  pipeline(body, hashGuard(object), decompressor(object.compression), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      if (output.destroyed) return; // the consumer stopped reading (and will report why)
      if (!output.write(chunk)) await drainedOrClosed(output);
    }
  }).then(
    () => output.end(),
    (error: unknown) => {
      const failure =
        error instanceof SafekeepError
          ? error
          : new IntegrityError(
              `${object.key} is corrupt: it cannot be decompressed (${(error as Error).message}); it will not be restored`,
            );
      output.destroy(failure);
    },
  );
  return output;
}
