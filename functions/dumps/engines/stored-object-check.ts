/** How every engine's `verify` reads a stored object back through the completeness check its dump passed. */
import type { Readable } from 'node:stream';
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
