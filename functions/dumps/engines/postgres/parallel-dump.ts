/**
 * A PostgreSQL database dumped as several streams of one moment. A held transaction exports its snapshot
 * (`pg_export_snapshot()`); every pg_dump of the run imports it with `--snapshot`, so all of them see the same
 * committed state, exactly as one pg_dump would. One stream carries the schema (pre-data and post-data), and
 * the tables' rows are split by size over the data streams:
 *
 * - data part 1 is "everything else": `--section=data` minus the other parts' tables and their owned
 *   sequences, so sequence values, large objects and extension tables' rows land here, and nothing is
 *   left out that pg_dump would have dumped;
 * - data parts 2..N are `--section=data --table` of exact names; a table's owned sequences come with it.
 *
 * So every TABLE DATA and SEQUENCE SET entry is in exactly one part.
 */
import type pg from 'pg';
import { objectName } from '../../../contracts/artifact-layout.ts';
import { EXTENSIONS } from '../../../contracts/manifest.ts';
import { spawnProducer } from '../../adapters/child-process.ts';
import type { DumpRun, StageSpec } from '../engine.ts';
import { PgArchiveCheck } from './archive-check.ts';
import { withPostgres } from './connection.ts';
import { libpqEnvironment } from './libpq.ts';
import { pgToolPath } from './tools.ts';

/** A table whose rows pg_dump writes, with what it weighs on disk and the sequences it owns. */
export interface DumpedTable {
  readonly schema: string;
  readonly name: string;
  readonly bytes: number;
  /** Sequences owned by the table (serial, identity): their SEQUENCE SET travels with the table's rows. */
  readonly ownedSequences: readonly { readonly schema: string; readonly name: string }[];
}

/**
 * Splits tables into at most `groups` sets of nearly equal size: largest first, each into the lightest set
 * so far (ties go to the lower set, so the plan is the same for the same tables). Empty sets are dropped.
 */
export function splitBySize<T extends { readonly bytes: number; readonly schema: string; readonly name: string }>(
  tables: readonly T[],
  groups: number,
): T[][] {
  const sets = Array.from({ length: Math.max(1, groups) }, () => ({ bytes: 0, tables: [] as T[] }));
  const ordered = [...tables].sort(
    (a, b) => b.bytes - a.bytes || a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name),
  );
  for (const table of ordered) {
    const lightest = sets.reduce((best, set) => (set.bytes < best.bytes ? set : best));
    lightest.tables.push(table);
    lightest.bytes += table.bytes;
  }
  return sets.map((set) => set.tables).filter((set) => set.length > 0);
}

/** A pg_dump `--table` pattern that matches exactly this name: inside double quotes nothing is a wildcard. */
export function exactPattern(schema: string, name: string): string {
  const quote = (part: string) => `"${part.replaceAll('"', '""')}"`;
  return `${quote(schema)}.${quote(name)}`;
}

/**
 * The tables pg_dump would write rows for, as the exported snapshot sees them. Extension members are left to
 * data part 1 (pg_dump decides which of their rows it dumps), as are views, foreign and partitioned parents,
 * which hold no rows of their own.
 */
async function dumpedTables(db: pg.Client): Promise<DumpedTable[]> {
  const { rows } = await db.query<{ schema: string; name: string; bytes: string; owned: { schema: string; name: string }[] }>(`
    SELECT n.nspname AS schema, c.relname AS name, pg_table_size(c.oid) AS bytes,
           coalesce((SELECT json_agg(json_build_object('schema', sn.nspname, 'name', s.relname))
                       FROM pg_depend d
                       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                       JOIN pg_namespace sn ON sn.oid = s.relnamespace
                      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                        AND d.refobjid = c.oid AND d.deptype IN ('a', 'i')), '[]') AS owned
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')`);
  return rows.map((row) => ({ schema: row.schema, name: row.name, bytes: Number(row.bytes), ownedSequences: row.owned }));
}

/**
 * Dumps `database` as a schema object and up to `run.parallelism` data objects, all from one snapshot, staged
 * at once. If one stream fails, the others are stopped, and this waits for every stage to finish (each aborts
 * its own upload) before it fails with the first error.
 */
export async function dumpDatabaseInParallel(run: DumpRun, database: string): Promise<void> {
  const { source, timeoutMs } = run;
  const extension = EXTENSIONS[run.compression];
  await withPostgres(source, database, async (db) => {
    // Once every pg_dump has imported the snapshot, losing this session changes nothing: the dumps decide.
    let lost: Error | undefined;
    db.on('error', (error) => {
      lost = error;
    });
    // The snapshot lives as long as this transaction: a server-side idle timeout must not end it mid-dump.
    await db.query('SET idle_in_transaction_session_timeout = 0');
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const snapshot = (await db.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]?.id ?? '';
    const groups = splitBySize(await dumpedTables(db), run.parallelism);
    const count = Math.max(1, groups.length);
    const others = groups.slice(1).flat();
    const producer = (description: string, args: string[]) =>
      spawnProducer({
        command: pgToolPath('pg_dump'),
        args: ['--format=custom', '--compress=0', '--no-password', `--snapshot=${snapshot}`, ...args],
        env: libpqEnvironment(source, database),
        secrets: [source.password],
        timeoutMs,
        description,
      });
    const dataArgs = (index: number): string[] =>
      index === 1
        ? others.flatMap((table) =>
            [table, ...table.ownedSequences].flatMap((t) => ['--exclude-table-data', exactPattern(t.schema, t.name)]),
          )
        : (groups[index - 1] ?? []).flatMap((table) => ['--table', exactPattern(table.schema, table.name)]);
    run.log.info('dumping database in parallel', { database, streams: count + 1, tables: groups.flat().length });
    const specs: StageSpec[] = [
      {
        name: objectName('database', database, `.schema.pgdump${extension}`),
        role: 'database',
        database,
        format: 'pg_dump-custom',
        part: { section: 'schema', index: 0, count },
        producer: producer(`pg_dump of ${database} (schema)`, ['--section=pre-data', '--section=post-data']),
        completeness: new PgArchiveCheck(`database ${database} (schema)`),
      },
      ...Array.from({ length: count }, (_, i): StageSpec => {
        const index = i + 1;
        return {
          name: objectName('database', database, `.data-${index}.pgdump${extension}`),
          role: 'database',
          database,
          format: 'pg_dump-custom',
          part: { section: 'data', index, count },
          producer: producer(`pg_dump of ${database} (data part ${index} of ${count})`, ['--section=data', ...dataArgs(index)]),
          completeness: new PgArchiveCheck(`database ${database} (data part ${index} of ${count})`),
        };
      }),
    ];
    await stageTogether(run, specs);
    if (lost)
      run.log.warn('the session holding the snapshot ended during the dump; every stream had imported it', {
        database,
        error: lost.message,
      });
    else await db.query('COMMIT').catch(() => {});
  });
}

/** Stages every spec at once; the first failure stops the other tools, and the first error is the one thrown. */
async function stageTogether(run: DumpRun, specs: readonly StageSpec[]): Promise<void> {
  let first: unknown;
  const results = await Promise.allSettled(
    specs.map((spec) =>
      run.stage(spec).catch((error: unknown) => {
        if (first === undefined) {
          first = error;
          for (const other of specs) other.producer.kill();
        }
        throw error;
      }),
    ),
  );
  if (results.some((result) => result.status === 'rejected')) throw first;
}
