/**
 * The public sample databases in ../shared/datasets (Sakila for MySQL/MariaDB, Pagila for PostgreSQL),
 * loaded under a name of the test's choosing with each server's own client, as their READMEs say to load them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pgToolPath } from '#functions/dumps/engines/postgres/tools.ts';
import type { DatabasePeer } from '../peers.ts';

/**
 * Where the datasets live: SAFEKEEP_DATASETS, or `../shared/datasets` from the main checkout or a worktree,
 * or from the checkout a local clone was made from (CI clones main elsewhere; the datasets stay outside).
 */
export function datasetsDir(): string | undefined {
  const origin = localOrigin();
  const candidates = [
    process.env.SAFEKEEP_DATASETS,
    resolve('..', 'shared', 'datasets'),
    resolve('..', '..', 'shared', 'datasets'),
    origin && resolve(origin, '..', 'shared', 'datasets'),
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, 'sakila-schema.sql')));
}

/** The directory this checkout was cloned from, when it was cloned from a local path. */
function localOrigin(): string | undefined {
  try {
    const url = execFileSync('git', ['config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
    return path.startsWith('/') ? path : undefined;
  } catch {
    return undefined;
  }
}

function read(dir: string, file: string): string {
  const bytes = readFileSync(join(dir, file));
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

function run(command: string, args: string[], input: string, env: Record<string, string> = {}): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`))));
    child.stdin.end(input);
  });
}

/**
 * MariaDB skips MySQL's versioned comments (`/*!50705 ... *\/`), so Sakila's geometry column, spatial index and
 * their values would silently not exist: unwrap the ones MariaDB understands; drop `SRID 0` (MySQL 8 syntax).
 */
export function unwrapForMariaDb(sql: string): string {
  return sql.replace(/\/\*!80003 SRID 0 \*\//g, '').replace(/\/\*!5\d{4} ?([\s\S]*?)\*\//g, '$1');
}

/** Loads Sakila 1.5 (schema, then data) into `database` with `client` (mysql or mariadb). */
export async function loadSakila(
  peer: DatabasePeer,
  client: string,
  database: string,
  flavor: 'mysql' | 'mariadb',
): Promise<void> {
  const dir = datasetsDir();
  if (!dir) throw new Error('no ../shared/datasets here; set SAFEKEEP_DATASETS');
  // The files create and USE `sakila`; the shared server may hold one already, so take the test's name.
  const rename = (sql: string) => sql.replace(/\bsakila\b/g, database);
  const adapt = flavor === 'mariadb' ? unwrapForMariaDb : (sql: string) => sql;
  const options = await mkdtemp(join(tmpdir(), 'sakila-'));
  const file = join(options, 'client.cnf');
  await writeFile(
    file,
    `[client]\nhost=${peer.host}\nport=${peer.port}\nuser=${peer.user}\npassword="${peer.password}"\nprotocol=TCP\n`,
    { mode: 0o600 },
  );
  try {
    for (const part of ['sakila-schema.sql', 'sakila-data.sql.gz']) {
      await run(client, [`--defaults-extra-file=${file}`, '--default-character-set=utf8mb4'], adapt(rename(read(dir, part))));
    }
  } finally {
    await rm(options, { recursive: true, force: true });
  }
}

/** Loads Pagila (schema, data, then fills its materialized view, which ships empty) into an existing database. */
export async function loadPagila(peer: DatabasePeer, database: string): Promise<void> {
  const dir = datasetsDir();
  if (!dir) throw new Error('no ../shared/datasets here; set SAFEKEEP_DATASETS');
  const env = { PGHOST: peer.host, PGPORT: String(peer.port), PGUSER: peer.user, PGPASSWORD: peer.password };
  const psql = ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${database}`, '--file=-'];
  await run(pgToolPath('psql'), psql, read(dir, 'pagila-schema.sql'), env);
  await run(pgToolPath('psql'), psql, read(dir, 'pagila-data.sql.gz'), env);
  await run(pgToolPath('psql'), psql, 'REFRESH MATERIALIZED VIEW rental_by_category;', env);
}
