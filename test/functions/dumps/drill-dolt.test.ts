/**
 * Dolt and Doltgres restore drills on the local peers: each backup (synced by the peer itself to S3 with its
 * remote's manifest in DynamoDB on moto) restored by a scratch server of the same engine, and its branch
 * heads, tags and working sets compared with the manifest.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, peerEnvironment, uniqueName } from '#test/support/worker.ts';
import { drillHarness, failedOn } from './drill-support.ts';
import { createRemoteTable } from './engines/dolt-support.ts';

const dolt = await peer('dolt');
const doltgres = await peer('doltgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

describe.skipIf(!versitygw || !moto || (!dolt && !doltgres))('Dolt and Doltgres backups, drilled', () => {
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const dynamoTable = uniqueName('safekeep-drill');
  let bucket = '';
  const harness = drillHarness(s3Peer, () => bucket);

  beforeAll(async () => {
    // The scratch servers read the backup from S3 (versitygw) and DynamoDB (moto) themselves.
    for (const [name, value] of Object.entries(peerEnvironment(s3Peer, { AWS_ENDPOINT_URL_DYNAMODB: motoPeer.endpoint })))
      vi.stubEnv(name, value);
    await createRemoteTable(motoPeer, dynamoTable);
    bucket = await createVersionedBucket(harness.s3, 'drill-dolt');
  });

  /** Points the manifest's `main` at another commit of the same database: only the comparison can tell. */
  async function moveMain(key: string, manifest: Manifest, otherHash: string): Promise<void> {
    const stored = await harness.readManifest(key);
    stored.dolt = (stored.dolt ?? []).map((entry) => ({
      ...entry,
      branches: entry.branches.map((branch) => (branch.name === 'main' ? { ...branch, hash: otherHash } : branch)),
    }));
    expect(stored.runId).toBe(manifest.runId);
    await harness.writeManifest(key, stored);
  }

  it.skipIf(!dolt)(
    'Dolt: restores every branch head, tag and working set, and fails when the manifest names another head',
    async () => {
      const source = dolt as NonNullable<typeof dolt>;
      const database = uniqueName('drill_dolt');
      const db = await mysql.createConnection({ ...source });
      await db.query(`CREATE DATABASE \`${database}\``);
      await db.query(`USE \`${database}\``);
      await db.query('CREATE TABLE items (id INT PRIMARY KEY, name TEXT)');
      await db.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
      await db.query("CALL dolt_commit('-Am', 'first')");
      const [[first]] = (await db.query('SELECT hashof(?) AS h', ['main'])) as unknown as [[{ h: string }]];
      await db.query("INSERT INTO items VALUES (3, 'three')");
      await db.query("CALL dolt_commit('-am', 'second')");
      await db.query("CALL dolt_tag('v1')");
      await db.query("CALL dolt_branch('wip')");
      await db.query(`USE \`${database}/wip\``);
      await db.query("INSERT INTO items VALUES (4, 'uncommitted')");
      await db.end();
      const { key, manifest } = await harness.backup(
        [
          '--engine',
          'dolt',
          '--source',
          `dolt://${source.user}@${source.host}:${source.port}/${database}`,
          '--to',
          `s3://${bucket}/dolt`,
          '--dolt-dynamodb-table',
          dynamoTable,
          '--endpoint-url',
          s3Peer.endpoint,
        ],
        { SAFEKEEP_DB_PASSWORD: source.password },
      );

      const good = await harness.drill(key, s3Peer.endpoint);

      expect(good.validationStatus, good.validationStatusMessage).toBe('SUCCESSFUL');
      expect(good.restore.serverVersion).toMatch(/^Dolt /);
      expect(good.compared).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ what: 'branch', subject: `${database}: main`, ok: true }),
          expect.objectContaining({ what: 'tag', subject: `${database}: v1`, ok: true }),
          // At the head: wip's uncommitted fourth row is the working set's, not the head's.
          expect.objectContaining({ what: 'rows', subject: `${database}@wip: items`, expected: 3, found: 3, ok: true }),
          expect.objectContaining({
            what: 'working-set',
            subject: `${database}: wip`,
            expected: 'uncommitted changes',
            ok: true,
          }),
        ]),
      );
      expect(good.counts).toMatchObject({ branches: 2, tags: 1, tables: 2, rows: 6 });

      await moveMain(key, manifest, first.h);
      const bad = await harness.drill(key, s3Peer.endpoint);

      expect(bad.validationStatus).toBe('FAILED');
      expect(bad.validationStatusMessage).toContain(`branch main is at`);
      expect(bad.validationStatusMessage).toContain(first.h);
    },
  );

  it.skipIf(!doltgres)(
    'Doltgres: restores every branch head, tag and working set, and fails when the manifest names another head',
    async () => {
      const source = doltgres as NonNullable<typeof doltgres>;
      const database = uniqueName('drill_gres');
      const admin = new pg.Client({ ...source, database: 'postgres' });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const db = new pg.Client({ ...source, database });
      await db.connect();
      await db.query('CREATE TABLE items (id INT PRIMARY KEY, name TEXT)');
      await db.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
      await db.query("SELECT dolt_commit('-Am', 'first')");
      const first = (await db.query<{ h: string }>("SELECT hashof('main') AS h")).rows[0]?.h as string;
      await db.query("INSERT INTO items VALUES (3, 'three')");
      await db.query("SELECT dolt_commit('-am', 'second')");
      await db.query("SELECT dolt_tag('v1')");
      await db.end();
      const { key, manifest } = await harness.backup(
        [
          '--engine',
          'doltgres',
          '--source',
          `doltgres://${source.user}@${source.host}:${source.port}/${database}`,
          '--to',
          `s3://${bucket}/doltgres`,
          '--dolt-dynamodb-table',
          dynamoTable,
          '--endpoint-url',
          s3Peer.endpoint,
        ],
        { SAFEKEEP_DB_PASSWORD: source.password },
      );

      const good = await harness.drill(key, s3Peer.endpoint);

      expect(good.validationStatus, good.validationStatusMessage).toBe('SUCCESSFUL');
      expect(good.restore.serverVersion).toMatch(/^Doltgres /);
      expect(good.compared).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ what: 'branch', subject: `${database}: main`, ok: true }),
          expect.objectContaining({ what: 'tag', subject: `${database}: v1`, ok: true }),
          expect.objectContaining({ what: 'rows', subject: `${database}@main: public.items`, expected: 3, found: 3, ok: true }),
        ]),
      );
      expect(good.counts).toMatchObject({ branches: 1, tags: 1, tables: 1, rows: 3 });

      await moveMain(key, manifest, first);
      const bad = await harness.drill(key, s3Peer.endpoint);

      expect(bad.validationStatus).toBe('FAILED');
      expect(bad.validationStatusMessage).toContain('branch main is at');
      expect(failedOn(bad, 'sha256')).toEqual([]);
    },
  );
});
