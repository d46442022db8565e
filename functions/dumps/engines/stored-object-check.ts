/** How every engine's `verify` reads a stored object back through the completeness check its dump passed. */
import type { Readable } from 'node:stream';
import { IntegrityError } from '../../contracts/errors.ts';
import type { ManifestObject } from '../../contracts/manifest.ts';
import type { CompletenessCheck, CompletenessReport } from '../commit/completeness.ts';

/**
 * Feeds an object opened with `openVerified` (so its SHA-256 is checked as it streams) through `check`, and
 * returns what the check learned. Without a check only the SHA-256 is checked.
 */
export async function checkStoredObject(stream: Readable, check: CompletenessCheck | undefined): Promise<CompletenessReport> {
  try {
    for await (const chunk of stream) await check?.update(chunk as Buffer);
  } catch (error) {
    check?.abort();
    throw error;
  }
  return (await check?.finish()) ?? {};
}

/** Fails when the rows found in a stored object differ from those its manifest entry recorded at dump time. */
export function compareRowCounts(object: ManifestObject, counts: Readonly<Record<string, number>>): void {
  for (const [table, rows] of Object.entries(object.rowCounts ?? {})) {
    if (counts[table] !== rows) {
      throw new IntegrityError(
        `${object.key}: table ${table} holds ${counts[table] ?? 0} rows but the manifest recorded ${rows}`,
      );
    }
  }
}
