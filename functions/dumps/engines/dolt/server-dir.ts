/**
 * A whole Dolt sql-server, for when Safekeep runs where its directories are reachable: the files the Dolt
 * documentation's "Additional SQL Server Configuration" lists, stored as objects of the run (role
 * `server-config`), and a restore that rebuilds the server from them and the databases' backups.
 *
 * Stored, by the path a restore puts them back at:
 * - `config/<name>`: the sql-server YAML file (`--server-config`);
 * - `root/.dolt/...`: the global `.dolt` directory (`--dolt-root`, DOLT_ROOT_PATH), **without `creds/`**: the
 *   signing keys for DoltHub and other remotes are left out, not encrypted (recreate them with `dolt creds`);
 * - `data/.doltcfg/...`: the privileges and branch control files (users, grants, branch permissions);
 * - `data/<database>/.dolt/config.json` and `repo_state.json`: each database's settings and remotes.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { objectName } from '../../../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../../../contracts/artifact-store.ts';
import { IntegrityError, RestoreError, UsageError } from '../../../contracts/errors.ts';
import { EXTENSIONS, loadManifest, type ManifestObject } from '../../../contracts/manifest.ts';
import type { Logger } from '../../../contracts/telemetry.ts';
import { runTool } from '../../adapters/child-process.ts';
import type { Producer, ProducerExit } from '../../commit/producer.ts';
import { checkStoredHash, openVerified } from '../../read-artifacts.ts';
import type { DumpRun } from '../engine.ts';
import { awsToolEnvironment, doltBinary, scratchDirectory } from './tools.ts';

export interface ServerDirectories {
  /** The sql-server's data directory (data_dir). */
  readonly serverDir: string;
  /** The sql-server YAML file. */
  readonly serverConfig?: string;
  /** The directory whose `.dolt` holds the global configuration (DOLT_ROOT_PATH, by default $HOME). */
  readonly doltRoot?: string;
}

const ROLE = 'server-config';
/** Left out of the global `.dolt`: `creds` holds private signing keys; the rest is Dolt's own scratch space. */
const GLOBAL_LEFT_OUT = new Set(['creds', 'eventsData', 'temptf', 'tmp']);
const DATABASE_FILES = ['config.json', 'repo_state.json'];

/** `{ path, file }` for every file to store, `path` being where a restore puts it back. */
export async function serverFiles(dirs: ServerDirectories, databases: readonly string[]) {
  const files: { path: string; file: string }[] = [];
  if (dirs.serverConfig) files.push({ path: `config/${baseName(dirs.serverConfig)}`, file: dirs.serverConfig });
  if (dirs.doltRoot) {
    const global = join(dirs.doltRoot, '.dolt');
    for (const file of await walk(global, GLOBAL_LEFT_OUT))
      files.push({ path: `root/.dolt/${posix(relative(global, file))}`, file });
  }
  const cfg = join(dirs.serverDir, '.doltcfg');
  for (const file of await walk(cfg, new Set())) files.push({ path: `data/.doltcfg/${posix(relative(cfg, file))}`, file });
  for (const database of databases) {
    for (const name of DATABASE_FILES) {
      const file = join(dirs.serverDir, database, '.dolt', name);
      if (await isFile(file)) files.push({ path: `data/${database}/.dolt/${name}`, file });
    }
  }
  return files;
}

/** Stages every server file as an object of the run. */
export async function stageServerFiles(run: DumpRun, dirs: ServerDirectories): Promise<number> {
  if (!(await isDirectory(dirs.serverDir))) {
    throw new UsageError(`--server-dir ${dirs.serverDir} is not a directory; pass the sql-server's data directory (data_dir)`);
  }
  const files = await serverFiles(dirs, run.facts.databases);
  for (const { path, file } of files) {
    const content = await readFile(file);
    await run.stage({
      name: objectName(ROLE, path, EXTENSIONS[run.compression]),
      role: ROLE,
      format: 'file',
      producer: bufferProducer(`reading ${file}`, content),
      completeness: { update: () => {}, finish: async () => ({}), abort: () => {} },
    });
  }
  run.log.info('stored the server files', {
    files: files.length,
    leftOut: 'the creds directory of the global .dolt (signing keys)',
  });
  return files.length;
}

/** Where a stored server file goes: its path, from the object's key. */
export function storedPath(object: ManifestObject): string {
  const name = object.key.slice(object.key.lastIndexOf('/') + 1);
  const path = decodeURIComponent(name.replace(/^server-config-/, '').replace(/\.(zst|gz)$/, ''));
  if (path.split('/').some((part) => part === '..' || part === ''))
    throw new IntegrityError(`${object.key} names an unsafe path`);
  return path;
}

