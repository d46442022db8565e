/**
 * Where artifacts live: `s3://<bucket>/<target>/<yyyy>/<mm>/<dd>/<run-id>/` holding the data objects and
 * `manifest.json`. Dates are UTC, run ids sort by time.
 */
import { UsageError } from './errors.ts';

export const MANIFEST_FILE = 'manifest.json';

export interface S3Location {
  readonly bucket: string;
  /** Key prefix without leading or trailing slash (may be empty). */
  readonly prefix: string;
}

export function parseS3Url(url: string, flag: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match?.[1]) throw new UsageError(`${flag} must be an s3://bucket/prefix URL, got "${url}"`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new UsageError(`${flag} must not contain "." or ".." path segments, got "${url}"`);
  }
  return { bucket: match[1], prefix };
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[a-z0-9]{1,32}$/;

/** The moment a run id names; a run's objects live under that date, whoever picked the id. */
export function runDate(runId: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(runId);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
}

/** Where a run's manifest is, from its target prefix and run id alone. */
export function manifestKeyOf(targetPrefix: string, runId: string): string | undefined {
  const at = runDate(runId);
  return at ? `${runPrefix(targetPrefix, at, runId)}${MANIFEST_FILE}` : undefined;
}

/** `20261121T193000Z-a1b2c3`: sortable, unique enough that two runs in one second do not collide. */
export function newRunId(now: Date, randomSuffix: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `${stamp}-${randomSuffix}`;
}

export function runPrefix(targetPrefix: string, now: Date, runId: string): string {
  const yyyy = String(now.getUTCFullYear());
  const mm = String(now.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(now.getUTCDate()).padStart(2, '0');
  return `${[targetPrefix, yyyy, mm, dd, runId].filter(Boolean).join('/')}/`;
}

/** Database names may hold any character; keys get a stable, reversible encoding. */
export function objectName(kind: string, database: string | undefined, extension: string): string {
  return database === undefined ? `${kind}${extension}` : `${kind}-${encodeURIComponent(database)}${extension}`;
}

/**
 * Where external writers (config `writers:`) keep their own files: `_writers/<name>/`. Target names cannot
 * start with "_", so no target's prefix (and so no retention or prune, which never leave `<target>/`) reaches it,
 * and `safekeep list` skips it: a writer's files are never taken for Safekeep backups.
 */
export const WRITERS_PREFIX = '_writers';

export function writerPrefix(name: string): string {
  return `${WRITERS_PREFIX}/${name}/`;
}
