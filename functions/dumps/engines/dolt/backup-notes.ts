/** What a Dolt or Doltgres backup does not hold, in lines the CLI prints after dump and verify. */
import type { Manifest } from '../../../contracts/manifest.ts';
import { describeMissing } from './doltgres-inventory.ts';

export function notHeldBy(manifest: Manifest): string[] {
  const entries = manifest.dolt ?? [];
  const general = [...new Set(entries.flatMap((entry) => entry.notIncluded ?? []))].map((line) => `not in this backup: ${line}`);
  const missing = entries
    .filter((entry) => (entry.missing ?? []).length > 0)
    .map(
      (entry) =>
        `"${entry.database}" is backed up without ${entry.missing?.length} objects (listed in the manifest): ${describeMissing(entry.missing ?? [])}`,
    );
  return [...missing, ...general];
}

/** Objects the manifest records as missing, across all databases. */
export const missingCount = (manifest: Manifest) =>
  (manifest.dolt ?? []).reduce((sum, entry) => sum + (entry.missing?.length ?? 0), 0);