export interface ServerRestore extends ServerDirectories {
  readonly manifestKey: string;
  readonly manifestVersionId?: string;
  readonly endpointUrl?: string;
  readonly timeoutMs: number;
}

/**
 * Rebuilds a whole server into empty directories: each database with `dolt backup restore` (every branch,
 * tag and working set, files checked against their SHA-256 first), then every stored server file in place.
 */
export async function restoreServerDir(
  request: ServerRestore,
  deps: { store: ArtifactStore; log: Logger },
): Promise<{ runId: string; databases: string[]; files: number }> {
  const { manifest } = await loadManifest(deps.store, request.manifestKey, request.manifestVersionId);
  if (manifest.engine !== 'dolt') throw new UsageError(`--server-dir restores a Dolt server; this backup is ${manifest.engine}`);
  const stored = manifest.objects.filter((object) => object.role === ROLE);
  if (stored.length === 0) {
    throw new UsageError('this backup holds no server files; it was taken without --server-dir, so restore it with --target');
  }
  if ((await isDirectory(request.serverDir)) && (await readdir(request.serverDir)).length > 0) {
    throw new RestoreError(`--server-dir ${request.serverDir} is not empty; restore a server into an empty directory`, 2);
  }
  const placed = stored.map((object) => ({ object, path: storedPath(object) }));
  const destination = (path: string): string => {
    const [area, ...rest] = path.split('/');
    const tail = rest.join('/');
    if (area === 'data') return join(request.serverDir, tail);
    if (area === 'root' && request.doltRoot) return join(request.doltRoot, tail);
    if (area === 'config' && request.serverConfig) return request.serverConfig;
    const flag = area === 'root' ? '--dolt-root DIR' : '--server-config FILE';
    throw new UsageError(`the backup holds ${path}; pass ${flag} to say where it goes`);
  };
  for (const { path } of placed) destination(path);

  // Every file first: nothing is written until the whole backup reads back intact.
  for (const object of manifest.objects) await checkStoredHash(deps.store, object);
  await mkdir(request.serverDir, { recursive: true });
  const scratch = await scratchDirectory('dolt-server-restore');
  const aws = awsToolEnvironment(request.endpointUrl);
  try {
    for (const entry of manifest.dolt ?? []) {
      deps.log.info('restoring with dolt backup restore', { database: entry.database, from: entry.url });
      const { exit } = await runTool({
        command: doltBinary(),
        args: ['backup', 'restore', entry.url, entry.database],
        env: { ...aws.env, DOLT_ROOT_PATH: scratch.home },
        secrets: aws.secrets,
        timeoutMs: request.timeoutMs,
        cwd: request.serverDir,
        description: `dolt backup restore of ${entry.database}`,
      });
      if (exit.code !== 0) {
        throw new RestoreError(
          `dolt backup restore of "${entry.database}" from ${entry.url} failed (${exit.stderrTail || `exit code ${exit.code}`}); check this machine's AWS credentials, region and endpoints`,
        );
      }
    }
  } finally {
    await scratch.dispose();
  }
  for (const { object, path } of placed) {
    const file = destination(path);
    await mkdir(dirname(file), { recursive: true });
    const chunks: Buffer[] = [];
    for await (const chunk of await openVerified(deps.store, object)) chunks.push(chunk as Buffer);
    await writeFile(file, Buffer.concat(chunks));
  }
  return { runId: manifest.runId, databases: (manifest.dolt ?? []).map((entry) => entry.database), files: placed.length };
}

function bufferProducer(description: string, content: Buffer): Producer {
  const stdout = Readable.from([content], { objectMode: false });
  const exited = new Promise<ProducerExit>((resolve) => {
    stdout.once('end', () => resolve({ code: 0, signal: null, timedOut: false, stoppedByUs: false, stderrTail: '' }));
    stdout.once('close', () => resolve({ code: 0, signal: null, timedOut: false, stoppedByUs: false, stderrTail: '' }));
  });
  return { description, stdout, exited, kill: () => stdout.destroy() };
}

async function walk(directory: string, leaveOut: ReadonlySet<string>): Promise<string[]> {
  if (!(await isDirectory(directory))) return [];
  const out: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (leaveOut.has(entry.name)) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path, new Set())));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

const baseName = (file: string) => file.slice(file.lastIndexOf(sep) + 1);
const posix = (path: string) => path.split(sep).join('/');
const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
