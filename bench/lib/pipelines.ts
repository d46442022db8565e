/**
 * What the suite runs for each engine: the contender (`safekeep dump` and `safekeep restore`, through the
 * CLI only) and its yardsticks (the dump tool alone, hand-written gzip and zstd pipelines, the dump tool's
 * own compression, a restore from a local file), as bash pipelines over the measuring tool wrappers.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorker, imageEntrypoint } from '#functions/cli/container/bundle.ts';
import type { DatabasePeer, S3Peer } from '#test/support/peers.ts';
import { type Measurement, measure, shellQuote, type ToolWrappers } from './measure.ts';

export type Engine = 'postgres' | 'mysql';

export interface PipelineRun {
  readonly pipeline: string;
  readonly round: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly toolCpuS: Readonly<Record<string, number>>;
  /** The dump tool's own CPU (pg_dump + pg_dumpall, or mariadb-dump); excluded from the worker's. */
  readonly dumpToolCpuS: number;
  readonly peakRssMiB?: number;
  /** Bytes the pipeline wrote (compressed file, or the stored bytes of a Safekeep backup). */
  readonly outBytes?: number;
  /** Set when the pipeline failed: why (its figures are then NaN and left out of every median). */
  readonly error?: string;
}

export interface Pipeline {
  readonly id: string;
  readonly label: string;
  /** dump pipelines are compared with `producer`; restore pipelines with `restore-local`. */
  readonly kind: 'dump' | 'restore';
  readonly description: string;
  run(round: number): Promise<PipelineRun>;
}

export interface CaseContext {
  readonly engine: Engine;
  readonly database: string;
  readonly peer: DatabasePeer;
  readonly s3: S3Peer;
  readonly bucket: string;
  readonly wrappers: ToolWrappers;
  readonly scratch: string;
  readonly zstdLevels: readonly number[];
  /** Runs SQL on the server (outside any measurement): creating and dropping restore targets. */
  readonly admin: (sql: string) => Promise<void>;
  /** The raw dump on local disk (restore-local reads it); set by `localDump`. */
  rawFile?: string;
  /** The manifest of the newest safekeep dump in this case (safekeep restore reads it). */
  manifest?: string | undefined;
  /** PostgreSQL: streams of the parallel variants (`--parallelism N`, `pg_dump -Fd -j N`, `pg_restore -j N`); none when below 2. */
  readonly streams?: number;
  /** The manifest of the newest parallel safekeep dump (the parallel safekeep restore reads it). */
  parallelManifest?: string | undefined;
}

const DUMP_TOOLS: Record<Engine, readonly string[]> = { postgres: ['pg_dump', 'pg_dumpall'], mysql: ['mariadb-dump'] };

/** The flags Safekeep passes mysqldump (functions/worker/engines/mysql/mysql-engine.ts), so the yardstick dumps the same. */
const MYSQLDUMP_FLAGS =
  '--single-transaction --routines --triggers --events --hex-blob --no-tablespaces --default-character-set=utf8mb4 --quick --comments';

function record(context: CaseContext, pipeline: string, round: number, m: Measurement, outBytes?: number): PipelineRun {
  const dumpToolCpuS = DUMP_TOOLS[context.engine].reduce((sum, tool) => sum + (m.toolCpuS[tool] ?? 0), 0);
  return {
    pipeline,
    round,
    wallS: m.wallS,
    cpuS: m.cpuS,
    toolCpuS: m.toolCpuS,
    dumpToolCpuS,
    ...(m.peakRssMiB !== undefined ? { peakRssMiB: m.peakRssMiB } : {}),
    ...(outBytes !== undefined ? { outBytes } : {}),
  };
}

function sizeAndRemove(path: string): number {
  const size = statSync(path).size;
  rmSync(path, { force: true });
  return size;
}

function databaseEnv(context: CaseContext): Record<string, string> {
  const { peer } = context;
  return context.engine === 'postgres'
    ? { PGHOST: peer.host, PGPORT: String(peer.port), PGUSER: peer.user, PGPASSWORD: peer.password }
    : {};
}

