import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';
import { createInstances, createVolumes, motoClients } from '#test/support/snapshots.ts';
import { runCli } from '#test/support/worker.ts';

const moto = await peer('moto');
const REGION = 'ca-central-1';

describe.skipIf(!moto)('safekeep restore --snapshot/--latest (CLI)', () => {
  const endpoint = (moto as NonNullable<typeof moto>).endpoint;
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: REGION,
  };

  it('restores the newest snapshot and a named one into new resources, and refuses a taken name', async () => {
    // Prepare: an RDS instance and an EBS volume, each snapshotted once through safekeep snapshot
    const { rds, ec2 } = motoClients(endpoint, REGION);
    const name = `clirst-${Date.now().toString(36)}`;
    await createInstances(rds, [name]);
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-cli-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      [
        'defaults: { schedule: { expression: "rate(1 day)" } }',
        'targets:',
        `  - { name: ${name}, kind: rds-instance, source: { instanceId: ${name} } }`,
        `  - { name: ${name}-vol, kind: ebs-volume, source: { volumeId: ${volume} } }`,
        '',
      ].join('\n'),
    );
    const common = ['--config', config, '--endpoint-url', endpoint];
    const [db, vol] = await Promise.all([
      runCli(['snapshot', ...common, '--target', name, '--poll-interval', '1s', '--json'], env),
      runCli(['snapshot', ...common, '--target', `${name}-vol`, '--poll-interval', '1s', '--json'], env),
    ]);
    expect(db.code, db.stderr).toBe(0);
    expect(vol.code, vol.stderr).toBe(0);
    const [volumeSnapshot] = JSON.parse(vol.stdout).snapshots as { id: string }[];

    // Act
    const [latest, named] = await Promise.all([
      runCli(['restore', ...common, '--latest', '--target', name, '--as', `${name}-r`, '--wait', '--json'], env),
      runCli(
        [
          'restore',
          ...common,
          '--snapshot',
          volumeSnapshot?.id ?? '',
          '--target',
          `${name}-vol`,
          '--as',
          `${name}-v`,
          '--availability-zone',
          `${REGION}b`,
        ],
        env,
      ),
    ]);
    const [again, foreign] = await Promise.all([
      runCli(['restore', ...common, '--latest', '--target', name, '--as', `${name}-r`], env),
      runCli(['restore', ...common, '--snapshot', volumeSnapshot?.id ?? '', '--target', name, '--as', `${name}-f`], env),
    ]);

    // Assess
    expect(latest.code, latest.stderr).toBe(0);
    expect(JSON.parse(latest.stdout)).toMatchObject({
      ok: true,
      target: name,
      region: REGION,
      waited: true,
      restored: [{ kind: 'rds-instance', id: `${name}-r` }],
    });
    const [instance] = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${name}-r` }))).DBInstances ?? [];
    expect(instance?.DBInstanceStatus).toBe('available');
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toMatch(
      new RegExp(`^restored ${name}-vol \\(run \\S+\\) in ${REGION}:\\n  EBS volume vol-\\w+ from ${volumeSnapshot?.id}\\n`),
    );
    expect(named.stdout).toContain(
      'These are new resources in your account, billed until you delete them; the source was not touched.',
    );
    const restored =
      (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Name', Values: [`${name}-v`] }] }))).Volumes ?? [];
    expect(restored.map((v) => [v.SnapshotId, v.AvailabilityZone])).toEqual([[volumeSnapshot?.id, `${REGION}b`]]);
    expect([again.code, again.stderr]).toEqual([
      2,
      `safekeep: an RDS instance "${name}-r" already exists in ${REGION}; a restore never overwrites, so pick another --as\n`,
    ]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(`safekeep: ${volumeSnapshot?.id} is not a Safekeep snapshot of target "${name}" in ${REGION}`);
  });

  it('keeps the dump form as it was, and says which form a flag belongs to', async () => {
    const mixed = await runCli(
      ['restore', '--from', 's3://b/k/manifest.json', '--target', 'postgres://a@db/x', '--as', 'y'],
      env,
    );
    const both = await runCli(['restore', '--from', 's3://b/k/manifest.json', '--latest', '--target', 'orders'], env);
    const noFrom = await runCli(['restore', '--target', 'postgres://a@db/x'], env);
    expect([mixed.code, mixed.stderr]).toEqual([
      2,
      'safekeep: --as belongs to a snapshot restore: add --snapshot ID or --latest, or drop it\n',
    ]);
    expect([both.code, both.stderr]).toEqual([
      2,
      'safekeep: --from restores a dump and --snapshot/--latest a snapshot; give one of them\n',
    ]);
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toMatch(/--from is required/);
  });
});
