/**
 * The files a `dolt_backup` sync wrote into the artifact bucket, each read back and hashed, so the manifest
 * names every byte a restore will read and `restore`/`verify` refuse a file that changed since.
 */
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../../../contracts/artifact-store.ts';
import { DumpError } from '../../../contracts/errors.ts';
import type { ManifestObject } from '../../../contracts/manifest.ts';

export const DOLT_BACKUP_FORMAT = 'dolt-backup';

export async function hashBackupFiles(store: ArtifactStore, prefix: string, database: string): Promise<ManifestObject[]> {
  const objects: ManifestObject[] = [];
  for await (const file of store.list(prefix)) {
    const { sha256, bytes } = await sha256Of(store, file.key);
    objects.push({
      key: file.key,
      role: 'dolt-file',
      database,
      format: DOLT_BACKUP_FORMAT,
      compression: 'none',
      rawBytes: bytes,
      storedBytes: bytes,
      sha256,
    });
  }
  if (objects.length === 0) {
    // The server wrote somewhere else: its AWS endpoint, region or credentials differ from ours.
    throw new DumpError(
      `dolt_backup reported success for "${database}" but wrote nothing under s3://${store.bucket}/${prefix}; check the S3 endpoint and credentials the database server itself uses`,
    );
  }
  return objects;
}

async function sha256Of(store: ArtifactStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await store.read(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