/** A 0600 client options file for the MariaDB tools: the password stays out of argv. */
export function mysqlOptionsFile(scratch: string, peer: DatabasePeer): string {
  const path = join(scratch, 'client.cnf');
  writeFileSync(path, `[client]\nhost=${peer.host}\nport=${peer.port}\nuser=${peer.user}\npassword=${peer.password}\n`, {
    mode: 0o600,
  });
  return path;
}

/** The producer's command line, writing its raw dump to stdout. */
function producerCommand(context: CaseContext, format: 'custom' | 'plain' | 'custom-default' = 'custom'): string {
  const { wrappers, database } = context;
  if (context.engine === 'mysql') {
    const options = join(context.scratch, 'client.cnf');
    return `${wrappers.path('mariadb-dump')} --defaults-extra-file=${options} ${MYSQLDUMP_FLAGS} -- ${database}`;
  }
  const flags = format === 'custom' ? '-Fc -Z0' : format === 'custom-default' ? '-Fc' : '';
  return `${wrappers.path('pg_dump')} ${flags} --no-password -d ${database}`;
}

function safekeepEnv(context: CaseContext): Record<string, string> {
  const { wrappers, peer, s3 } = context;
  return {
    SAFEKEEP_DB_PASSWORD: peer.password,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
    SAFEKEEP_PG_BIN: wrappers.binDir,
    SAFEKEEP_MYSQLDUMP: wrappers.path('mariadb-dump'),
    SAFEKEEP_MYSQL: wrappers.path('mariadb'),
  };
}

const scheme = (engine: Engine) => (engine === 'postgres' ? 'postgres' : 'mysql');
let worker: Promise<string> | undefined;
/**
 * What the Fargate task runs: the bundle the image's build script writes, started with its ENTRYPOINT's node
 * flags. Built on the first safekeep pipeline of a run (not for --report-only), into the uncommitted raw results.
 */
function safekeepCli(): Promise<string> {
  worker ??= bundleWorker(join('bench', 'results', 'raw', 'worker', 'safekeep.mjs')).then((bundle) =>
    [process.execPath, ...imageEntrypoint().nodeFlags, bundle].map(shellQuote).join(' '),
  );
  return worker;
}

export function localDump(context: CaseContext): Pipeline {
  return {
    id: 'producer-file',
    label: context.engine === 'postgres' ? 'pg_dump -Fc -Z0 > file' : 'mysqldump > file',
    kind: 'dump',
    description: 'the raw dump written to local disk once per case (warms the cache; the restore yardstick reads it)',
    async run(round) {
      const file = join(context.scratch, context.engine === 'postgres' ? 'raw.dump' : 'raw.sql');
      const m = await measure(`${producerCommand(context)} > ${file}`, context.wrappers, { env: databaseEnv(context) });
      context.rawFile = file;
      return record(context, 'producer-file', round, m, statSync(file).size);
    },
  };
}

