/**
 * One run id across a Dolt target's logical backup and its data volume's snapshot (`pairedWith`): the
 * dispatcher starts the snapshot state machine for the paired target and the dump under the same run id,
 * each recorded as a run of its own target. Runs table and state machine on moto; the Fargate start recorded.
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { Deployment } from '#functions/contracts/deployment.ts';
import { awsDispatchPorts } from '#functions/runs/adapters/dispatch-ports.ts';
import { type DispatchPorts, dispatch, type TaskRequest } from '#functions/runs/dispatch.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';

const moto = await peer('moto');
const REGION = 'us-east-1';

const CONFIG = {
  defaults: { schedule: { expression: 'cron(0 3 * * ? *)' } },
  targets: [
    {
      name: 'dolt-prod',
      kind: 'dolt',
      pairedWith: 'dolt-data',
      source: { host: 'dolt.internal', secret: 'safekeep/dolt' },
      network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
    },
    { name: 'dolt-data', kind: 'ebs-volume', source: { volumeId: 'vol-0a1b2c3d4e5f67890' } },
  ],
};

const silent = { info() {}, warn() {}, error() {}, metric() {} } as never;

describe.skipIf(!moto)('a dump target paired with a volume target (moto)', () => {
  const endpoint = (moto as NonNullable<typeof moto>).endpoint;

  async function setUp(failTask = false) {
    const { tableName, store } = await motoRunsTable(endpoint, REGION);
    const sfn = new SFNClient({ endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `paired-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
        roleArn: 'arn:aws:iam::123456789012:role/snapshots',
      }),
    );
    const config = parseConfig(CONFIG, 'test');
    const deployment: Deployment = {
      version: 1,
      stack: 'Safekeep',
      taskFamilyPrefix: 'Safekeep',
      targets: config.targets,
      resources: {
        region: REGION,
        bucket: 'b',
        runsTable: tableName,
        stateMachineArn,
        cluster: 'c',
        workers: {},
        drillSecurityGroups: {},
      },
    };
    const tasks: TaskRequest[] = [];
    const aws = awsDispatchPorts({ runsTable: tableName, bucket: 'b', endpointUrl: endpoint, region: REGION });
    const ports: DispatchPorts = {
      ...aws,
      runs: store,
      async runTask(request) {
        tasks.push(request);
        return failTask ? { failure: 'ECS did not start the task (RESOURCE:ENI)' } : { taskArn: 'arn:aws:ecs:task/1' };
      },
    };
    const context = {
      deployment,
      ports,
      now: () => new Date('2026-11-21T03:00:00Z'),
      randomSuffix: () => 'a1b2c3',
      telemetry: silent,
    };
    return { config, store, sfn, tasks, context };
  }

  it('gives the paired volume target no schedule of its own but the dump target’s', () => {
    const config = parseConfig(CONFIG, 'test');
    expect(config.targets.find((t) => t.name === 'dolt-data')?.schedule).toEqual(config.targets[0]?.schedule);
  });

  it('starts the snapshot and the dump under one run id, each recorded as a run of its own target', async () => {
    const { config, store, sfn, tasks, context } = await setUp();
    const result = await dispatch(config.targets[0] as never, 'schedule', context);

    expect(result).toMatchObject({ target: 'dolt-prod', runId: '20261121T030000Z-a1b2c3', status: 'started' });
    expect(result.paired).toMatchObject({ target: 'dolt-data', runId: result.runId, kind: 'snapshot', status: 'started' });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: result.paired?.executionArn }));
    expect(JSON.parse(execution.input ?? '{}')).toEqual({ target: 'dolt-data', runId: result.runId });
    expect(tasks.map((t) => t.environment)).toEqual([{ SAFEKEEP_TARGET: 'dolt-prod', SAFEKEEP_RUN_ID: result.runId }]);
    expect(await store.get('dolt-prod', result.runId)).toMatchObject({ kind: 'dump', status: 'running', trigger: 'schedule' });
    expect(await store.get('dolt-data', result.runId)).toMatchObject({
      kind: 'snapshot',
      status: 'running',
      trigger: 'schedule',
    });
  });

  it('still snapshots the volume when the dump cannot start, and records each outcome on its own target', async () => {
    const { config, store, context } = await setUp(true);
    const result = await dispatch(config.targets[0] as never, 'manual', context);
    expect(result).toMatchObject({ status: 'failed', reason: 'ECS did not start the task (RESOURCE:ENI)' });
    expect(result.paired).toMatchObject({ status: 'started', runId: result.runId });
    expect((await store.get('dolt-prod', result.runId))?.status).toBe('failed');
    expect((await store.get('dolt-data', result.runId))?.status).toBe('running');
  });
});

describe('pairedWith in the config', () => {
  const base = CONFIG.targets;
  const problems = (targets: unknown[]) => {
    try {
      parseConfig({ ...CONFIG, targets }, 'test');
    } catch (error) {
      return [...(error as { problems: string[] }).problems];
    }
    throw new Error('accepted');
  };

  it('must name a volume or instance target', () => {
    expect(problems([{ ...base[0], pairedWith: 'nope' }, base[1]])).toEqual([
      'target "dolt-prod" (targets[0]) field pairedWith: got "nope"; must name an ebs-volume or ec2-instance target of this config (the volume snapshotted in each run)',
    ]);
  });

  it('pairs a snapshot target with one dump target only', () => {
    const second = { ...base[0], name: 'dolt-other' };
    expect(problems([base[0], base[1], second])).toEqual([
      'target "dolt-other" (targets[2]) field pairedWith: got "dolt-data"; targets[0] is already paired with "dolt-data"; a snapshot target runs with one dump target',
    ]);
  });

  it('refuses a schedule on the paired target', () => {
    expect(problems([base[0], { ...base[1], schedule: { expression: 'rate(1 day)' } }])).toEqual([
      expect.stringMatching(
        /^target "dolt-data" \(targets\[1\]\) field schedule: got .*; must be left out: this target runs with "dolt-prod"/,
      ),
    ]);
  });
});
