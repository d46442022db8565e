import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateDBSnapshotCommand,
  DescribeAccountAttributesCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  SnapshotQuotaExceededFault,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { SnapshotError } from '#functions/contracts/errors.ts';
import { awsSnapshotPorts } from '#functions/snapshots/adapters/aws-clients.ts';
import { rdsSnapshots } from '#functions/snapshots/adapters/rds-snapshots.ts';
import type { Ec2Port, RdsPort, Snapshot, SnapshotPorts } from '#functions/snapshots/core/ports.ts';
import { pruneTarget } from '#functions/snapshots/core/prune.ts';
import { type FlowContext, runSnapshotFlow, startCopies, startSnapshots } from '#functions/snapshots/core/snapshot-flow.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances, createVolumes, motoClients, recordingTelemetry, snapshotTargets } from '#test/support/snapshots.ts';

const moto = await peer('moto');
const SOURCE = 'eu-west-3';
const DESTINATION = 'eu-south-1';
const loop = { pollMs: 10, timeoutMs: 30_000, sleep: async () => {} };

describe.skipIf(!moto)('cross-region copies (moto)', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  const context = (): FlowContext => ({
    ports: awsSnapshotPorts({ endpointUrl: motoPeer.endpoint }),
    region: SOURCE,
    now: () => new Date(),
    telemetry: recordingTelemetry().telemetry,
  });
  const customerKey = async () =>
    (
      await new KMSClient({ endpoint: motoPeer.endpoint, region: DESTINATION, credentials: MOTO_CREDENTIALS }).send(
        new CreateKeyCommand({ Description: 'safekeep copies' }),
      )
    ).KeyMetadata?.Arn ?? '';

  it('re-encrypts a snapshot under the AWS-managed RDS key with the target customer key', async () => {
    // Prepare: an instance encrypted with aws/rds, which cannot be shared or copied across accounts as is
    const { rds } = motoClients(motoPeer.endpoint, SOURCE);
    const instance = `managed-key-${Date.now().toString(36)}`;
    await createInstances(rds, [instance], { encrypted: true });
    const key = await customerKey();
    const [target] = snapshotTargets([
      { name: instance, kind: 'rds-instance', source: { instanceId: instance }, copy: { region: DESTINATION, kmsKeyArn: key } },
    ]);

    // Act
    const outcome = await runSnapshotFlow(target as never, '20261121T030000Z-copy01', context(), loop);

    // Assess
    expect(outcome.state).toBe('complete');
    expect(outcome.snapshots[0]?.kmsKeyId).toMatch(/aws\/rds/);
    expect(outcome.copies).toHaveLength(1);
    expect(outcome.copies[0]).toMatchObject({ region: DESTINATION, kmsKeyId: key, id: outcome.snapshots[0]?.id });
    const [copy] =
      (
        await motoClients(motoPeer.endpoint, DESTINATION).rds.send(
          new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: outcome.snapshots[0]?.id }),
        )
      ).DBSnapshots ?? [];
    expect(copy?.KmsKeyId).toBe(key);
    expect(copy?.TagList).toEqual(expect.arrayContaining([{ Key: 'safekeep:copy-of', Value: outcome.snapshots[0]?.arn }]));
  });

  it('copies EBS snapshots encrypted with the customer key', async () => {
    const { ec2 } = motoClients(motoPeer.endpoint, SOURCE);
    const tag = `copy-${Date.now().toString(36)}`;
    await createVolumes(ec2, SOURCE, 2, { copytest: tag });
    const key = await customerKey();
    const [target] = snapshotTargets([
      { name: tag, kind: 'ebs-volume', source: { tags: { copytest: tag } }, copy: { region: DESTINATION, kmsKeyArn: key } },
    ]);
    const outcome = await runSnapshotFlow(target as never, '20261121T030000Z-copy02', context(), loop);
    expect(outcome.copies).toHaveLength(2);
    expect(outcome.copies.every((c) => c.region === DESTINATION && c.kmsKeyId === key && c.encrypted)).toBe(true);
  });

  it('refuses a destination key that does not exist, naming it and what to do', async () => {
    const { rds } = motoClients(motoPeer.endpoint, SOURCE);
    const instance = `no-key-${Date.now().toString(36)}`;
    await createInstances(rds, [instance]);
    const missing = 'arn:aws:kms:eu-south-1:123456789012:key/00000000-0000-0000-0000-000000000000';
    const [target] = snapshotTargets([
      {
        name: instance,
        kind: 'rds-instance',
        source: { instanceId: instance },
        copy: { region: DESTINATION, kmsKeyArn: missing },
      },
    ]);
    await expect(runSnapshotFlow(target as never, '20261121T030000Z-copy03', context(), loop)).rejects.toThrow(
      new RegExp(
        `the copy key ${missing} of target "${instance}" does not exist or is disabled in eu-south-1; create it there or fix copy.kmsKeyArn`,
      ),
    );
  });

  it('fails clearly, not silently, for a stopped instance and for one that does not exist', async () => {
    const { rds } = motoClients(motoPeer.endpoint, SOURCE);
    const instance = `stopped-${Date.now().toString(36)}`;
    await createInstances(rds, [instance]);
    await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: instance }));
    expect(
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instance }))).DBInstances?.[0]?.DBInstanceStatus,
    ).toBe('stopped');
    const targets = snapshotTargets([
      { name: instance, kind: 'rds-instance', source: { instanceId: instance } },
      { name: 'ghost', kind: 'rds-instance', source: { instanceId: 'ghost-db' } },
    ]);
    await expect(startSnapshots(targets[0] as never, 'r1', context())).rejects.toThrow(
      `RDS instance ${instance} is stopped, not available, so it cannot be snapshotted now`,
    );
    await expect(startSnapshots(targets[1] as never, 'r1', context())).rejects.toThrow(
      'RDS instance ghost-db does not exist in eu-west-3',
    );
  });
});