export function dumpPipelines(context: CaseContext): Pipeline[] {
  const env = databaseEnv(context);
  const out = (name: string) => join(context.scratch, name);
  const { engine, peer } = context;
  const tool = engine === 'postgres' ? 'pg_dump' : 'mysqldump';
  const yardstick = (id: string, label: string, description: string, script: (file: string) => string, file?: string) => ({
    id,
    label,
    kind: 'dump' as const,
    description,
    async run(round: number) {
      const path = file ? out(file) : '/dev/null';
      const m = await measure(script(path), context.wrappers, { env });
      return record(context, id, round, m, file ? sizeAndRemove(path) : undefined);
    },
  });
  const safekeep = (id: string, compression: 'zstd' | 'none', description: string, streams = 1): Pipeline => ({
    id,
    label:
      streams > 1
        ? `safekeep dump --parallelism ${streams}`
        : compression === 'zstd'
          ? 'safekeep dump'
          : 'safekeep dump --compression none',
    kind: 'dump',
    description,
    async run(round) {
      const source = `${scheme(engine)}://${peer.user}@${peer.host}:${peer.port}/${context.database}`;
      // A failed dump must not leave safekeep restore reading the previous round's backup.
      if (compression === 'zstd' && streams === 1) context.manifest = undefined;
      if (streams > 1) context.parallelManifest = undefined;
      const script = `${await safekeepCli()} dump --engine ${engine} --source ${source} --to s3://${context.bucket}/${context.database.replaceAll('_', '-')}-${id} --endpoint-url ${context.s3.endpoint} --compression ${compression} --parallelism ${streams} --json`;
      const m = await measure(script, context.wrappers, { env: safekeepEnv(context), sampleRss: true });
      const result = JSON.parse(m.stdout) as { manifest: string; totals: { storedBytes: number } };
      if (streams > 1) context.parallelManifest = result.manifest;
      else if (compression === 'zstd') context.manifest = result.manifest;
      return record(context, id, round, m, result.totals.storedBytes);
    },
  });

  const pipelines: Pipeline[] = [
    yardstick(
      'producer',
      engine === 'postgres' ? 'pg_dump -Fc -Z0 > /dev/null' : 'mysqldump > /dev/null',
      'the dump tool alone, its output thrown away: the floor every pipeline is measured against',
      (file) => `${producerCommand(context)} > ${file}`,
    ),
    safekeep(
      'safekeep',
      'zstd',
      'the product: dump -> completeness check -> zstd -3 -> SHA-256 -> multipart upload to versitygw',
    ),
    safekeep('safekeep-none', 'none', 'the product without compression: what the rest of the pipeline costs'),
    yardstick(
      'gzip',
      `${tool} | gzip -6`,
      engine === 'postgres'
        ? 'the hand-written pipeline: plain-format pg_dump into gzip -6, to a local file'
        : 'mysqldump into gzip -6, to a local file',
      (file) => `${producerCommand(context, 'plain')} | gzip -6 > ${file}`,
      'out.gz',
    ),
  ];
  if (engine === 'postgres') {
    pipelines.push(
      yardstick(
        'fc-default',
        'pg_dump -Fc',
        "the dump tool's own compression at its default (gzip level 6 inside pg_dump 15), to a local file",
        (file) => `${producerCommand(context, 'custom-default')} > ${file}`,
        'out.dump',
      ),
    );
  }
  const streams = context.streams ?? 0;
  if (engine === 'postgres' && streams > 1) {
    pipelines.push(
      {
        id: 'producer-parallel',
        label: `pg_dump -Fd -Z0 -j ${streams} > dir`,
        kind: 'dump',
        description: `the dump tool's own parallel dump (directory format, ${streams} jobs, one snapshot), to local disk: the floor for ${streams} streams`,
        async run(round) {
          const dir = out('parallel.dir');
          rmSync(dir, { recursive: true, force: true });
          const m = await measure(
            `${context.wrappers.path('pg_dump')} -Fd -Z0 -j ${streams} --no-password -d ${context.database} -f ${dir}`,
            context.wrappers,
            { env },
          );
          rmSync(dir, { recursive: true, force: true });
          return record(context, 'producer-parallel', round, m);
        },
      },
      safekeep(
        'safekeep-parallel',
        'zstd',
        `the product in ${streams} data streams of one exported snapshot (plus the schema stream), each its own object`,
        streams,
      ),
    );
  }
  for (const level of context.zstdLevels) {
    pipelines.push(
      yardstick(
        `zstd-${level}`,
        `${tool} | zstd -${level}`,
        `the raw dump into the zstd CLI at level ${level}, one thread, to a local file`,
        (file) => `${producerCommand(context)} | zstd -q -${level} -T1 -c > ${file}`,
        'out.zst',
      ),
    );
  }
  return pipelines;
}

