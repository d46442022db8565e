/**
 * Retention never deletes what Safekeep did not create: not moto's ~1,300 public AMI snapshots, not the
 * user's own snapshots, not look-alikes with Safekeep-like names or partial Safekeep tags, not another
 * target's snapshots whose name shares a prefix.
 */
import { CreateSnapshotCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { TAG } from '#functions/contracts/snapshot-naming.ts';
import { awsSnapshotPorts } from '#functions/snapshots/adapters/aws-clients.ts';
import { pruneTarget } from '#functions/snapshots/core/prune.ts';
import { type FlowContext, runSnapshotFlow } from '#functions/snapshots/core/snapshot-flow.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances, createVolumes, motoClients, recordingTelemetry, snapshotTargets } from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'eu-north-1';

describe.skipIf(!moto)('retention and foreign snapshots', () => {
  it('deletes only its own snapshots of the target, with the public AMI snapshots and look-alikes present', async () => {
    // Prepare
    const motoPeer = moto as NonNullable<typeof moto>;
    const { rds, ec2 } = motoClients(motoPeer.endpoint, REGION);
    const suffix = Date.now().toString(36);
    const instance = `orders-${suffix}`;
    const target = `orders-${suffix}`;
    await createInstances(rds, [instance]);
    const [volume = ''] = await createVolumes(ec2, REGION, 1, { app: `dolt-${suffix}` });
    const tags = (entries: Record<string, string>) => Object.entries(entries).map(([Key, Value]) => ({ Key, Value }));
    const foreignRds = [
      // A hand-made snapshot with a Safekeep-looking name and no tags.
      { id: `safekeep-${target}-20200101t000000z`, tags: [] },
      // Safekeep's tags, but a name Safekeep never gives.
      { id: `manual-${target}-before-upgrade`, tags: tags({ [TAG.target]: target, [TAG.runId]: '20200101T000000Z-abcdef' }) },
      // The target tag alone, with a Safekeep name: no run id, so not ours.
      { id: `safekeep-${target}-20200102t000000z`, tags: tags({ [TAG.target]: target }) },
      // Another target whose name extends this one's: "orders-x-db" is not "orders-x".
      {
        id: `safekeep-${target}-db-20200103t000000z`,
        tags: tags({ [TAG.target]: `${target}-db`, [TAG.runId]: '20200103T000000Z-abcdef' }),
      },
    ];
    for (const foreign of foreignRds) {
      await rds.send(
        new CreateDBSnapshotCommand({ DBInstanceIdentifier: instance, DBSnapshotIdentifier: foreign.id, Tags: foreign.tags }),
      );
    }
    const foreignEbs = [
      await ec2.send(
        new CreateSnapshotCommand({
          VolumeId: volume,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags({ Name: `safekeep-vols-${suffix}-20200101t000000z` }) }],
        }),
      ),
      await ec2.send(
        new CreateSnapshotCommand({
          VolumeId: volume,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags({ [TAG.target]: `vols-${suffix}`, Name: 'nightly' }) }],
        }),
      ),
    ].map((s) => s.SnapshotId ?? '');
    const before = (await ec2.send(new DescribeSnapshotsCommand({}))).Snapshots?.length ?? 0;
    expect(before).toBeGreaterThan(900); // moto's public AMI snapshots, plus the two look-alikes

    const targets = snapshotTargets(
      [
        { name: target, kind: 'rds-instance', source: { instanceId: instance } },
        { name: `vols-${suffix}`, kind: 'ebs-volume', source: { tags: { app: `dolt-${suffix}` } } },
      ],
      { keepLast: 1, minimum: 1 },
    );
    const context: FlowContext = {
      ports: awsSnapshotPorts({ endpointUrl: motoPeer.endpoint }),
      region: REGION,
      now: () => new Date(),
      telemetry: recordingTelemetry().telemetry,
    };

    // Act: three runs each, then prune to the newest one
    for (let round = 0; round < 3; round++) {
      for (const t of targets)
        await runSnapshotFlow(t, `2026112${round}T030000Z-run${round}x`, context, {
          pollMs: 10,
          timeoutMs: 30_000,
          sleep: async () => {},
        });
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // distinct snapshot names and creation times
    }
    const results = await Promise.all(targets.map((t) => pruneTarget(t, context, { dryRun: false })));

    // Assess: two of ours deleted per target, every foreign snapshot still there
    expect(results.map((r) => r.deleted.length)).toEqual([2, 2]);
    const rdsLeft = ((await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instance }))).DBSnapshots ?? []).map(
      (s) => s.DBSnapshotIdentifier,
    );
    for (const foreign of foreignRds) expect(rdsLeft).toContain(foreign.id);
    const ebsLeft = new Set(((await ec2.send(new DescribeSnapshotsCommand({}))).Snapshots ?? []).map((s) => s.SnapshotId));
    for (const id of foreignEbs) expect(ebsLeft.has(id)).toBe(true);
    // Three of ours were taken, two pruned: everything else is exactly as it was.
    expect(ebsLeft.size).toBe(before + 3 - 2);
    const deletedIds = results.flatMap((r) => r.deleted.map((d) => d.snapshot.id));
    console.log(
      `foreign snapshots: ${before - foreignEbs.length} public AMI snapshots and ${foreignRds.length + foreignEbs.length} look-alikes present; ${deletedIds.length} Safekeep snapshots deleted, 0 foreign`,
    );
  });
});
