/**
 * The benchmark suite of issue 13: `safekeep dump` and `safekeep restore` side by side with their
 * yardsticks, on a realistic generated dataset, PostgreSQL and MariaDB, in one run.
 *
 *   npm run bench             # quick: 100 MB per engine, two rounds (under 5 minutes)
 *   npm run bench:full        # full: 100 MB and 1 GB per engine, three rounds
 *   npm run bench:full -- --huge                     # adds a 10 GB PostgreSQL dataset (long)
 *   node bench/suite.ts --quick --engines postgres --sizes 20 --rounds 1   # while developing
 *   node bench/suite.ts --quick --streams 3         # the parallel variants with 3 streams (default: the cores)
 *   node bench/suite.ts --full --engines postgres --sizes 1000 --rounds 1 --no-write \
 *     --pipelines producer,safekeep,producer-parallel,safekeep-parallel,restore-local,restore-safekeep,restore-local-parallel,restore-safekeep-parallel
 *   node bench/suite.ts --report-only   # re-render the committed summaries after changing the report
 *
 * The npm scripts go through bench/bench.sh, which starts the peers that are down and runs this under
 * `nice -n 10`. Each round runs every pipeline back to back, in reverse order on odd rounds, so a contender
 * and its yardstick share the machine's state; ratios are taken per round, then the median. Raw runs go to
 * bench/results/raw/ (ignored by git); the summary (<name>.json, .md, .svg; the name is the mode, plus the engines when --engines limits the run) to bench/results/,
 * and docs/BENCHMARKS.md is rebuilt from every mode's summary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { peer } from '#test/support/peers.ts';
import { type Dataset, ensureMysqlDataset, ensurePostgresDataset } from './lib/datasets.ts';
import { rebuildFromSummaries, writeSummary } from './lib/doc.ts';
import { killRunning, PipelineError, ToolWrappers } from './lib/measure.ts';
import {
  type CaseContext,
  dumpPipelines,
  type Engine,
  localDump,
  mysqlOptionsFile,
  type Pipeline,
  type PipelineRun,
  restorePipelines,
} from './lib/pipelines.ts';
import { type CaseResult, type SuiteResult, suiteMarkdown } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    huge: { type: 'boolean', default: false },
    engines: { type: 'string' },
    sizes: { type: 'string' },
    rounds: { type: 'string' },
    streams: { type: 'string' },
    pipelines: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
});
const mode = values.full ? 'full' : 'quick';
const engines = (values.engines?.split(',') ?? ['postgres', 'mysql']) as Engine[];
const sizesFor = (engine: Engine): number[] => {
  if (values.sizes) return values.sizes.split(',').map(Number);
  if (mode === 'quick') return [100];
  return engine === 'postgres' && values.huge ? [100, 1000, 10000] : [100, 1000];
};
const rounds = Number(values.rounds ?? (mode === 'quick' ? 2 : 3));
const zstdLevels = [1, 3, 9];
/** PostgreSQL's parallel variants run with this many streams (default: the machine's cores, at least 2). */
const streams = Number(values.streams ?? Math.max(2, cpus().length));
/** `--pipelines a,b`: only these pipeline ids (with --no-write, for a focused comparison while developing). */
const only = values.pipelines ? new Set(values.pipelines.split(',')) : undefined;
const chosen = (p: Pipeline) => only === undefined || only.has(p.id);
const command = `node bench/suite.ts ${process.argv.slice(2).join(' ')}`.trim();

if (values['report-only']) {
  rebuildFromSummaries();
  console.error('[bench] rebuilt bench/results/<name>.{md,svg} and docs/BENCHMARKS.md from bench/results/<name>.json');
  process.exit(0);
}

const started = new Date();
const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? execFileSync('ls', [root])
        .toString()
        .trim()
        .split('\n')
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return majors[0] ? join(root, majors[0], 'bin') : '/usr/bin';
})();

function version(commandLine: string[]): string {
  try {
    return execFileSync(commandLine[0] as string, commandLine.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .split('\n')[0]
      ?.trim() as string;
  } catch {
    return 'unavailable';
  }
}

const machine: Record<string, string> = {
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  kernel: release(),
  'load average at start': loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
  node: process.version,
  pg_dump: version([join(PG_BIN, 'pg_dump'), '--version']),
  'mariadb-dump': version(['mariadb-dump', '--version']),
  zstd: version(['zstd', '--version']),
  gzip: version(['gzip', '--version']),
  'S3 store': 'versitygw on the same machine',
};

const pgPeer = await peer('postgres');
const myPeer = await peer('mariadb');
const s3Peer = await peer('versitygw');
if (!s3Peer) throw new Error('versitygw is down: bash scripts/peers.sh start versitygw');
for (const engine of engines) {
  if (engine === 'postgres' && !pgPeer) throw new Error('postgres is down: bash scripts/peers.sh start postgres');
  if (engine === 'mysql' && !myPeer) throw new Error('mariadb is down: bash scripts/peers.sh start mariadb');
}

const s3 = new S3Client({
  endpoint: s3Peer.endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: s3Peer.accessKeyId, secretAccessKey: s3Peer.secretAccessKey },
});
const bucket = `bench-${started.getTime().toString(36)}`;
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

const scratchRoot = mkdtempSync(join(tmpdir(), 'safekeep-bench-'));
const wrappers = new ToolWrappers(scratchRoot, {
  pg_dump: join(PG_BIN, 'pg_dump'),
  pg_dumpall: join(PG_BIN, 'pg_dumpall'),
  pg_restore: join(PG_BIN, 'pg_restore'),
  psql: join(PG_BIN, 'psql'),
  'mariadb-dump': '/usr/bin/mariadb-dump',
  mariadb: '/usr/bin/mariadb',
});

