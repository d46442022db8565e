/**
 * Restoring a database dumped in parallel streams (see parallel-dump.ts): the schema object's pre-data
 * section (types, tables, functions), then every data part at once, each into its own tables, then the
 * schema object's post-data section (indexes, constraints, triggers, materialized view data). Foreign keys
 * are created after all rows are in, and the rows are one snapshot, so every constraint holds.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, RestoreError } from '../../../contracts/errors.ts';
import type { ManifestObject } from '../../../contracts/manifest.ts';
import { runTool } from '../../adapters/child-process.ts';
import type { RestoreRequest } from '../engine.ts';
import { conninfoValue, libpqEnvironment } from './libpq.ts';
import { pgToolPath } from './tools.ts';

/** A database's objects in the manifest: one whole archive, or a schema object and its data parts. */
export type DatabaseObjects =
  | { readonly kind: 'whole'; readonly archive: ManifestObject }
  | { readonly kind: 'parts'; readonly schema: ManifestObject; readonly data: readonly ManifestObject[] };

/**
 * Sorts a database's manifest entries into one of the two shapes, or fails naming what is missing: a parallel
 * backup restores only with its schema object and every one of its data parts.
 */
export function databaseObjects(objects: readonly ManifestObject[], database: string): DatabaseObjects | undefined {
  const own = objects.filter((o) => o.role === 'database' && o.database === database);
  const whole = own.find((o) => o.part === undefined);
  if (whole) return { kind: 'whole', archive: whole };
  if (own.length === 0) return undefined;
  const schema = own.find((o) => o.part?.section === 'schema');
  const data = own.filter((o) => o.part?.section === 'data').sort((a, b) => (a.part?.index ?? 0) - (b.part?.index ?? 0));
  const count = schema?.part?.count ?? 0;
  const complete = data.length === count && data.every((o, i) => o.part?.index === i + 1 && o.part?.count === count);
  if (!schema || !complete) {
    throw new IntegrityError(
      `the manifest lists database "${database}" in parallel parts but ${schema ? `${data.length} of its ${count} data parts` : 'not its schema object'}; the backup is incomplete and cannot be restored`,
    );
  }
  return { kind: 'parts', schema, data };
}

/**
 * The three phases into `database` (already created and empty); stops at the first failing phase. The schema
 * object holds no rows, so it is copied to a private temporary file: pg_restore runs its post-data section
 * with one job per data part (index builds and constraints in parallel, as `pg_restore -j` does), which it
 * can only do from a file it can seek in.
 */
export async function restoreParts(
  request: RestoreRequest,
  parts: Extract<DatabaseObjects, { kind: 'parts' }>,
  database: string,
): Promise<void> {
  const pgRestore = async (input: ManifestObject | string, args: string[], what: string) => {
    const fromFile = typeof input === 'string';
    const { exit } = await runTool(
      {
        command: pgToolPath('pg_restore'),
        args: [
          '--exit-on-error',
          '--no-password',
          ...args,
          `--dbname=dbname=${conninfoValue(database)}`,
          ...(fromFile ? [input] : []),
        ],
        env: libpqEnvironment(request.target, database),
        secrets: [request.target.password],
        timeoutMs: request.timeoutMs,
        description: `pg_restore of ${what} into ${database}`,
      },
      fromFile ? undefined : await request.openVerified(input),
    );
    if (exit.code !== 0) {
      throw new RestoreError(
        `pg_restore of ${what} into "${database}" failed (${exit.stderrTail || `exit code ${exit.code}`}); the partly restored database was left for inspection`,
      );
    }
  };
  const scratch = await mkdtemp(join(tmpdir(), 'safekeep-schema-'));
  try {
    const schemaFile = join(scratch, 'schema.pgdump');
    await pipeline(await request.openVerified(parts.schema), createWriteStream(schemaFile, { mode: 0o600 }));
    await pgRestore(schemaFile, ['--section=pre-data'], 'the schema');
    request.log.info('loading data parts', { database, parts: parts.data.length });
    const loads = await Promise.allSettled(
      parts.data.map((object) => pgRestore(object, ['--data-only'], `data part ${object.part?.index} of ${object.part?.count}`)),
    );
    const failed = loads.find((load) => load.status === 'rejected');
    if (failed) throw failed.reason;
    await pgRestore(schemaFile, ['--section=post-data', `--jobs=${parts.data.length}`], 'the indexes and constraints');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
