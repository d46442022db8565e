/**
 * A database name is data from the server, and libpq reads a `--dbname` holding `=` (or starting with
 * postgresql://) as a whole connection string. A role that may create databases must not be able to send
 * pg_dump, with the backup password, to a server of its choosing.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

/**
 * A PostgreSQL look-alike that records every byte a client sends it: it declines TLS and asks for a
 * clear-text password, which is what an attacker's server does.
 */
async function recordingListener(): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      received.push(chunk.toString('latin1'));
      const sslRequest = chunk.length === 8 && chunk.readInt32BE(4) === 80877103;
      if (sslRequest) socket.write('N');
      else socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, received };
}

describe.skipIf(!postgres || !versitygw)('PostgreSQL database names that look like connection strings', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const real = uniqueName('pg_real');
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let hostile: string;

  beforeAll(async () => {
    listener = await recordingListener();
    hostile = `host=127.0.0.1 port=${listener.port} dbname=${uniqueName('x')}`;
    await createPostgresDatabase(pgPeer, real, ['CREATE TABLE kept (id int)', 'INSERT INTO kept VALUES (1), (2)']);
    const admin = new pg.Client({ ...pgPeer, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(hostile)}`);
    } finally {
      await admin.end();
    }
  });

  afterAll(async () => {
    listener?.server.close();
    const admin = new pg.Client({ ...pgPeer, database: 'postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(hostile)}`).catch(() => {});
    await admin.end();
  });

  it('dumps and restores the database by its name, and nothing reaches the server the name points at', async () => {
    // Prepare
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'pg-hostile');
    const names = [real, hostile].map(encodeURIComponent).join(',');
    const source = `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${names}`;
    const restored = uniqueName('pg_from_hostile');
    const s3Flags = ['--endpoint-url', s3Peer.endpoint];

    // Act
    const dump = await runCli(
      ['dump', '--engine', 'postgres', '--source', source, '--to', `s3://${bucket}/hostile`, ...s3Flags, '--json'],
      env,
    );
    const restore =
      dump.code === 0
        ? await runCli(
            [
              'restore',
              '--from',
              manifestUrlOf(dump),
              '--database',
              hostile,
              '--target',
              `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${restored}`,
              ...s3Flags,
            ],
            env,
          )
        : undefined;

    // Assess
    expect(listener.received.join(''), 'pg_dump connected to the server named in a database name').toBe('');
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout).toContain(JSON.stringify(hostile));
    expect(restore?.code, restore?.stderr).toBe(0);
    expect(listener.received).toEqual([]);
  });
});