describe('copy slots per destination region', () => {
  it('starts only as many copies as the destination has free slots, and leaves the rest waiting', async () => {
    const started: string[] = [];
    const snapshot = (i: number): Snapshot => ({
      kind: 'ebs',
      id: `snap-${i}`,
      arn: `arn:snap-${i}`,
      region: SOURCE,
      source: `vol-${i}`,
      status: 'available',
      tags: {},
      encrypted: false,
    });
    const ec2 = {
      copiesInProgress: async () => 17,
      copyFrom: async (s: Snapshot) => {
        started.push(s.id);
        return { ...s, region: DESTINATION, status: 'pending' as const };
      },
    };
    const ports = {
      ec2: () => ec2 as unknown as Ec2Port,
      kms: () => ({ keyUsable: async () => true }),
      rds: () => ({}) as RdsPort,
    } as SnapshotPorts;
    const [target] = snapshotTargets([
      {
        name: 'vols',
        kind: 'ebs-volume',
        source: { volumeId: 'vol-0a1b2c3d' },
        copy: { region: DESTINATION, kmsKeyArn: 'arn:aws:kms:eu-south-1:123456789012:key/k' },
      },
    ]);
    const progress = await startCopies(
      target as never,
      { copies: [], waiting: [1, 2, 3, 4, 5].map(snapshot) },
      { ports, region: SOURCE, now: () => new Date(), telemetry: recordingTelemetry().telemetry },
    );
    expect(started).toEqual(['snap-1', 'snap-2', 'snap-3']);
    expect(progress.waiting.map((s) => s.id)).toEqual(['snap-4', 'snap-5']);
  });
});

