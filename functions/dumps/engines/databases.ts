/** Which databases a dump covers: shared by every engine's preflight. */
import { PreflightError } from '../../contracts/errors.ts';
import type { DatabaseEndpoint } from '../source.ts';

/**
 * The databases the source URL names, each of which must be among `available`, or every one of `available`
 * when the URL names none. `server` names the server in the error ("Dolt", "PostgreSQL").
 */
export function databasesToDump(source: DatabaseEndpoint, server: string, available: readonly string[]): readonly string[] {
  const missing = source.databases.filter((name) => !available.includes(name));
  if (missing.length > 0) {
    throw new PreflightError(
      `${server} at ${source.host}:${source.port} has no database ${missing.map((m) => `"${m}"`).join(', ')}; it has ${available.join(', ') || 'none'}`,
    );
  }
  return source.databases.length > 0 ? source.databases : available;
}
