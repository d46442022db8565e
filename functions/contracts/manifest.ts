/**
 * The manifest: written last, with If-None-Match: *, so a backup exists if and only if its manifest
 * exists. It describes every object of the run well enough to verify and restore it without the source.
 */
import { MANIFEST_FILE } from './artifact-layout.ts';
import type { ArtifactStore } from './artifact-store.ts';
import { IntegrityError } from './errors.ts';
import * as z from './zod.ts';

/** How an object is compressed; `EXTENSIONS` is what its key ends in. */
export const COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const EXTENSIONS: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };

export const ENGINE_NAMES = ['postgres', 'mysql', 'dolt', 'doltgres'] as const;
export type Engine = (typeof ENGINE_NAMES)[number];

/** `server-config`: a file of a Dolt sql-server's own (config YAML, global `.dolt`, per-database config), with --server-dir. */
export const OBJECT_ROLES = ['database', 'globals', 'grants', 'branch-control', 'dolt-file', 'server-config'] as const;

export const manifestObjectSchema = z.object({
  key: z.string(),
  /** What the object holds: one database's dump, server-wide roles/users, Dolt branch control, a Dolt backup file. */
  role: z.enum(OBJECT_ROLES),
  database: z.optional(z.string()),
  /** `pg_dump-custom`, `sql`, `dolt-backup`. */
  format: z.string(),
  compression: z.enum(COMPRESSIONS),
  rawBytes: z.optional(z.number().check(z.int(), z.nonnegative())),
  storedBytes: z.number().check(z.int(), z.nonnegative()),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  versionId: z.optional(z.string()),
  /** Rows per table counted in the artifact itself (PostgreSQL COPY blocks). */
  rowCounts: z.optional(z.record(z.string(), z.number().check(z.int(), z.nonnegative()))),
  /**
   * Schema objects of the database by kind, as the artifact holds them (a pg_dump archive's TOC entries:
   * `TABLE`, `VIEW`, `SEQUENCE`, `FUNCTION`, `INDEX`, `TRIGGER`, ...; a mysqldump's statements); the restore
   * drill compares them with what the restored database holds.
   */
  schemaObjects: z.optional(z.record(z.string(), z.number().check(z.int(), z.nonnegative()))),
  /** PostgreSQL: the extensions the database uses (a server without one cannot restore it). */
  extensions: z.optional(z.array(z.string())),
  /**
   * One of the streams of a database dumped in parallel (PostgreSQL `parallelism` > 1), all from one snapshot:
   * `schema` holds the pre-data and post-data sections, each `data` part the rows of a disjoint set of tables.
   * Absent: the object is the whole database, as every manifest before parallel streams has it.
   */
  part: z.optional(
    z.object({
      section: z.enum(['schema', 'data']),
      /** Data parts are numbered 1..count; the schema object is 0. */
      index: z.number().check(z.int(), z.nonnegative()),
      /** How many data parts the database has. */
      count: z.number().check(z.int(), z.positive()),
    }),
  ),
});

/** What one branch of a Doltgres database holds besides rows, read over SQL after the sync. */
export const doltgresInventorySchema = z.object({
  branch: z.string(),
  /** Base tables, schema-qualified. */
  tables: z.array(z.string()),
  views: z.array(z.object({ name: z.string(), definition: z.string() })),
  /** `next` is what nextval would return, read in a rolled-back transaction; null when it would fail (exhausted). */
  sequences: z.array(
    z.object({
      name: z.string(),
      dataType: z.string(),
      start: z.string(),
      increment: z.string(),
      minimum: z.string(),
      maximum: z.string(),
      cycle: z.boolean(),
      next: z.nullable(z.string()),
    }),
  ),
  /** User types; `kind` is pg_type.typtype (e: enum, c: composite, d: domain, r: range). */
  types: z.array(z.object({ name: z.string(), kind: z.string() })),
  /** Functions and procedures by signature (`public.add1(int4)`); Doltgres shows no definitions over SQL. */
  functions: z.array(z.string()),
  /** Triggers as `schema.table.trigger`; Doltgres shows them only in Dolt's diffs. */
  triggers: z.optional(z.array(z.string())),
  /** Objects of the branch's root that are none of the above. */
  others: z.optional(z.array(z.string())),
});