describe('the RDS manual snapshot quota (error shapes moto cannot produce)', () => {
  const [target] = snapshotTargets([{ name: 'orders', kind: 'rds-instance', source: { instanceId: 'orders' } }]);
  function mocked(used: number, max: number) {
    const client = new RDSClient({ region: SOURCE, credentials: MOTO_CREDENTIALS });
    const mock = mockClient(client);
    mock
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [{ DBInstanceIdentifier: 'orders', DBInstanceStatus: 'available', DBInstanceArn: 'arn:db' }] });
    mock
      .on(DescribeAccountAttributesCommand)
      .resolves({ AccountQuotas: [{ AccountQuotaName: 'ManualSnapshots', Used: used, Max: max }] });
    mock.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: 'x', Status: 'creating' } });
    const recorded = recordingTelemetry();
    const context: FlowContext = {
      ports: {
        rds: () => rdsSnapshots(client, SOURCE),
        ec2: () => ({}) as Ec2Port,
        kms: () => ({ keyUsable: async () => true }),
      },
      region: SOURCE,
      now: () => new Date(),
      telemetry: recorded.telemetry,
    };
    return { mock, context, recorded };
  }

  it('warns through a metric before the wall', async () => {
    const { context, recorded } = mocked(85, 100);
    await startSnapshots(target as never, 'r', context);
    expect(recorded.metrics).toContainEqual({
      name: 'ManualSnapshotQuotaUsedPercent',
      value: 85,
      dimensions: { Region: SOURCE },
    });
    expect(recorded.events).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'RDS manual snapshot quota nearly used up' }),
    );
  });

  it('fails clearly at the wall, before calling CreateDBSnapshot', async () => {
    const { mock, context } = mocked(100, 100);
    await expect(startSnapshots(target as never, 'r', context)).rejects.toThrow(
      'the RDS manual snapshot quota in eu-west-3 is used up (100 of 100); tighten retention, delete old snapshots, or request a quota increase',
    );
    expect(mock.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  it('turns SnapshotQuotaExceeded from the service into the same advice', async () => {
    const { mock, context } = mocked(10, 100);
    mock
      .on(CreateDBSnapshotCommand)
      .rejects(new SnapshotQuotaExceededFault({ message: 'Cannot create more than 100 manual snapshots', $metadata: {} }));
    const failure = startSnapshots(target as never, 'r', context);
    await expect(failure).rejects.toBeInstanceOf(SnapshotError);
    await expect(failure).rejects.toThrow(/quota in eu-west-3 is used up; tighten retention or request a quota increase/);
  });
});

describe('prune never runs after a failed backup', () => {
  const snapshot = (id: string, status: Snapshot['status'], minutesAgo: number): Snapshot => ({
    kind: 'rds-instance',
    id,
    arn: `arn:${id}`,
    region: SOURCE,
    source: 'orders',
    status,
    createdAt: new Date(Date.now() - minutesAgo * 60_000),
    tags: { 'safekeep:target': 'orders', 'safekeep:run-id': id },
    encrypted: false,
  });
  const [target] = snapshotTargets([{ name: 'orders', kind: 'rds-instance', source: { instanceId: 'orders' } }], {
    keepLast: 1,
    minimum: 1,
  });
  const contextWith = (snapshots: Snapshot[], deleted: string[]): FlowContext => ({
    ports: {
      rds: () =>
        ({
          listTargetSnapshots: async () => snapshots,
          delete: async (s: Snapshot) => void deleted.push(s.id),
        }) as unknown as RdsPort,
      ec2: () => ({}) as Ec2Port,
      kms: () => ({ keyUsable: async () => true }),
    },
    region: SOURCE,
    now: () => new Date(),
    telemetry: recordingTelemetry().telemetry,
  });

  it('skips when told the run failed', async () => {
    const deleted: string[] = [];
    const result = await pruneTarget(
      target as never,
      contextWith([snapshot('safekeep-orders-20261101t030000z', 'available', 60)], deleted),
      { dryRun: false, afterFailedRun: true },
    );
    expect(result.skipped).toMatch(/the last backup of "orders" failed, so nothing is pruned/);
    expect(deleted).toEqual([]);
  });

  it('skips when the newest of its snapshots failed', async () => {
    const deleted: string[] = [];
    const snapshots = [
      snapshot('safekeep-orders-20261120t030000z', 'failed', 10),
      snapshot('safekeep-orders-20261119t030000z', 'available', 1500),
      snapshot('safekeep-orders-20261118t030000z', 'available', 3000),
    ];
    const result = await pruneTarget(target as never, contextWith(snapshots, deleted), { dryRun: false });
    expect(result.skipped).toMatch(/the newest backup of "orders" \(safekeep-orders-20261120t030000z in eu-west-3\) failed/);
    expect(deleted).toEqual([]);
  });

  it('plans without deleting in a dry run', async () => {
    const deleted: string[] = [];
    const snapshots = [
      snapshot('safekeep-orders-20261119t030000z', 'available', 1500),
      snapshot('safekeep-orders-20261118t030000z', 'available', 3000),
    ];
    const result = await pruneTarget(target as never, contextWith(snapshots, deleted), { dryRun: true });
    expect(result.deleted.map((d) => d.snapshot.id)).toEqual(['safekeep-orders-20261118t030000z']);
    expect(deleted).toEqual([]);
  });
});
