/**
 * The prune after a committed run, in-process against versitygw and the PostgreSQL peer: it deletes what the
 * target's retention drops, and its failure leaves the committed backup standing and the run successful.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { DumpTarget } from '#functions/contracts/config/schema.ts';
import { StoreError } from '#functions/contracts/errors.ts';
import { runDump } from '#functions/dumps/dump.ts';
import { listDumpBackups } from '#functions/dumps/prune.ts';
import { dumpRequestFor } from '#functions/dumps/request.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !versitygw)('prune after a committed run', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const database = uniqueName('prune_run');
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (message: string) => void warnings.push(message) };
  let bucket: string;
  let target: DumpTarget;

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, database, ['CREATE TABLE t (id int PRIMARY KEY)', 'INSERT INTO t VALUES (1)']);
    bucket = await createVersionedBucket(s3Client(s3Peer), 'prune-run');
    const config = parseConfig(
      {
        defaults: { schedule: { expression: 'rate(1 day)' } },
        targets: [
          {
            name: 'meta',
            kind: 'postgres',
            retention: { keepLast: 1 },
            source: { host: pgPeer.host, port: pgPeer.port, databases: [database], secret: 'unused' },
            network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
          },
        ],
      },
      'test config',
    );
    target = config.targets[0] as DumpTarget;
  });

  const dump = (runId: string, store = s3ArtifactStore(s3Client(s3Peer), bucket)) =>
    runDump(dumpRequestFor(target, { bucket }, { username: pgPeer.user, password: pgPeer.password }, runId), {
      store,
      log,
      now: () => new Date(),
      randomSuffix: () => 'x',
    });

  it('keeps the backup and warns when the prune fails, then prunes on the next run', async () => {
    // Prepare
    const store = s3ArtifactStore(s3Client(s3Peer), bucket);
    const denying = {
      ...store,
      deleteCurrent: async (key: string) => {
        throw new StoreError(`deleting s3://${bucket}/${key} failed (AccessDenied)`);
      },
    };

    // Act
    const first = await dump('20261101T031500Z-one');
    const second = await dump('20261102T031500Z-two', denying);
    const afterFailedPrune = await listDumpBackups(store, 'meta');
    const third = await dump('20261103T031500Z-three');

    // Assess
    expect(first.prune).toMatchObject({ deleted: [] });
    expect(second.prune).toEqual({ error: expect.stringContaining('the backup is committed, but pruning older backups') });
    expect(warnings).toEqual([expect.stringContaining('run safekeep prune --target meta')]);
    expect(afterFailedPrune.map((b) => b.id).sort()).toEqual(['20261101T031500Z-one', '20261102T031500Z-two']);
    expect(third.prune).toMatchObject({
      deleted: [{ backup: { id: '20261102T031500Z-two' } }, { backup: { id: '20261101T031500Z-one' } }],
    });
    expect((await listDumpBackups(store, 'meta')).map((b) => b.id)).toEqual(['20261103T031500Z-three']);
  });
});