export function restorePipelines(context: CaseContext): Pipeline[] {
  const { engine, peer, wrappers } = context;
  const quoted = (name: string) => (engine === 'postgres' ? `"${name}"` : `\`${name}\``);
  const fresh = async (name: string) => {
    await context.admin(`DROP DATABASE IF EXISTS ${quoted(name)}`);
    if (engine === 'mysql') await context.admin(`CREATE DATABASE ${quoted(name)} DEFAULT CHARACTER SET utf8mb4`);
  };
  const target = (round: number, id: string) => `bench_restore_${id.replaceAll('-', '_')}_${round}`;
  const streams = context.streams ?? 0;
  const parallel: Pipeline[] =
    engine === 'postgres' && streams > 1
      ? [
          {
            id: 'restore-local-parallel',
            label: `pg_restore -j ${streams} < local file`,
            kind: 'restore',
            description: `pg_restore with ${streams} jobs from the raw dump on local disk: the yardstick for ${streams} streams`,
            async run(round) {
              const name = target(round, 'local-parallel');
              await fresh(name);
              await context.admin(`CREATE DATABASE ${quoted(name)}`);
              const script = `${wrappers.path('pg_restore')} --exit-on-error --no-password -j ${streams} --dbname=${name} ${context.rawFile}`;
              try {
                return record(
                  context,
                  'restore-local-parallel',
                  round,
                  await measure(script, wrappers, { env: databaseEnv(context) }),
                );
              } finally {
                await context.admin(`DROP DATABASE IF EXISTS ${quoted(name)}`);
              }
            },
          },
          {
            id: 'restore-safekeep-parallel',
            label: `safekeep restore (${streams} data parts)`,
            kind: 'restore',
            description: `the product on the ${streams}-stream backup: schema, the data parts loaded at once, then indexes and constraints`,
            async run(round) {
              const name = target(round, 'safekeep-parallel');
              await fresh(name);
              const script = `${await safekeepCli()} restore --from ${context.parallelManifest} --target postgres://${peer.user}@${peer.host}:${peer.port}/${name} --endpoint-url ${context.s3.endpoint} --json`;
              try {
                return record(
                  context,
                  'restore-safekeep-parallel',
                  round,
                  await measure(script, wrappers, { env: safekeepEnv(context), sampleRss: true }),
                );
              } finally {
                await context.admin(`DROP DATABASE IF EXISTS ${quoted(name)}`);
              }
            },
          },
        ]
      : [];
  return [
    {
      id: 'restore-local',
      label: engine === 'postgres' ? 'pg_restore < local file' : 'mysql < local file',
      kind: 'restore',
      description: 'the tool restoring the raw dump from local disk into a new database: the yardstick',
      async run(round) {
        const name = target(round, 'local');
        await fresh(name);
        if (engine === 'postgres') await context.admin(`CREATE DATABASE ${quoted(name)}`);
        const script =
          engine === 'postgres'
            ? `${wrappers.path('pg_restore')} --exit-on-error --no-password --dbname=${name} ${context.rawFile}`
            : `${wrappers.path('mariadb')} --defaults-extra-file=${join(context.scratch, 'client.cnf')} --binary-mode --default-character-set=utf8mb4 --database=${name} < ${context.rawFile}`;
        try {
          return record(context, 'restore-local', round, await measure(script, wrappers, { env: databaseEnv(context) }));
        } finally {
          await context.admin(`DROP DATABASE IF EXISTS ${quoted(name)}`);
        }
      },
    },
    {
      id: 'restore-safekeep',
      label: 'safekeep restore',
      kind: 'restore',
      description: 'the product: check the stored object, then stream it from S3 through zstd into the tool',
      async run(round) {
        const name = target(round, 'safekeep');
        await fresh(name);
        const script = `${await safekeepCli()} restore --from ${context.manifest} --target ${scheme(engine)}://${peer.user}@${peer.host}:${peer.port}/${name} --endpoint-url ${context.s3.endpoint} --json`;
        try {
          return record(
            context,
            'restore-safekeep',
            round,
            await measure(script, wrappers, { env: safekeepEnv(context), sampleRss: true }),
          );
        } finally {
          await context.admin(`DROP DATABASE IF EXISTS ${quoted(name)}`);
        }
      },
    },
    ...parallel,
  ];
}