/** An object of the inventory this backup does not hold (allowed explicitly at dump time). */
export const missingObjectSchema = z.object({
  branch: z.string(),
  kind: z.string(),
  name: z.string(),
  reason: z.string(),
});

export const doltDatabaseSchema = z.object({
  database: z.string(),
  /** The remote URL the backup was synced to; `dolt backup restore` reads it back. */
  url: z.string(),
  /** Prefix of the backup's files within the bucket. */
  prefix: z.string(),
  branches: z.array(z.object({ name: z.string(), hash: z.string() })),
  tags: z.array(z.object({ name: z.string(), hash: z.string() })),
  /** Branches whose working set differs from their head (uncommitted changes, which the backup carries). */
  dirtyBranches: z.array(z.string()),
  /** Rows of every table at each branch's head (`AS OF` its hash): branch -> table -> rows. */
  rowCounts: z.optional(z.record(z.string(), z.record(z.string(), z.number().check(z.int(), z.nonnegative())))),
  /** Doltgres: every branch's objects, compared after every restore (restore, verify, drill). */
  inventory: z.optional(z.array(doltgresInventorySchema)),
  /** Doltgres: objects of the inventory this backup does not hold, so a restore lacks them. */
  missing: z.optional(z.array(missingObjectSchema)),
  /** What a backup of this engine never holds (e.g. Doltgres users), and where to keep it instead. */
  notIncluded: z.optional(z.array(z.string())),
});

export const manifestSchema = z.object({
  safekeepManifest: z.literal(1),
  target: z.string(),
  engine: z.enum(ENGINE_NAMES),
  runId: z.string(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /**
   * No longer written: a UTC calendar tier that retention never read (it computes GFS periods from the run's
   * time in the schedule's time zone). Older manifests carry it; they still parse.
   */
  retentionTier: z.optional(z.enum(['daily', 'weekly', 'monthly', 'yearly'])),
  source: z.object({
    host: z.string(),
    port: z.number().check(z.int()),
    serverVersion: z.string(),
    databases: z.array(z.string()),
  }),
  client: z.object({ tool: z.string(), version: z.string() }),
  compression: z.enum(COMPRESSIONS),
  objects: z.array(manifestObjectSchema),
  dolt: z.optional(z.array(doltDatabaseSchema)),
  totals: z.object({
    rawBytes: z.number().check(z.int(), z.nonnegative()),
    storedBytes: z.number().check(z.int(), z.nonnegative()),
    objects: z.number().check(z.int()),
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
export type DoltDatabaseManifest = z.infer<typeof doltDatabaseSchema>;
export type DoltgresInventory = z.infer<typeof doltgresInventorySchema>;
export type MissingObject = z.infer<typeof missingObjectSchema>;

export interface LoadedManifest {
  readonly manifest: Manifest;
  readonly bucket: string;
  readonly key: string;
  /** The run's prefix (the manifest's directory), ending in "/". */
  readonly prefix: string;
  /** The manifest version read, when one was asked for (a pruned backup). */
  readonly versionId?: string;
}

/**
 * Reads and validates the manifest at `key` (at `versionId`: a pruned backup, whose current version is a
 * delete marker); an IntegrityError names what is wrong with it.
 */
export async function loadManifest(store: ArtifactStore, key: string, versionId?: string): Promise<LoadedManifest> {
  const text = await store.readText(key, versionId);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new IntegrityError(`s3://${store.bucket}/${key} is not valid JSON; the manifest is corrupt`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new IntegrityError(
      `s3://${store.bucket}/${key} is not a Safekeep manifest (${first?.path.join('.')}: ${first?.message})`,
    );
  }
  const prefix = key.slice(0, key.length - MANIFEST_FILE.length);
  return { manifest: result.data, bucket: store.bucket, key, prefix, ...(versionId ? { versionId } : {}) };
}
