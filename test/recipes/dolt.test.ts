/**
 * docs/recipes/dolt.md, end to end: a private Dolt sql-server in a temp directory (never the shared peer)
 * with two databases, branches, a working set, a user with grants, branch permissions, a per-database remote
 * and setting, and global config. Back up with --server-dir, delete the data directory, the YAML and the
 * global .dolt, restore with --server-dir, start the server again and compare everything.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { freePort } from '#test/support/ports.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';
import { createRemoteTable, readManifest } from '../functions/dumps/engines/dolt-support.ts';

const versitygw = await peer('versitygw');
const moto = await peer('moto');
const DOLT = process.env.SAFEKEEP_DOLT_BIN ?? 'dolt';

describe.skipIf(!versitygw || !moto)('recipe: a whole Dolt server rebuilt from --server-dir', () => {
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const password = randomBytes(12).toString('hex');
  const appPassword = randomBytes(12).toString('hex');
  const dynamoTable = uniqueName('safekeep-dolt-server');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: password, AWS_ENDPOINT_URL_DYNAMODB: motoPeer.endpoint });
  const serverEnv = { ...env, AWS_ENDPOINT_URL: '' };
  let base: string;
  let data: string;
  let home: string;
  let yaml: string;
  let port: number;
  let server: ChildProcess | undefined;

  const start = async () => {
    server = spawn(DOLT, ['sql-server', '--config', yaml], {
      cwd: data,
      env: { ...serverEnv, DOLT_ROOT_PATH: home },
      stdio: 'ignore',
    });
    await waitForPort(port);
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  const connect = () => mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'safekeep-dolt-server-'));
    data = join(base, 'data');
    home = join(base, 'home');
    yaml = join(base, 'server.yaml');
    port = await freePort();
    await mkdir(data, { recursive: true });
    await mkdir(join(home, '.dolt', 'creds'), { recursive: true });
    const global = (key: string, value: string) =>
      execFileSync(DOLT, ['config', '--global', '--add', key, value], { env: { ...serverEnv, DOLT_ROOT_PATH: home } });
    global('user.name', 'Recipe test');
    global('user.email', 'recipe@localhost');
    global('metrics.disabled', 'true');
    await writeFile(join(home, '.dolt', 'creds', 'secret.jwk'), '{"d": "a private signing key"}');
    await writeFile(
      yaml,
      [
        'log_level: warning',
        `data_dir: ${data}`,
        `cfg_dir: ${data}/.doltcfg`,
        `privilege_file: ${data}/.doltcfg/privileges.db`,
        `branch_control_file: ${data}/.doltcfg/branch_control.db`,
        'listener:',
        '  host: 127.0.0.1',
        `  port: ${port}`,
        '',
      ].join('\n'),
    );
    await start();
    const bootstrap = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
    await bootstrap.query(`CREATE USER 'root'@'%' IDENTIFIED BY '${password}'`);
    await bootstrap.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION");
    await bootstrap.query(`ALTER USER 'root'@'localhost' IDENTIFIED BY '${password}'`);
    await bootstrap.end();
    const db = await connect();
    for (const name of ['shop', 'crm']) {
      await db.query(`CREATE DATABASE ${name}`);
      await db.query(`USE ${name}`);
      await db.query('CREATE TABLE items (id INT PRIMARY KEY, note TEXT)');
      await db.query("INSERT INTO items VALUES (1, 'committed')");
      await db.query("CALL dolt_commit('-Am', 'items')");
      await db.query("CALL dolt_branch('feature')");
      await db.query("INSERT INTO items VALUES (2, 'uncommitted on main')");
    }
    await db.query('USE shop');
    await db.query("CALL dolt_remote('add', 'origin', 'file:///srv/remotes/shop')");
    await db.query(`CREATE USER 'app'@'%' IDENTIFIED BY '${appPassword}'`);
    await db.query("GRANT SELECT, INSERT ON shop.* TO 'app'@'%'");
    await db.query("INSERT INTO dolt_branch_control VALUES (?, 'feature', ?, '%', 'admin')", ['shop', 'app']);
    await db.end();
    execFileSync(DOLT, ['config', '--local', '--add', 'sqlserver.global.recipe', 'yes'], {
      cwd: join(data, 'shop'),
      env: { ...serverEnv, DOLT_ROOT_PATH: home },
    });
    await createRemoteTable(motoPeer, dynamoTable);
  }, 120_000);

  afterAll(async () => {
    await stop();
    if (base) await rm(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('backs up, loses the data directory, YAML and global .dolt, and rebuilds a server that serves all of it', async () => {
    // Prepare
    const bucket = await createVersionedBucket(s3, 'dolt-server');
    const before = await serverState(connect);
    const files = ['shop/.dolt/config.json', 'shop/.dolt/repo_state.json', 'crm/.dolt/repo_state.json'];
    const fileContents = await Promise.all(files.map((file) => readFile(join(data, file), 'utf8')));
    const yamlBefore = await readFile(yaml, 'utf8');
    const globalBefore = await readFile(join(home, '.dolt', 'config_global.json'), 'utf8');
    const dirs = ['--server-dir', data, '--server-config', yaml, '--dolt-root', home];

    // Act
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'dolt',
        '--source',
        `dolt://root@127.0.0.1:${port}`,
        '--to',
        `s3://${bucket}/dolt-server`,
        '--dolt-dynamodb-table',
        dynamoTable,
        '--endpoint-url',
        s3Peer.endpoint,
        ...dirs,
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stderr).toMatch(/warning: not in this backup: the creds directory of the global \.dolt/);
    const manifestUrl = manifestUrlOf(dump);
    const manifest = await readManifest(s3, manifestUrl);
    const verify = await runCli(['verify', '--from', manifestUrl, '--endpoint-url', s3Peer.endpoint], env);
    expect(verify.code, verify.stderr).toBe(0);
    await stop();
    for (const lost of [data, yaml, join(home, '.dolt')])
      await rm(lost, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    const restore = await runCli(['restore', '--from', manifestUrl, '--endpoint-url', s3Peer.endpoint, ...dirs], env);
    expect(restore.code, restore.stderr).toBe(0);
    await start();

    // Assess
    const stored = manifest.objects.filter((o) => o.role === 'server-config').map((o) => decodeURIComponent(o.key));
    expect(stored.some((key) => key.includes('root/.dolt/creds'))).toBe(false);
    expect(existsSync(join(home, '.dolt', 'creds'))).toBe(false);
    expect(await readFile(yaml, 'utf8')).toBe(yamlBefore);
    expect(await readFile(join(home, '.dolt', 'config_global.json'), 'utf8')).toBe(globalBefore);
    expect(await Promise.all(files.map((file) => readFile(join(data, file), 'utf8')))).toEqual(fileContents);
    const after = await serverState(connect);
    expect(after).toEqual(before);
    console.log(
      `Dolt server rebuilt: ${stored.length} server files, ${before.databases.length} databases, ${Object.keys(before.branches).length} branch lists, ${before.users.length} users`,
    );
    const app = await mysql.createConnection({ host: '127.0.0.1', port, user: 'app', password: appPassword, database: 'shop' });
    expect(((await app.query('SELECT count(*) AS n FROM items')) as unknown as [{ n: number }[]])[0][0]?.n).toBe(2);
    await app.end();
  }, 300_000);
});

/** Databases, every branch with its head and dirty flag, users, the app's grants, branch permissions. */
async function serverState(connect: () => Promise<mysql.Connection>) {
  const db = await connect();
  try {
    const rows = async <T>(sql: string) => ((await db.query(sql)) as unknown as [T[]])[0];
    const databases = (await rows<{ Database: string }>('SHOW DATABASES'))
      .map((row) => row.Database)
      .filter((name) => !['information_schema', 'mysql'].includes(name))
      .sort();
    const branches: Record<string, unknown> = {};
    for (const name of databases) {
      await db.query(`USE ${name}`);
      branches[name] = await rows('SELECT name, hash, dirty FROM dolt_branches ORDER BY name');
    }
    await db.query('USE shop');
    return {
      databases,
      branches,
      users: await rows('SELECT User, Host FROM mysql.user ORDER BY User, Host'),
      grants: await rows("SHOW GRANTS FOR 'app'@'%'"),
      branchControl: await rows('SELECT * FROM dolt_branch_control ORDER BY 1, 2, 3, 4'),
      remotes: await rows('SELECT name, url FROM dolt_remotes'),
      rows: await rows('SELECT * FROM items ORDER BY id'),
    };
  } finally {
    await db.end();
  }
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`dolt sql-server did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
