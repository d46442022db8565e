/**
 * Where one database's Dolt backup goes in one run. A `dolt_backup('sync-url', ...)` makes its destination
 * exactly the database's current state, overwriting what was there, so every run and database gets its own
 * directory: `<run prefix>dolt/<database>`. Dolt writes there itself, from inside the server.
 */
import { UsageError } from '../../../contracts/errors.ts';
import type { DoltRemoteOptions } from '../engine.ts';

export interface DoltRemote {
  /** What `dolt_backup` syncs to and restores from. */
  readonly url: string;
  /** Key prefix (ending in "/") of the backup's files in the artifact bucket; undefined when they live elsewhere. */
  readonly bucketPrefix?: string;
}

const SCHEMES = ['aws', 'file', 's3', 'gs'];
const DYNAMO_TABLE = /^[A-Za-z0-9_.-]{3,255}$/;

/** The remote of `database` in the run at `runPrefix` (which ends in "/"). */
export function doltRemoteFor(options: DoltRemoteOptions, bucket: string, runPrefix: string, database: string): DoltRemote {
  const path = `${runPrefix}dolt/${pathSegment(database)}`;
  if (options.dynamoTable) {
    if (!DYNAMO_TABLE.test(options.dynamoTable)) {
      throw new UsageError(`--dolt-dynamodb-table must be a DynamoDB table name, got "${options.dynamoTable}"`);
    }
    return { url: `aws://[${options.dynamoTable}:${bucket}]/${path}`, bucketPrefix: `${path}/` };
  }
  if (options.baseUrl) {
    const scheme = /^([a-z0-9]+):\/\//.exec(options.baseUrl)?.[1] ?? '';
    if (!SCHEMES.includes(scheme)) {
      throw new UsageError(
        `--dolt-url must be a Dolt remote URL starting with ${SCHEMES.map((s) => `${s}://`).join(', ')}, got "${options.baseUrl}"`,
      );
    }
    const url = `${options.baseUrl.replace(/\/+$/, '')}/${path}`;
    const location = bucketLocation(url);
    return { url, bucketPrefix: location?.bucket === bucket ? `${location.key}/` : undefined };
  }
  throw new UsageError(
    'a Dolt or Doltgres backup needs a place to sync to: pass --dolt-dynamodb-table T (aws://[T:bucket] remotes in the artifact bucket) or --dolt-url aws://[table:bucket]/path or file:///path',
  );
}

/**
 * A database name as one path segment of a URL or key. encodeURIComponent leaves dots alone, and URL
 * parsers read `%2E%2E` as `..` too, so a name made only of dots would climb out of the run's directory.
 */
function pathSegment(name: string): string {
  if (/^\.*$/.test(name)) {
    throw new UsageError(`a database named "${name}" cannot be backed up to a remote path; rename it`);
  }
  return encodeURIComponent(name);
}

/** Bucket and key of an `aws://[table:bucket]/key` or `s3://bucket/key` remote; undefined for other schemes. */
export function bucketLocation(url: string): { bucket: string; key: string } | undefined {
  const aws = /^aws:\/\/\[[^:\]]+:([^\]]+)\]\/(.+)$/.exec(url);
  if (aws?.[1] && aws[2]) return { bucket: aws[1], key: aws[2].replace(/\/+$/, '') };
  const s3 = /^s3:\/\/([^/?]+)\/([^?]+)/.exec(url);
  if (s3?.[1] && s3[2]) return { bucket: s3[1], key: s3[2].replace(/\/+$/, '') };
  return undefined;
}
