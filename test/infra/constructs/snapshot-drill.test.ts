/**
 * The synthesized snapshot drill state machine: its roles (creates only drill-tagged resources, deletes only
 * what carries the drill tag, writes only drill.json), and its definition executed state by state against
 * moto with the very handlers its functions bundle, a crashed step included: cleanup always runs.
 */
import { resolve } from 'node:path';
import { DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { drillResultSchema } from '#functions/contracts/drill.ts';
import { drillResourceName, TAG } from '#functions/contracts/snapshot-naming.ts';
import { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { execute, stateMachineDefinition } from '#test/support/asl.ts';
import { MOTO_CREDENTIALS, uniqueBucket } from '#test/support/aws.ts';
import { CDK_CONTEXT, policyStatements } from '#test/support/cdk.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances, createVolumes, motoClients } from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'us-east-1';
const drill = { schedule: { expression: 'cron(0 5 ? * SUN *)' } };

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
  return { safekeep, stack, template, entries };
}

const drillMachine = (stack: Stack, safekeep: Safekeep) =>
  stack.getLogicalId(safekeep.snapshotDrill?.stateMachine.node.defaultChild as never);

describe('the snapshot drill state machine', () => {
  const targets = [
    { name: 'orders', kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: 'orders' }, drill },
    { name: 'shop', kind: 'rds-cluster', schedule: { expression: 'rate(1 day)' }, source: { clusterId: 'shop' }, drill },
    { name: 'disk', kind: 'ebs-volume', schedule: { expression: 'rate(1 day)' }, source: { volumeId: 'vol-0abc1234' }, drill },
  ];

  it('exists only when a snapshot target has drill:, and its ARN reaches the dispatcher through the deployment document', () => {
    const without = build({ targets: targets.map(({ drill: _drill, ...t }) => t) });
    expect(without.safekeep.snapshotDrill).toBeUndefined();
    const { safekeep, stack, template } = build({ targets });
    expect(safekeep.snapshotDrill?.targetNames).toEqual(['orders', 'shop', 'disk']);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL' },
    });
    const published = JSON.stringify(
      Object.values(template.findResources('AWS::SSM::Parameter')).map((p) => (p as { Properties: unknown }).Properties),
    );
    expect(published).toContain('snapshotDrillStateMachineArn');
    expect(published).toContain(drillMachine(stack, safekeep));
  });

  it('deletes and modifies only drill-named resources carrying this stack and a safekeep:drill tag, from one role each', () => {
    const { template } = build({ targets });
    const statements = policyStatements(template);
    const drillRoles = statements.filter(({ statement }) => JSON.stringify(statement).includes('safekeep:drill'));
    const deleters = statements.filter(({ statement }) =>
      /"(rds:DeleteDBInstance|rds:DeleteDBCluster|ec2:DeleteVolume)"/.test(JSON.stringify(statement.Action)),
    );
    expect(deleters.map(({ statement }) => statement.Sid).sort()).toEqual([
      'DeleteOnlyDrillClusters',
      'DeleteOnlyDrillInstances',
      'DeleteOnlyDrillVolumes',
    ]);
    expect(new Set(deleters.map((d) => d.resource)).size).toBe(1);
    for (const { statement } of deleters) {
      const condition = statement.Condition as { StringEquals: Record<string, unknown>; Null: Record<string, unknown> };
      expect(Object.entries(condition.StringEquals)).toEqual([
        [expect.stringMatching(/(db-tag|cluster-tag|ResourceTag)\/safekeep:stack$/), 'Test'],
      ]);
      expect(Object.entries(condition.Null)).toEqual([
        [expect.stringMatching(/(db-tag|cluster-tag|ResourceTag)\/safekeep:drill$/), 'false'],
      ]);
      expect(JSON.stringify(statement.Resource)).toMatch(/(:db:safekeep-drill-\*|:cluster:safekeep-drill-\*|volume\/\*)/);
    }
    const modifiers = statements.filter(({ statement }) => /"rds:Modify/.test(JSON.stringify(statement.Action)));
    expect(modifiers.map(({ statement }) => (statement.Condition as { Null: object }).Null)).toEqual([
      { 'rds:db-tag/safekeep:drill': 'false' },
      { 'rds:cluster-tag/safekeep:drill': 'false' },
    ]);
    // Every create carries this stack's tag and a drill tag on the request.
    const creators = statements.filter(({ statement }) =>
      /"(rds:RestoreDBInstanceFromDBSnapshot|rds:RestoreDBClusterFromSnapshot|rds:CreateDBInstance)"/.test(
        JSON.stringify(statement.Action),
      ),
    );
    expect(creators).toHaveLength(3);
    for (const { statement } of creators) {
      expect(statement.Condition).toMatchObject({
        StringEquals: { 'aws:RequestTag/safekeep:stack': 'Test' },
        Null: { 'aws:RequestTag/safekeep:drill': 'false' },
      });
    }
    expect(drillRoles.length).toBeGreaterThan(0);
    // The snapshot drill's only S3 access: writing drill.json of the drilled targets (the recorder reads them).
    const s3 = statements.filter(
      ({ resource, statement }) =>
        resource.includes('SnapshotDrill') &&
        JSON.stringify(statement.Action).includes('s3:') &&
        JSON.stringify(statement).includes('drill.json'),
    );
    expect(s3).toHaveLength(1);
    expect(s3[0]?.statement.Action).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
  });
});

