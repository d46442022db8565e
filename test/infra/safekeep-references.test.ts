/**
 * The Safekeep construct given a CDK app's own references (a database, a secret, a VPC, a key) and tokens:
 * tokens pass where a field names a resource, literals are validated as in the config file, and the template
 * grants on and places functions with the app's objects.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnElement, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#functions/contracts/config/load.ts';
import { joinDeploymentHalves, parseDeployment } from '#functions/contracts/deployment.ts';
import { parseConfigWithTokens } from '#infra/deferred-config.ts';
import { Safekeep, type SafekeepProps } from '#infra/safekeep.ts';
import { CDK_CONTEXT, policyStatements } from '#test/support/cdk.ts';

const SCHEDULE = { expression: 'cron(0 3 * * ? *)' };
const NETWORK = { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] };
const token = (value: string) => Lazy.string({ produce: () => value });

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('token-aware validation', () => {
  const postgres = (source: Record<string, unknown>, network: Record<string, unknown> = NETWORK) => ({
    defaults: { schedule: SCHEDULE },
    targets: [{ name: 'app', kind: 'postgres', source: { host: 'db.internal', ...source }, network }],
  });

  it('lets a token stand for a secret, a host and network ids, and keeps it in the validated config', () => {
    const secret = token('arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf');
    const subnet = token('subnet-0a1b2c3d');
    const config = parseConfigWithTokens(
      postgres(
        { secret, host: token('db.example') },
        { ...NETWORK, vpcId: token('vpc-1'), subnetIds: [subnet, 'subnet-0f0f0f0f'] },
      ) as never,
      'test',
    );
    const [target] = config.targets;
    if (target?.kind !== 'postgres') throw new Error('expected the postgres target');
    expect(target.source.secret).toBe(secret);
    expect(target.network.subnetIds).toEqual([subnet, 'subnet-0f0f0f0f']);
    expect(target.compression).toBe('zstd');
  });

  it('still rejects a bad literal next to a token, with the same line as the config file gets', () => {
    const bad = postgres({ secret: token('x') }, { ...NETWORK, securityGroupIds: ['sg-nope'] });
    const expected = problems(() =>
      parseConfig({ ...bad, targets: [{ ...bad.targets[0], source: { host: 'db.internal', secret: 'x' } }] }, 'test'),
    );
    expect(expected).toEqual([
      'target "app" (targets[0]) field network.securityGroupIds[0]: got "sg-nope"; must be a security group id such as sg-0abc1234',
    ]);
    expect(problems(() => parseConfigWithTokens(bad as never, 'test'))).toEqual(expected);
  });

  it('validates a literal-only config exactly as parseConfig does', () => {
    const bad = postgres({ secret: 'not a secret!' });
    expect(problems(() => parseConfigWithTokens(bad as never, 'test'))).toEqual(problems(() => parseConfig(bad, 'test')));
  });

  it('rejects a token where Safekeep needs the value at synth, in one line naming the field', () => {
    const config = {
      targets: [
        {
          name: 'orders',
          kind: 'rds-instance',
          schedule: { expression: token('rate(1 day)') },
          source: { instanceId: 'orders' },
        },
      ],
    };
    expect(problems(() => parseConfigWithTokens(config as never, 'test'))).toEqual([
      expect.stringMatching(
        /^target "orders" \(targets\[0\]\) field schedule\.expression: got "\$\{Token\[.+\]\}"; is known only at deploy time \(a CDK token\), and Safekeep needs this field at synth; give a literal value$/,
      ),
    ]);
  });
});

describe('the construct given an app references', () => {
  const app = new App({ context: CDK_CONTEXT });
  const keys = new Stack(app, 'Keys', { env: { account: '123456789012', region: 'us-west-2' }, crossRegionReferences: true });
  const copyKey = new kms.Key(keys, 'CopyKey', { enableKeyRotation: true });
  const stack = new Stack(app, 'Backups', { env: { account: '123456789012', region: 'eu-west-1' }, crossRegionReferences: true });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const group = new ec2.SecurityGroup(stack, 'DumpGroup', { vpc, allowAllOutbound: false });
  const secretKey = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
  const secret = new secretsmanager.Secret(stack, 'DbSecret', { encryptionKey: secretKey });
  const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Db', {
    instanceIdentifier: 'orders-db',
    instanceEndpointAddress: 'orders-db.abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    securityGroups: [],
  });
  const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    writer: rds.ClusterInstance.serverlessV2('writer'),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  const network = { vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [group] };
  const props: SafekeepProps = {
    defaults: { schedule: SCHEDULE, retention: { keepLast: 7 } },
    targets: [
      { name: 'orders', kind: 'rds-instance', source: { instance }, copy: { key: copyKey } },
      { name: 'ledger', kind: 'rds-cluster', source: { cluster } },
      { name: 'app', kind: 'postgres', source: { host: cluster.clusterEndpoint.hostname, secret }, network },
      { name: 'small', kind: 'mysql', runner: 'lambda', source: { host: 'mysql.internal', secret }, network },
    ],
  };
  const safekeep = new Safekeep(stack, 'Safekeep', props);
  const template = Template.fromStack(stack);
  const json = JSON.stringify(template.toJSON());
  const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

  it('maps every reference into the validated config', () => {
    const app = safekeep.target('app');
    if (app.kind !== 'postgres') throw new Error('expected postgres');
    expect(app.source.secret).toBe(secret.secretArn);
    expect(app.network.subnetIds).toEqual(vpc.isolatedSubnets.map((s) => s.subnetId));
    expect(app.network.securityGroupIds).toEqual([group.securityGroupId]);
    const orders = safekeep.target('orders');
    expect(orders.kind === 'rds-instance' && orders.source.instanceId).toBe('orders-db');
    expect(orders.kind === 'rds-instance' && orders.copy?.region).toBe('us-west-2');
  });

  it("lets the Fargate task's execution role read the app's secret and decrypt it with the secret's key", () => {
    const taskDefinition = safekeep.dumps.taskDefinitions.get('app');
    const executionPolicy = taskDefinition?.executionRole?.node.tryFindChild('DefaultPolicy');
    const statements = policyStatements(template).filter(({ resource }) => resource === idOf(executionPolicy as never));
    expect(JSON.stringify(statements)).toContain(`{"Ref":"${idOf(secret)}"}`);
    // The secret's own grant: its key lets the role decrypt through Secrets Manager.
    const keyPolicy = JSON.stringify(template.toJSON().Resources[idOf(secretKey)].Properties.KeyPolicy);
    expect(keyPolicy).toContain(stack.getLogicalId(taskDefinition?.executionRole?.node.defaultChild as CfnElement));
  });

  it("places the Lambda worker in the app's subnets and security group, granted on the app's secret", () => {
    const worker = template.toJSON().Resources[idOf(safekeep.lambdaRunner.workerFunctions.get('small')?.function as never)];
    expect(worker.Properties.VpcConfig).toEqual({
      SubnetIds: vpc.isolatedSubnets.map((s) => ({ Ref: stack.getLogicalId(s.node.defaultChild as CfnElement) })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [idOf(group), 'GroupId'] }],
    });
  });

  it('snapshots the cluster by its Ref and copies with the Keys stack key', () => {
    expect(json).toContain(`{"Ref":"${idOf(cluster)}"}`);
    const copy = policyStatements(template).find(({ statement }) => statement.Sid === 'DestinationKeysViaRdsAndEc2');
    expect(JSON.stringify(copy?.statement.Resource)).toMatch(
      /"StackName":"Keys","Region":"us-west-2","OutputName":"[^"]*CopyKey/,
    );
  });

  it('bundles placeholders for the tokens and resolves them from the deploy-time half', () => {
    const dispatcher = safekeep.dispatch.dispatchFunction;
    const bundled = JSON.parse(readFileSync(dispatcher.deploymentFile, 'utf8'));
    expect(JSON.stringify(bundled)).not.toContain('Token[');
    const variable = template.toJSON().Resources[idOf(dispatcher.function)].Properties.Environment.Variables.SAFEKEEP_DEPLOYMENT;
    expect(JSON.stringify(variable)).toContain('safekeep-deferred:');
    // What the loader sees once CloudFormation resolved the tokens: ids as a deploy would give them.
    const deferred: Record<string, string> = {};
    const fake = (field: string, n: number) =>
      ({
        vpcId: `vpc-0000000${n}`,
        subnetIds: `subnet-0000000${n}`,
        securityGroupIds: `sg-0000000${n}`,
        host: `db${n}.internal`,
        kmsKeyArn: `arn:aws:kms:us-west-2:123456789012:key/k${n}`,
      })[field] ?? `resolved-${n}`;
    const collect = (node: unknown, field: string): void => {
      if (typeof node === 'string' && node.startsWith('safekeep-deferred:'))
        deferred[node] = fake(field, Object.keys(deferred).length);
      else if (Array.isArray(node)) for (const item of node) collect(item, field);
      else if (node && typeof node === 'object') for (const [key, value] of Object.entries(node)) collect(value, key);
    };
    collect(bundled.targets, '');
    const joined = joinDeploymentHalves(bundled, { resources: { region: 'eu-west-1', bucket: 'b', runsTable: 't' }, deferred });
    const document = parseDeployment(joined, 'test');
    const resolved = document.targets.find((t) => t.name === 'app');
    if (resolved?.kind !== 'postgres') throw new Error('expected the postgres target');
    expect(resolved.source.secret).toMatch(/^resolved-\d+$/);
    expect(resolved.network.subnetIds).toEqual([expect.stringMatching(/^subnet-0+\d$/), expect.stringMatching(/^subnet-0+\d$/)]);
  });

  it('checks a known key region against the copy region', () => {
    const other = new Stack(app, 'Mismatch', { env: { account: '123456789012', region: 'us-west-2' } });
    const key = new kms.Key(other, 'Key', { enableKeyRotation: true });
    const config = {
      defaults: { schedule: SCHEDULE },
      targets: [
        {
          name: 'orders',
          kind: 'rds-instance' as const,
          source: { instanceId: 'orders' },
          copy: { key, region: 'eu-central-1' },
        },
      ],
    };
    expect(problems(() => new Safekeep(other, 'Safekeep', config))).toEqual([
      expect.stringMatching(
        /^target "orders" \(targets\[0\]\) field copy\.kmsKeyArn: got "\$\{Token\[.+\]\}"; the key must live in the destination region eu-central-1, not us-west-2$/,
      ),
    ]);
  });
});
