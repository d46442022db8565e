/**
 * What the worker's core needs from the outside world. Adapters in `../adapters/` implement these over
 * the AWS SDK and child processes; tests can drive the core through the same ports.
 */
import type { Readable } from 'node:stream';

export interface UploadedPart {
  readonly PartNumber: number;
  readonly ETag: string;
  /** Base64 SHA-256 of the part, checked by S3 on receipt. */
  readonly ChecksumSHA256?: string;
}

/** One open S3 multipart upload: nothing is visible at `key` until `complete` succeeds. */
export interface MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  uploadPart(partNumber: number, body: Buffer): Promise<UploadedPart>;
  complete(parts: readonly UploadedPart[]): Promise<{ versionId?: string }>;
  /** Removes the upload and its parts; retried until the store answers, since a lingering upload costs money. */
  abort(): Promise<void>;
}

export interface StoredObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly versionId?: string;
  readonly lastModified?: Date;
}

/** The artifact bucket as the worker sees it. */
export interface ArtifactStore {
  readonly bucket: string;
  startUpload(key: string, contentType: string): Promise<MultipartUpload>;
  /** Writes `body` at `key` only if nothing is there yet (`If-None-Match: *`); false when something was. */
  putIfAbsent(key: string, body: string, contentType: string): Promise<{ created: boolean; versionId?: string }>;
  read(key: string, versionId?: string): Promise<Readable>;
  readText(key: string, versionId?: string): Promise<string>;
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
}

export interface ProducerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** `kill()` was called (the run was failing for another reason). */
  readonly stoppedByUs: boolean;
  /** The last lines the tool wrote to stderr, with secrets redacted. */
  readonly stderrTail: string;
}

/** A running dump tool whose stdout is the artifact. */
export interface Producer {
  /** For messages: "pg_dump of metadb". */
  readonly description: string;
  readonly stdout: Readable;
  readonly exited: Promise<ProducerExit>;
  kill(): void;
}

/** Narrow logger: the worker never needs more than this. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}