/** Runs a Task's Lambda: the handler module its function bundles, imported from source. */
function invoker(entries: Map<string, string>, config: SafekeepConfig, bucket: string, crash?: string) {
  return async (resource: string, payload: unknown) => {
    const entry = entries.get(resource.replace(/^lambda:/, ''));
    if (!entry) throw new Error(`no function for ${resource}`);
    if (crash && entry.includes(crash))
      throw Object.assign(new Error('Task timed out after 300.00 seconds'), { name: 'States.Timeout' });
    Object.assign(process.env, deploymentEnvironment(deploymentOf(config, { bucket })));
    const { handler } = (await import(resolve(entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
    return handler(payload, { functionName: entry, awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 });
  };
}

describe.skipIf(!moto)('the snapshot drill state machine, executed against moto', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  // drill.json goes to moto's S3 here: the handlers run with moto's credentials.
  const s3 = new S3Client({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true });
  const bucket = uniqueBucket('drill');
  const s3Endpoint = process.env.AWS_ENDPOINT_URL_S3;
  afterAll(() => {
    process.env.AWS_ENDPOINT_URL_S3 = s3Endpoint;
  });
  beforeAll(async () => {
    process.env.AWS_ENDPOINT_URL = motoPeer.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = motoPeer.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  /** One backup run through the snapshot state machine of the same stack, so the drill has a snapshot. */
  const backup = async (built: ReturnType<typeof build>, target: string, runId: string) => {
    const flow = built.stack.getLogicalId(built.safekeep.snapshots?.stateMachine.node.defaultChild as never);
    const run = await execute(
      stateMachineDefinition(built.template, flow),
      { target, runId },
      invoker(built.entries, built.safekeep.config, bucket),
    );
    expect(run.status, run.cause).toBe('SUCCEEDED');
  };

  it('restores an RDS instance, waits, deletes it, and writes drill.json beside the backup', async () => {
    const { rds } = motoClients(motoPeer.endpoint, REGION);
    const name = `sfn-drill-${Date.now().toString(36)}`;
    await createInstances(rds, [name]);
    const built = build({
      targets: [{ name, kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: name }, drill }],
    });
    await backup(built, name, '20261121T030000Z-bkp001');
    const drillId = '20261122T050000Z-drill1';

    const run = await execute(
      stateMachineDefinition(built.template, drillMachine(built.stack, built.safekeep)),
      { target: name, runId: drillId, trigger: 'schedule' },
      invoker(built.entries, built.safekeep.config, bucket),
    );

    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.path.slice(0, 5)).toEqual(['StartRestore', 'Restoring?', 'WaitForRestore', 'CheckRestore', 'Available?']);
    expect(run.path.at(-1)).toBe('Done');
    const result = drillResultSchema.parse(run.output);
    expect(result).toMatchObject({
      validationStatus: 'SUCCESSFUL',
      backupRunId: '20261121T030000Z-bkp001',
      restore: { deletionStatus: 'SUCCESSFUL', createdResources: [drillResourceName(name, drillId)] },
    });
    const instances = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
    expect(instances.map((i) => i.DBInstanceIdentifier)).not.toContain(drillResourceName(name, drillId));
    const written = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: `${name}/2026/11/21/20261121T030000Z-bkp001/drill.json` }),
    );
    expect(JSON.parse(await (written.Body?.transformToString() ?? '{}'))).toEqual(result);
  });

  it('a step that crashes still reaches cleanup: the volume is deleted and the result says why', async () => {
    const { ec2 } = motoClients(motoPeer.endpoint, REGION);
    const name = `sfn-drill-vol-${Date.now().toString(36)}`;
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const built = build({
      targets: [{ name, kind: 'ebs-volume', schedule: { expression: 'rate(1 day)' }, source: { volumeId: volume }, drill }],
    });
    await backup(built, name, '20261121T030000Z-bkp002');
    const drillId = '20261122T050000Z-drill2';

    const run = await execute(
      stateMachineDefinition(built.template, drillMachine(built.stack, built.safekeep)),
      { target: name, runId: drillId },
      invoker(built.entries, built.safekeep.config, bucket, 'drill-check'),
    );

    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.path).toContain('DeleteWhatTheDrillMade');
    expect(run.path).not.toContain('Available?');
    const result = drillResultSchema.parse(run.output);
    expect(result.validationStatus).toBe('FAILED');
    expect(result.validationStatusMessage).toBe('States.Timeout: Task timed out after 300.00 seconds');
    expect(result.restore.deletionStatus).toBe('SUCCESSFUL');
    expect(result.restore.createdResources).toHaveLength(1);
    const left = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: `tag:${TAG.drill}`, Values: [drillId] }] }));
    expect(left.Volumes).toEqual([]);
  });
});
