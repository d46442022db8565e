/**
 * A Dolt backup synced to a file:// remote (the server writes it to its own disk): the manifest carries the
 * refs but no bucket objects, and restore and verify must still work from the remote.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const dolt = await peer('dolt');
const versitygw = await peer('versitygw');

describe.skipIf(!dolt || !versitygw)('Dolt backup to a file:// remote', () => {
  it('restores and verifies from the remote the server wrote', async () => {
    // Prepare
    const doltPeer = dolt as NonNullable<typeof dolt>;
    const s3Peer = versitygw as NonNullable<typeof versitygw>;
    const [source, restored] = [uniqueName('dolt_file'), uniqueName('dolt_file_restored')];
    const db = await mysql.createConnection({ ...doltPeer });
    await db.query(`CREATE DATABASE ${source}`);
    await db.query(`USE ${source}`);
    await db.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
    await db.query("INSERT INTO t VALUES (1, 'committed')");
    await db.query("CALL dolt_commit('-Am', 'first')");
    await db.query("CALL dolt_branch('feature')");
    await db.query("INSERT INTO t VALUES (2, 'uncommitted')");
    const remote = `file://${mkdtempSync(join(tmpdir(), 'safekeep-dolt-remote-'))}`;
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'dolt-file');
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: doltPeer.password });
    const url = (name: string) => `dolt://root@127.0.0.1:${doltPeer.port}/${name}`;
    const s3Flags = ['--endpoint-url', s3Peer.endpoint];

    // Act
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'dolt',
        '--source',
        url(source),
        '--to',
        `s3://${bucket}/dolt-file`,
        '--dolt-url',
        remote,
        ...s3Flags,
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    const restore = await runCli(['restore', '--from', manifestUrlOf(dump), '--target', url(restored), ...s3Flags], env);
    const verify = await runCli(['verify', '--from', manifestUrlOf(dump), ...s3Flags], env);

    // Assess
    expect(restore.code, restore.stderr).toBe(0);
    expect(verify.code, verify.stderr).toBe(0);
    await db.query(`USE ${restored}`);
    const [rows] = (await db.query('SELECT id, v FROM t ORDER BY id')) as unknown as [{ id: number; v: string }[]];
    expect(rows).toEqual([
      { id: 1, v: 'committed' },
      { id: 2, v: 'uncommitted' },
    ]);
    const [branches] = (await db.query('SELECT name FROM dolt_branches ORDER BY name')) as unknown as [{ name: string }[]];
    expect(branches.map((b) => b.name)).toEqual(['feature', 'main']);
    await db.end();
  });
});
