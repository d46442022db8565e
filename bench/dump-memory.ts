/**
 * Peak memory of `safekeep dump` as the dump grows: ~200 MB vs ~2 GB of pg_dump output, side by side in one
 * run (this machine is noisy; the ratio is what counts). The worker streams, so its peak RSS should not
 * grow with the dump.
 *
 *   bash scripts/peers.sh start postgres versitygw
 *   node bench/dump-memory.ts            # or: node bench/dump-memory.ts 200 2000   (sizes in MB)
 *   node bench/dump-memory.ts 200 2000 --streams 1,3   # one stream and three (--parallelism), on 3 tables
 *
 * Results are appended to bench/results/dump-memory.md.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { bundleWorker, imageEntrypoint } from '#functions/cli/container/bundle.ts';
import { peerCoordinates } from '#test/support/peers.ts';

const workerBundle = await bundleWorker('bench/results/raw/worker/safekeep.mjs');
const pgPeer = peerCoordinates('postgres');
const s3Peer = peerCoordinates('versitygw');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { streams: { type: 'string' } } });
const sizesMb = positionals.map(Number).filter(Boolean);
const sizes = sizesMb.length > 0 ? sizesMb : [200, 2000];
/** `--parallelism` of each dump; with more than one stream the data is split over that many equal tables. */
const streamCounts = (values.streams ?? '1').split(',').map(Number);
const tables = Math.max(...streamCounts);
/** One row of `filler` dumps to about this many bytes of COPY text. */
const BYTES_PER_ROW = 140;

async function ensureDatabase(sizeMb: number): Promise<string> {
  const name = tables > 1 ? `bench_dump_${sizeMb}mb_${tables}t` : `bench_dump_${sizeMb}mb`;
  const admin = new pg.Client({ ...pgPeer, database: 'postgres' });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount;
  if (!exists) {
    console.error(`creating ${name} (${sizeMb} MB of dump)...`);
    await admin.query(`CREATE DATABASE ${name}`);
    const db = new pg.Client({ ...pgPeer, database: name });
    await db.connect();
    const rows = Math.round((sizeMb * 1_000_000) / BYTES_PER_ROW / tables);
    // md5 of random values: text that zstd compresses about 2x, like real data, not like zeros.
    for (let table = 1; table <= tables; table++) {
      await db.query(
        `CREATE TABLE ${tables > 1 ? `filler_${table}` : 'filler'} AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(g::text) AS pad FROM generate_series(1, ${rows}) g`,
      );
    }
    await db.end();
  }
  await admin.end();
  return name;
}

/** Runs one dump and samples the worker's peak RSS (VmHWM) until it exits. */
function measureDump(
  database: string,
  bucket: string,
  streams: number,
): Promise<{ peakRssMb: number; seconds: number; rawBytes: number; storedBytes: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(
      process.execPath,
      // What the Fargate task runs: the image's bundle, with its ENTRYPOINT's node flags.
      [
        ...imageEntrypoint().nodeFlags,
        workerBundle,
        'dump',
        '--engine',
        'postgres',
        '--source',
        `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${database}`,
        '--to',
        `s3://${bucket}/bench`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--parallelism',
        String(streams),
        '--json',
      ],
      {
        env: {
          ...process.env,
          SAFEKEEP_DB_PASSWORD: pgPeer.password,
          AWS_ACCESS_KEY_ID: s3Peer.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3Peer.secretAccessKey,
          AWS_REGION: 'us-east-1',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited between samples
      }
    }, 50);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      if (code !== 0) return reject(new Error(`dump of ${database} failed with ${code}`));
      const manifest = JSON.parse(output) as { totals: { rawBytes: number; storedBytes: number } };
      resolve({
        peakRssMb: peakKb / 1024,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        rawBytes: manifest.totals.rawBytes,
        storedBytes: manifest.totals.storedBytes,
      });
    });
  });
}

const s3 = new S3Client({
  endpoint: s3Peer.endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: {
    accessKeyId: s3Peer.accessKeyId,
    secretAccessKey: s3Peer.secretAccessKey,
  },
});
const bucket = `bench-${Date.now().toString(36)}`;
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

const results: ({ size: number; streams: number } & Awaited<ReturnType<typeof measureDump>>)[] = [];
for (const size of sizes) {
  const database = await ensureDatabase(size);
  for (const streams of streamCounts) {
    const result = await measureDump(database, bucket, streams);
    results.push({ size, streams, ...result });
    console.error(
      `${database}, ${streams} stream(s): peak RSS ${result.peakRssMb.toFixed(1)} MiB, ${(result.rawBytes / 1e6).toFixed(0)} MB raw in ${result.seconds.toFixed(1)} s`,
    );
  }
}

const lines = [
  `\n## ${new Date().toISOString()} (node ${process.version}, ${cpus().length} cores${tables > 1 ? `, the data in ${tables} equal tables` : ''})\n`,
  '| streams | dump (raw) | stored (zstd) | wall time | throughput | worker peak RSS | RSS vs smallest of the same streams |',
  '|---|---|---|---|---|---|---|',
  ...results.map((r) => {
    const smallest = results.find((other) => other.streams === r.streams);
    return `| ${r.streams} | ${(r.rawBytes / 1e6).toFixed(0)} MB | ${(r.storedBytes / 1e6).toFixed(0)} MB | ${r.seconds.toFixed(1)} s | ${(r.rawBytes / 1e6 / r.seconds).toFixed(0)} MB/s | ${r.peakRssMb.toFixed(1)} MiB | ${smallest ? (r.peakRssMb / smallest.peakRssMb).toFixed(2) : '1.00'}x |`;
  }),
  '',
];
appendFileSync('bench/results/dump-memory.md', lines.join('\n'));
console.log(lines.join('\n'));