async function adminFor(engine: Engine): Promise<{ run: (sql: string) => Promise<void>; close: () => Promise<void> }> {
  if (engine === 'postgres') {
    const client = new pg.Client({ ...pgPeer, database: 'postgres' });
    await client.connect();
    return {
      run: async (sql) => {
        await client.query(sql.replace(/^DROP DATABASE IF EXISTS (.*)$/, 'DROP DATABASE IF EXISTS $1 WITH (FORCE)'));
      },
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection({ ...myPeer });
  return {
    run: async (sql) => {
      await connection.query(sql);
    },
    close: () => connection.end(),
  };
}

// Interrupted: stop the running pipeline, then let the finally below remove the scratch files and the bucket.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
    log(`${signal}: stopping`);
    killRunning();
  });
}

/** Runs a pipeline; a failure is recorded (and reported as one) instead of ending the suite. */
async function attempt(p: Pipeline, round: number): Promise<PipelineRun> {
  try {
    return await p.run(round);
  } catch (error) {
    if (interrupted) throw error;
    const summary = error instanceof PipelineError ? error.summary : (error as Error).message;
    log(`  round ${round + 1}/${rounds} ${p.label} FAILED: ${summary.slice(0, 300)}`);
    if (error instanceof PipelineError) log(error.message.split('\n').slice(-6).join('\n').slice(-3000));
    return {
      pipeline: p.id,
      round,
      wallS: Number.NaN,
      cpuS: Number.NaN,
      toolCpuS: {},
      dumpToolCpuS: Number.NaN,
      error: summary.slice(0, 2000),
    };
  }
}

async function runCase(engine: Engine, dataset: Dataset): Promise<CaseResult> {
  const scratch = join(scratchRoot, dataset.database);
  mkdirSync(scratch, { recursive: true });
  const databasePeer = engine === 'postgres' ? pgPeer : myPeer;
  if (!databasePeer) throw new Error(`${engine} peer missing`);
  if (engine === 'mysql') mysqlOptionsFile(scratch, databasePeer);
  const admin = await adminFor(engine);
  const context: CaseContext = {
    engine,
    database: dataset.database,
    peer: databasePeer,
    s3: s3Peer as NonNullable<typeof s3Peer>,
    bucket,
    wrappers,
    scratch,
    zstdLevels,
    streams,
    admin: admin.run,
  };
  const labels: Record<string, string> = {};
  const descriptions: Record<string, string> = {};
  const note = (p: Pipeline) => {
    labels[p.id] = p.label;
    descriptions[p.id] = p.description;
  };
  const runs: PipelineRun[] = [];
  try {
    const warm = localDump(context);
    note(warm);
    log(`${dataset.database}: ${warm.label} (warm-up, and the restore yardstick's input)`);
    const first = await warm.run(0);
    runs.push(first);
    const rawBytes = first.outBytes ?? 0;
    log(`  ${(rawBytes / 1e6).toFixed(0)} MB raw in ${first.wallS.toFixed(1)} s`);
    const dumps = dumpPipelines(context).filter(chosen);
    const restores = restorePipelines(context).filter(chosen);
    for (const p of [...dumps, ...restores]) note(p);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? dumps : [...dumps].reverse();
      for (const p of order) {
        const r = await attempt(p, round);
        runs.push(r);
        if (!r.error)
          log(
            `  round ${round + 1}/${rounds} ${p.label}: ${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU (dump tool ${r.dumpToolCpuS.toFixed(2)} s)${r.peakRssMiB ? `, peak RSS ${r.peakRssMiB.toFixed(0)} MiB` : ''}`,
          );
      }
      for (const p of round % 2 === 0 ? restores : [...restores].reverse()) {
        const r = await attempt(p, round);
        runs.push(r);
        if (!r.error) log(`  round ${round + 1}/${rounds} ${p.label}: ${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU`);
      }
    }
    return {
      engine,
      database: dataset.database,
      targetMb: dataset.targetMb,
      customers: dataset.customers,
      events: dataset.events,
      rawBytes,
      rounds,
      labels,
      descriptions,
      runs,
    };
  } finally {
    await admin.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function emptyBucket(): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key,
      VersionId: v.VersionId,
    }));
    if (objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

const cases: CaseResult[] = [];
try {
  for (const engine of engines) {
    for (const size of sizesFor(engine)) {
      const dataset =
        engine === 'postgres'
          ? await ensurePostgresDataset(pgPeer as NonNullable<typeof pgPeer>, size, log)
          : await ensureMysqlDataset(myPeer as NonNullable<typeof myPeer>, size, log);
      cases.push(await runCase(engine, dataset));
    }
  }
} finally {
  rmSync(scratchRoot, { recursive: true, force: true });
  await emptyBucket().catch((error: Error) => log(`could not remove bucket ${bucket}: ${error.message}`));
  if (interrupted) process.exit(130);
}

// Other suites share the machine: how busy it was at the end says how far to trust the wall times.
machine['load average at end'] = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const result: SuiteResult = {
  mode,
  name: values.engines ? `${mode}-${engines.join(',')}` : mode,
  command,
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  machine,
  cases,
};
mkdirSync('bench/results/raw', { recursive: true });
writeFileSync(
  `bench/results/raw/${started.toISOString().replaceAll(':', '-')}-${mode}.json`,
  `${JSON.stringify(result, null, 2)}\n`,
);
if (values['no-write']) {
  console.log(suiteMarkdown(result, `${mode}.svg`));
} else {
  writeSummary(result);
  rebuildFromSummaries();
  console.log(suiteMarkdown(result, `${result.name}.svg`));
  log(`wrote bench/results/${result.name}.{json,md,svg} and docs/BENCHMARKS.md`);
}
