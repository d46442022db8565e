/**
 * The synthesized snapshot state machine, executed state by state against moto, with each Task running
 * the very handler its function bundles (from source). Proves the definition, the payload shapes between
 * steps and the handlers agree, and that prune is unreachable after a failure.
 */
import { resolve } from 'node:path';
import { DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeDBSnapshotsCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { execute, stateMachineDefinition } from '#test/support/asl.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { CDK_CONTEXT, policyStatements } from '#test/support/cdk.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances, createVolumes, motoClients } from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'ca-central-1';
const COPY_REGION = 'us-west-1';

function build(configInput: object) {
  const stack = new Stack(new App({ context: CDK_CONTEXT }), 'Test', { env: { account: '123456789012', region: REGION } });
  const safekeep = new Safekeep(stack, 'Safekeep', configInput as never);
  const template = Template.fromStack(stack);
  const entries = new Map(
    stack.node
      .findAll()
      .filter((c): c is SafekeepFunction => c instanceof SafekeepFunction)
      .map((fn) => [stack.getLogicalId(fn.function.node.defaultChild as never), fn.entry]),
  );
  return { safekeep, template, entries };
}

/** Runs a Task's Lambda: the handler module its function bundles, imported from source. */
function invoker(entries: Map<string, string>, config: SafekeepConfig) {
  return async (resource: string, payload: unknown) => {
    const entry = entries.get(resource.replace(/^lambda:/, ''));
    if (!entry) throw new Error(`no function for ${resource}`);
    Object.assign(process.env, deploymentEnvironment(deploymentOf(config, { bucket: 'unused' })));
    const { handler } = (await import(resolve(entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
    return handler(payload, { functionName: entry, awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 });
  };
}

describe('the snapshot state machine', () => {
  it("is traced, logs every execution, and gives its steps separate roles: only prune may delete, only this stack's snapshots of its targets", () => {
    const { template } = build({
      targets: [
        { name: 'orders', kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: 'orders' } },
      ],
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL' },
    });
    const deleters = policyStatements(template).filter(({ statement }) =>
      /"(rds|ec2):Delete/.test(JSON.stringify(statement.Action)),
    );
    expect(new Set(deleters.map((d) => d.resource)).size).toBe(1);
    for (const { statement } of deleters) {
      // Only this stack's snapshots of this config's targets: another deployment's are out of reach.
      const equals = Object.entries((statement.Condition as { StringEquals: Record<string, unknown> }).StringEquals);
      expect(equals).toEqual([
        [expect.stringMatching(/(snapshot-tag|ResourceTag)\/safekeep:stack$/), 'Test'],
        [expect.stringMatching(/(snapshot-tag|ResourceTag)\/safekeep:target$/), ['orders']],
      ]);
      expect(JSON.stringify(statement.Resource)).toMatch(/snapshot(:safekeep-orders-\*|\/\*)/);
    }
  });
});

describe.skipIf(!moto)('the snapshot state machine, executed against moto', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  beforeAll(() => {
    // The handlers' SDK clients find moto through the SDK's own AWS_ENDPOINT_URL.
    process.env.AWS_ENDPOINT_URL = motoPeer.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  });

  it('snapshots, copies to another region, and on the next run prunes the older snapshot and its copy', async () => {
    // Prepare
    const { rds } = motoClients(motoPeer.endpoint, REGION);
    const instance = `flow-${Date.now().toString(36)}`;
    await createInstances(rds, [instance]);
    const key = (
      await new KMSClient({ endpoint: motoPeer.endpoint, region: COPY_REGION, credentials: MOTO_CREDENTIALS }).send(
        new CreateKeyCommand({}),
      )
    ).KeyMetadata?.Arn;
    const { safekeep, template, entries } = build({
      targets: [
        {
          name: instance,
          kind: 'rds-instance',
          schedule: { expression: 'rate(1 day)' },
          source: { instanceId: instance },
          retention: { keepLast: 1, minimum: 1 },
          copy: { region: COPY_REGION, kmsKeyArn: key },
        },
      ],
    });
    const definition = stateMachineDefinition(template);
    const run = (runId: string) => execute(definition, { target: instance, runId }, invoker(entries, safekeep.config));

    // Act
    const first = await run('20261120T030000Z-first1');
    await new Promise((r) => setTimeout(r, 1_100));
    const second = await run('20261121T030000Z-second');

    // Assess
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect(first.path).toEqual([
      'StartSnapshots',
      'WaitForSnapshots',
      'CheckSnapshots',
      'SnapshotsDone?',
      'StartCopies',
      'AllCopiesStarted?',
      'WaitForCopies',
      'CheckCopies',
      'CopiesDone?',
      'ApplyRetention',
      'Done',
    ]);
    expect(second.status, second.cause).toBe('SUCCEEDED');
    const deleted = (second.output as { deleted: { id: string; region: string }[] }).deleted;
    expect(deleted.map((d) => d.region).sort()).toEqual([REGION, COPY_REGION].sort());
    const left =
      (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instance, SnapshotType: 'manual' }))).DBSnapshots ??
      [];
    expect(left.map((s) => s.DBSnapshotIdentifier)).toEqual([expect.stringMatching(new RegExp(`^safekeep-${instance}-`))]);
  });

  it('fails the run for a stopped database and never reaches prune', async () => {
    const { rds } = motoClients(motoPeer.endpoint, REGION);
    const instance = `stopped-flow-${Date.now().toString(36)}`;
    await createInstances(rds, [instance]);
    await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: instance }));
    const { safekeep, template, entries } = build({
      targets: [
        {
          name: instance,
          kind: 'rds-instance',
          schedule: { expression: 'rate(1 day)' },
          source: { instanceId: instance },
          retention: { keepLast: 1, minimum: 1 },
        },
      ],
    });
    const execution = await execute(
      stateMachineDefinition(template),
      { target: instance, runId: '20261121T120000Z-r1' },
      invoker(entries, safekeep.config),
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('SafekeepSnapshotRunFailed');
    expect(execution.path).not.toContain('ApplyRetention');
  });

  it('takes crash-consistent snapshots of every volume of an EC2 instance, and EBS volumes by tag, without a copy step', async () => {
    const { ec2 } = motoClients(motoPeer.endpoint, REGION);
    const tag = `flow-${Date.now().toString(36)}`;
    await createVolumes(ec2, REGION, 3, { app: tag });
    const [image] = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], MaxResults: 5 }))).Images ?? [];
    const [instance] =
      (await ec2.send(new RunInstancesCommand({ ImageId: image?.ImageId, MinCount: 1, MaxCount: 1 }))).Instances ?? [];
    const { safekeep, template, entries } = build({
      targets: [
        { name: tag, kind: 'ebs-volume', schedule: { expression: 'rate(1 day)' }, source: { tags: { app: tag } } },
        {
          name: `${tag}-host`,
          kind: 'ec2-instance',
          schedule: { expression: 'rate(1 day)' },
          source: { instanceId: instance?.InstanceId },
        },
      ],
    });
    for (const target of [tag, `${tag}-host`]) {
      const execution = await execute(
        stateMachineDefinition(template),
        { target, runId: '20261121T120000Z-r1' },
        invoker(entries, safekeep.config),
      );
      expect(execution.status, execution.cause).toBe('SUCCEEDED');
      expect(execution.path).not.toContain('StartCopies');
    }
  });
});
