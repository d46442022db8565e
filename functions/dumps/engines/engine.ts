/**
 * What every database engine provides to the dump, restore and verify flows. An engine knows its tools
 * and formats; the flows own the commit protocol, the manifest and the error handling.
 */

import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import type { Compression, DoltDatabaseManifest, Engine, Manifest, ManifestObject } from '../../contracts/manifest.ts';
import type { Logger } from '../../contracts/telemetry.ts';
import type { CompletenessCheck } from '../commit/completeness.ts';
import type { Producer } from '../commit/producer.ts';
import type { DatabaseEndpoint } from '../source.ts';

/** What preflight learned about the source, before any upload. */
export interface SourceFacts {
  readonly serverVersion: string;
  readonly client: { readonly tool: string; readonly version: string };
  /** The databases this run dumps (the URL's list, or every user database). */
  readonly databases: readonly string[];
  /** Engine-specific findings the dump acts on (e.g. whether role passwords are readable). */
  readonly flags?: Readonly<Record<string, boolean>>;
}

export interface StageSpec {
  /** File name within the run prefix, e.g. `database-metadb.pgdump.zst`. */
  readonly name: string;
  readonly role: ManifestObject['role'];
  readonly database?: string;
  readonly format: string;
  readonly producer: Producer;
  readonly completeness: CompletenessCheck;
  /** Which stream of a database dumped in parallel this object is (see the manifest's `part`). */
  readonly part?: ManifestObject['part'];
}

/** Where Dolt and Doltgres sync their own backups (they write to storage themselves, not through us). */
export interface DoltRemoteOptions {
  /** DynamoDB table holding Dolt's remote manifests, for aws://[table:bucket]/path remotes. */
  readonly dynamoTable?: string;
  /** Base remote URL instead (file:///..., aws://[table:bucket]/path); each run and database gets its own directory below it. */
  readonly baseUrl?: string;
  /** Doltgres: back up even when objects the engine's backup drops cannot be carried; the manifest lists them as missing. */
  readonly allowMissingObjects?: boolean;
  /** Dolt: the sql-server's data directory, reachable from here: its files are stored too (--server-dir). */
  readonly serverDir?: string;
  /** Dolt, with serverDir: the sql-server's YAML file. */
  readonly serverConfig?: string;
  /** Dolt, with serverDir: the directory whose `.dolt` is the global configuration (DOLT_ROOT_PATH). */
  readonly doltRoot?: string;
}

/** Handed to an engine's dump: how to stream an object into the run, and the run's coordinates. */
export interface DumpRun {
  readonly source: DatabaseEndpoint;
  readonly facts: SourceFacts;
  readonly store: ArtifactStore;
  /** The S3 endpoint override (--endpoint-url), for tools that talk to S3 themselves. */
  readonly endpointUrl?: string;
  readonly dolt: DoltRemoteOptions;
  /** Key prefix of this run, ending in "/". */
  readonly prefix: string;
  readonly compression: Compression;
  readonly timeoutMs: number;
  /** How many streams a database may be dumped in at once (PostgreSQL); 1 is one object per database. */
  readonly parallelism: number;
  readonly log: Logger;
  /**
   * Streams one object through the commit protocol; it stays invisible until the whole run commits. Several
   * may run at once; an engine that starts them together must stop the others when one fails and wait for all.
   */
  stage(spec: StageSpec): Promise<void>;
}

export interface DumpOutcome {
  /** Objects the engine wrote itself (Dolt's backup files), already hashed. */
  readonly extraObjects?: readonly ManifestObject[];
  readonly dolt?: readonly DoltDatabaseManifest[];
}

export interface RestoreRequest {
  readonly manifest: Manifest;
  readonly endpointUrl?: string;
  /** Key prefix of the backup's run. */
  readonly prefix: string;
  readonly store: ArtifactStore;
  readonly target: DatabaseEndpoint;
  /** Which database of the backup to restore (defaults to the only one). */
  readonly sourceDatabase: string;
  /** The database to create. */
  readonly targetDatabase: string;
  readonly force: boolean;
  readonly swap: boolean;
  readonly withGlobals: boolean;
  /** A system's own restore steps on top of the engine's (see RESTORE_RECIPES). */
  readonly recipe?: RestoreRecipe;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** A stored object, decompressed, SHA-256-checked as it streams: fails at the end if it does not match. */
  openVerified(object: ManifestObject): Promise<import('node:stream').Readable>;
}

export interface RestoreOutcome {
  readonly database: string;
  /** With --swap, where the previous database went. */
  readonly previousDatabase?: string;
  readonly tables?: number;
  /** With --recipe bytebase: migration_history rows moved to the restored database's name. */
  readonly namespaceRewritten?: number;
  /** Dolt/Doltgres: what the restored database lacks or got only uncommitted, one line each, for the CLI to warn. */
  readonly warnings?: readonly string[];
}

/** Restore recipes: `bytebase` rewrites migration_history.namespace to the restored name (PostgreSQL only). */
export const RESTORE_RECIPES = ['bytebase'] as const;
export type RestoreRecipe = (typeof RESTORE_RECIPES)[number];

export interface VerifyRequest {
  readonly manifest: Manifest;
  readonly endpointUrl?: string;
  readonly store: ArtifactStore;
  readonly timeoutMs: number;
  readonly log: Logger;
  openVerified(object: ManifestObject): Promise<import('node:stream').Readable>;
}

export interface DatabaseEngine {
  readonly engine: Engine;
  preflight(source: DatabaseEndpoint, timeoutMs: number): Promise<SourceFacts>;
  dump(run: DumpRun): Promise<DumpOutcome>;
  restore(request: RestoreRequest): Promise<RestoreOutcome>;
  /** Engine-level completeness of every object (the SHA-256 is checked by the caller as bytes stream). */
  verify(request: VerifyRequest): Promise<{ checked: string[] }>;
}
