/**
 * The artifact bucket as Safekeep's code sees it: multipart uploads that stay invisible until completed,
 * create-only writes, versioned reads and listings. platform/s3-artifact-store.ts implements it over the
 * SDK; dumps write through it, the recorder and the CLI read through it.
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

/** One version of a key, as ListObjectVersions reports it: an object version or a delete marker. */
export interface StoredVersionInfo {
  readonly key: string;
  readonly versionId: string;
  /** The key's current version: a key whose latest entry is a delete marker is deleted, yet recoverable. */
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  readonly lastModified?: Date;
}

/** The artifact bucket as the worker sees it. */
export interface ArtifactStore {
  readonly bucket: string;
  startUpload(key: string, contentType: string): Promise<MultipartUpload>;
  /** Writes `body` at `key` only if nothing is there yet (`If-None-Match: *`); false when something was. */
  putIfAbsent(key: string, body: string, contentType: string): Promise<{ created: boolean; versionId?: string }>;
  /**
   * Writes `body` at `key`, over what is there: only for results Safekeep keeps beside a backup (a drill's
   * `drill.json`), never for a backup's own objects; in the versioned bucket the earlier result stays as a
   * noncurrent version.
   */
  put(key: string, body: string, contentType: string): Promise<{ versionId?: string }>;
  read(key: string, versionId?: string): Promise<Readable>;
  readText(key: string, versionId?: string): Promise<string>;
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
  /** Every version and delete marker under `prefix`. */
  listVersions(prefix: string): AsyncIterable<StoredVersionInfo>;
  /**
   * Deletes `key`'s current version the only way Safekeep ever deletes: DeleteObject without a version id,
   * which in a versioned bucket adds a delete marker; the data stays as a noncurrent version until the
   * bucket's lifecycle expires it (and Object Lock, if any, still holds it). There is deliberately no way
   * to delete a version through this port.
   */
  deleteCurrent(key: string): Promise<void>;
}
