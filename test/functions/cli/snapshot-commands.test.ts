import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';
import { createInstances, motoClients } from '#test/support/snapshots.ts';
import { runCli } from '#test/support/worker.ts';

const moto = await peer('moto');

describe.skipIf(!moto)('safekeep snapshot and prune (CLI local mode)', () => {
  it('takes snapshots, then plans and applies retention, printing what it did', async () => {
    // Prepare
    const motoPeer = moto as NonNullable<typeof moto>;
    const instance = `cli-${Date.now().toString(36)}`;
    await createInstances(motoClients(motoPeer.endpoint, 'us-west-2').rds, [instance]);
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-cli-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      `targets:\n  - name: ${instance}\n    kind: rds-instance\n    schedule: { expression: "rate(1 day)" }\n    retention: { keepLast: 1, minimum: 1 }\n    source: { instanceId: ${instance} }\n`,
    );
    const env = {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-west-2',
    };
    const common = ['--config', config, '--target', instance, '--endpoint-url', motoPeer.endpoint];

    // Act
    const first = await runCli(['snapshot', ...common, '--poll-interval', '1s', '--json'], env);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await runCli(['snapshot', ...common, '--poll-interval', '1s'], env);
    const plan = await runCli(['prune', ...common, '--dry-run'], env);
    const applied = await runCli(['prune', ...common, '--json'], env);
    const again = await runCli(['prune', ...common, '--dry-run'], env);

    // Assess
    expect(first.code, first.stderr).toBe(0);
    const taken = JSON.parse(first.stdout) as { ok: boolean; snapshots: { id: string; status: string }[] };
    expect(taken.ok).toBe(true);
    expect(taken.snapshots[0]?.id).toMatch(new RegExp(`^safekeep-${instance}-\\d{8}t\\d{6}z$`));
    expect(second.stdout).toMatch(/created safekeep-cli-\w+-\d{8}t\d{6}z \(cli-\w+, us-west-2\): available/);
    expect(plan.stdout).toMatch(new RegExp(`would delete\\s+${taken.snapshots[0]?.id}\\s+\\S+\\s+beyond keep-last 1`));
    expect(plan.stdout).toMatch(/1 kept, 1 would delete/);
    expect(JSON.parse(applied.stdout).deleted.map((d: { snapshot: { id: string } }) => d.snapshot.id)).toEqual([
      taken.snapshots[0]?.id,
    ]);
    expect(again.stdout).toMatch(/1 kept, 0 would delete/);
  });

  it('refuses a dump target, saying which command fits', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-cli-')), 'c.yaml');
    writeFileSync(
      config,
      'targets:\n  - name: meta\n    kind: postgres\n    schedule: { expression: "rate(1 day)" }\n    source: { host: db, secret: s }\n    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }\n',
    );
    const run = await runCli(['snapshot', '--config', config, '--target', 'meta', '--region', 'us-west-2'], {
      PATH: process.env.PATH ?? '',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('safekeep: target "meta" is a postgres dump, not a snapshot target; use safekeep dump\n');
  });
});
