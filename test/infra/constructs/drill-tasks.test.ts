/**
 * Restore drills in the synthesized template (maximal config: a Fargate and a Lambda-run PostgreSQL target and
 * an RDS instance that drill): a drill schedule per drilling target beside its backup schedule, a drill task
 * definition per drilling dump target with a role that can do exactly what a drill needs, a security group with
 * no ingress and HTTPS egress only, and the dispatcher's right to list (only) the drilling targets' prefixes.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { drillTaskFamilyOf, WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { synthApp } from '#test/support/cdk.ts';

const { stack, template } = synthApp('test/fixtures/maximal.config.yaml');
const safekeep = stack.safekeep;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  Stack.of(stack).getLogicalId(construct.node.defaultChild as CfnElement);
const bucket = idOf(safekeep.artifacts.bucket);
const key = idOf(safekeep.artifacts.key);
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string };

function statementsOfRole(roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

describe('restore drills, as synthesized', () => {
  it("gives each drilling target a drill schedule in the backup schedules' group, with their retries and dead letters", () => {
    const schedules = Object.entries(template.findResources('AWS::Scheduler::Schedule'));
    const drills = schedules.filter(([, s]) => JSON.stringify(s.Properties.Target.Input ?? '').includes('drill'));
    const payloads = drills
      .map(([, s]) => JSON.parse(s.Properties.Target.Input as string))
      .sort((a, b) => a.target.localeCompare(b.target));
    expect(payloads).toEqual(
      ['aurora-copied', 'ebs-by-id', 'ec2-host', 'pg-fargate', 'pg-lambda', 'rds-copied'].map((target) => ({
        target,
        trigger: 'schedule',
        action: 'drill',
      })),
    );
    const backup = schedules.find(
      ([, s]) =>
        JSON.parse(s.Properties.Target.Input as string).target === 'pg-fargate' && !s.Properties.Target.Input.includes('drill'),
    )?.[1];
    const drill = drills.find(([, s]) => s.Properties.Target.Input.includes('pg-fargate'))?.[1];
    expect(drill?.Properties).toMatchObject({
      GroupName: backup?.Properties.GroupName,
      ScheduleExpression: 'cron(0 5 ? * SUN *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: {
        Arn: backup?.Properties.Target.Arn,
        RoleArn: backup?.Properties.Target.RoleArn,
        RetryPolicy: backup?.Properties.Target.RetryPolicy,
        DeadLetterConfig: backup?.Properties.Target.DeadLetterConfig,
      },
    });
    expect(drill?.DependsOn).toEqual(backup?.DependsOn);
  });

  it('runs drills of Lambda-run targets as Fargate drill tasks too; snapshot targets get none', () => {
    expect([...safekeep.dumps.drillTaskDefinitions.keys()].sort()).toEqual(['pg-fargate', 'pg-lambda']);
  });

  it('gives the drill task the image, its drill command, no secrets, ephemeral storage for the scratch server', () => {
    const definition = safekeep.dumps.drillTaskDefinitions.get('pg-fargate');
    const properties = template.toJSON().Resources[idOf(definition as never)].Properties;
    expect(properties.Family).toBe(drillTaskFamilyOf({ taskFamilyPrefix: 'Safekeep' }, 'pg-fargate'));
    expect(properties.EphemeralStorage).toEqual({ SizeInGiB: 50 });
    const [container] = properties.ContainerDefinitions;
    expect(container).toMatchObject({
      Name: WORKER_CONTAINER,
      Command: ['drill', 'pg-fargate', '--json'],
      ReadonlyRootFilesystem: true,
    });
    expect(container.Secrets).toBeUndefined();
    const dumpImage =
      template.toJSON().Resources[idOf(safekeep.dumps.taskDefinitions.get('pg-fargate') as never)].Properties
        .ContainerDefinitions[0].Image;
    expect(container.Image).toEqual(dumpImage);
  });

  it("gives the drill role exactly: read its own target's prefix, list it (prefix-conditioned), put drill.json only, the key through S3", () => {
    const role = idOf(safekeep.dumps.drillTaskDefinitions.get('pg-fargate')?.taskRole as never);
    const viaS3 = {
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        'kms:EncryptionContext:aws:s3:arn': { 'Fn::GetAtt': [bucket, 'Arn'] },
      },
    };
    const objects = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, suffix]] });
    expect(statementsOfRole(role)).toEqual([
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objects('/pg-fargate/*') },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [bucket, 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['pg-fargate/*'] } },
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [key, 'Arn'] }, Condition: viaS3 },
      { Sid: 'WriteDrillResultsOnly', Effect: 'Allow', Action: 's3:PutObject', Resource: objects('/pg-fargate/*/drill.json') },
      {
        Sid: 'EncryptDrillResultsThroughS3',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: { 'Fn::GetAtt': [key, 'Arn'] },
        Condition: viaS3,
      },
    ]);
    // Its execution role pulls the image and writes logs; it reads no secret.
    const execution = idOf(safekeep.dumps.drillTaskDefinitions.get('pg-fargate')?.executionRole as never);
    expect(JSON.stringify(statementsOfRole(execution))).not.toContain('secretsmanager');
  });

  it('puts the drill task in a security group of its own: no ingress, HTTPS egress only', () => {
    const group =
      template.toJSON().Resources[idOf({ node: { defaultChild: safekeep.dumps.drillSecurityGroups.get('pg-fargate') } })]
        .Properties;
    expect(group).toMatchObject({
      VpcId: 'vpc-0a1b2c3d4e5f67890',
      SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }],
    });
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))).toEqual([]);
  });

  it("lets the dispatcher list the drilling dump targets' prefixes (nothing else) and run their drill tasks", () => {
    const statements = statementsOfRole(idOf(safekeep.dispatch.dispatchFunction.function.role as never));
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('s3:'))).toEqual([
      {
        Sid: 'ListManifestsOfDrillingTargets',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [bucket, 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['pg-fargate/*', 'pg-lambda/*'] } },
      },
    ]);
    expect(JSON.stringify(statements)).toContain('task-definition/Safekeep-pg-fargate_drill:*');
    expect(JSON.stringify(statements)).toContain('task-definition/Safekeep-pg-lambda_drill:*');
    // The runs table: the drilling targets' drill partitions too.
    expect(JSON.stringify(statements)).toContain('"pg-fargate#drills"');
    expect(JSON.stringify(statements)).toContain('"rds-copied#drills"');
  });

  it('lets the recorder read drill results (and only drill.json beyond manifests)', () => {
    const statements = statementsOfRole(idOf(safekeep.ledger.recorderFunction.function.role as never));
    const reads = statements
      .filter((s) => JSON.stringify(s.Action).includes('s3:GetObject'))
      .map((s) => JSON.stringify(s.Resource));
    expect(reads).toEqual([expect.stringContaining('/*/manifest.json'), expect.stringContaining('/*/drill.json')]);
  });
});
