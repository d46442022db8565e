/**
 * The Lambda dump runner in the template: one worker per `runner: lambda` target, in that target's subnets
 * and security groups, with the client tools layer, a role scoped like the Fargate task's, and results sent
 * to the recorder. And the other half of the contract: synth never needs Docker, with or without such a target.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '#functions/contracts/config/load.ts';
import { acknowledgeKnownFindings, nagPacks } from '#infra/compliance.ts';
import { ArtifactBucket } from '#infra/constructs/artifact-bucket.ts';
import { DbClientToolsLayer, LambdaRunner, type LambdaRunnerProps } from '#infra/constructs/lambda-runner.ts';
import { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { CDK_CONTEXT, functionDeployment, policyStatements, testDeployment } from '#test/support/cdk.ts';

const META_SECRET = 'safekeep/meta';
const SHOP_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:safekeep/shop-AbCdEf';

const TARGETS = [
  {
    name: 'meta',
    kind: 'postgres',
    runner: 'lambda',
    timeoutMinutes: 10,
    source: { host: 'meta.internal', databases: ['metadb'], secret: META_SECRET },
    network: {
      vpcId: 'vpc-0a1b2c3d4e5f67890',
      subnetIds: ['subnet-0a1b2c3d4e5f67891', 'subnet-0a1b2c3d4e5f67892'],
      securityGroupIds: ['sg-0a1b2c3d4e5f67893'],
    },
  },
  {
    name: 'shop',
    kind: 'dolt',
    runner: 'lambda',
    timeoutMinutes: 14,
    source: { host: 'dolt.internal', secret: SHOP_SECRET },
    network: {
      vpcId: 'vpc-0a1b2c3d4e5f67890',
      subnetIds: ['subnet-0a1b2c3d4e5f67899'],
      securityGroupIds: ['sg-0a1b2c3d4e5f67898'],
    },
  },
  // Fargate and snapshot targets get no worker here.
  {
    name: 'big',
    kind: 'postgres',
    source: { host: 'big.internal', secret: 'safekeep/big' },
    network: {
      vpcId: 'vpc-0a1b2c3d4e5f67890',
      subnetIds: ['subnet-0a1b2c3d4e5f67891'],
      securityGroupIds: ['sg-0a1b2c3d4e5f67893'],
    },
  },
  { name: 'orders', kind: 'rds-instance', source: { instanceId: 'orders' } },
];

function build(options: { recorderLater?: boolean; targets?: object[] } = {}) {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const config = parseConfig(
    { defaults: { schedule: { expression: 'rate(1 day)' } }, targets: options.targets ?? TARGETS },
    'test',
  );
  const artifacts = new ArtifactBucket(stack, 'Artifacts');
  const logKey = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
  const deployment = testDeployment(stack, config, { bucket: artifacts.bucket.bucketName });
  const recorder = new SafekeepFunction(stack, 'Recorder', {
    entry: 'functions/runs/handlers/record/handler.ts',
    description: 'test recorder',
    deployment,
    logKey,
  });
  const doltManifests = new dynamodb.TableV2(stack, 'DoltManifests', {
    partitionKey: { name: 'db', type: dynamodb.AttributeType.STRING },
  });
  const props: LambdaRunnerProps = { deployment, artifacts, logKey, doltManifests };
  const runner = new LambdaRunner(
    stack,
    'LambdaRunner',
    options.recorderLater ? props : { ...props, onResult: recorder.function },
  );
  if (options.recorderLater) runner.sendResultsTo(recorder.function);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return {
    app,
    stack,
    runner,
    recorder,
    template: Template.fromStack(stack),
    logicalId,
    ids: { bucket: logicalId(artifacts.bucket) },
  };
}

/** The statements of one worker's role (its default policy). */
function workerStatements(built: ReturnType<typeof build>, target: string) {
  const role = built.runner.workerFunctions.get(target)?.function.role as iam.Role | undefined;
  const policy = role?.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`no worker policy for ${target}`);
  const id = built.logicalId(policy);
  return policyStatements(built.template)
    .filter(({ resource }) => resource === id)
    .map(({ statement }) => statement);
}

const actionsOf = (statement: Record<string, unknown>) => [statement.Action].flat() as string[];
const prefixArn = (bucketId: string, target: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${target}/*`]],
});

describe('LambdaRunner', () => {
  const built = build();
  const { template, runner, ids } = built;

  it('creates one worker per runner "lambda" target and nothing for the others', () => {
    expect([...runner.workers.keys()]).toEqual(['meta', 'shop']);
    expect(runner.workerFor('meta')).toBe(runner.workers.get('meta'));
    expect(() => runner.workerFor('big')).toThrow('LambdaRunner: target "big" has no Lambda worker; workers: meta, shop');
  });

  it("places each worker in its target's subnets and security groups, with the layer, 15 minutes and 2 GiB", () => {
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['arm64'],
      CompatibleRuntimes: ['nodejs24.x'],
    });
    const layer = built.logicalId(runner.clientTools as unknown as { node: { defaultChild?: unknown } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Safekeep: back up meta (postgres) inside Lambda',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 2048,
      Layers: [{ Ref: layer }],
      VpcConfig: {
        SubnetIds: ['subnet-0a1b2c3d4e5f67891', 'subnet-0a1b2c3d4e5f67892'],
        SecurityGroupIds: ['sg-0a1b2c3d4e5f67893'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Safekeep: back up shop (dolt) inside Lambda',
      Layers: [{ Ref: layer }],
      VpcConfig: { SubnetIds: ['subnet-0a1b2c3d4e5f67899'], SecurityGroupIds: ['sg-0a1b2c3d4e5f67898'] },
    });
    // Each worker's deployment document holds its own target only, and names the bucket it writes to.
    for (const name of ['meta', 'shop']) {
      const worker = runner.workerFunctions.get(name);
      if (!worker) throw new Error(`no worker for ${name}`);
      const { bundled, environment } = functionDeployment(template, worker);
      expect(bundled.targets.map((t) => t.name)).toEqual([name]);
      expect(environment).toContain(ids.bucket);
    }
    // The security groups are the user's: no rules added to them.
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('lets the postgres worker add objects under its own prefix only, read nothing, and read only its own secret', () => {
    const statements = workerStatements(built, 'meta');
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Resource: prefixArn(ids.bucket, 'meta'),
      }),
    ]);
    const secrets = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toEqual([
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${META_SECRET}-??????`,
      }),
    ]);
    const allowed = [
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      's3:PutObject',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
      'lambda:InvokeFunction',
      // Its own log group only (see SafekeepFunction).
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ];
    expect(statements.flatMap(actionsOf).filter((action) => !allowed.includes(action))).toEqual([]);
    expect(JSON.stringify(statements)).not.toMatch(/shop|big/);
  });

  it('lets a worker with retention delete-mark its own prefix, list only it, and never delete a version', () => {
    // Prepare
    const withRetention = build({ targets: TARGETS.map((t) => (t.name === 'meta' ? { ...t, retention: { keepLast: 3 } } : t)) });

    // Act
    const statements = workerStatements(withRetention, 'meta');

    // Assess
    const ids = withRetention.ids;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Resource: prefixArn(ids.bucket, 'meta'),
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['meta/*'] } },
        Resource: { 'Fn::GetAtt': [ids.bucket, 'Arn'] },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:DeleteObjectVersion',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.bucket, 'Arn'] }, '/*']] },
      }),
    );
    // The other worker, without retention, gets no delete at all.
    expect(workerStatements(withRetention, 'shop').flatMap(actionsOf)).not.toContain('s3:DeleteObject');
  });

  it('lets the Dolt worker read back its own prefix (it hashes what the server wrote) and its exact secret ARN', () => {
    const statements = workerStatements(built, 'shop');
    const reads = statements.filter((s) => actionsOf(s).includes('s3:GetObject'));
    expect(reads).toEqual([expect.objectContaining({ Resource: prefixArn(ids.bucket, 'shop') })]);
    const secrets = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secrets).toEqual([expect.objectContaining({ Resource: SHOP_SECRET })]);
    expect(statements.filter((s) => actionsOf(s).includes('dynamodb:GetItem'))).toHaveLength(1);
    expect(JSON.stringify(statements)).not.toMatch(/meta|big/);
  });

  it('sends successes and failures to the recorder, with Lambda retries off', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    const recorderArn = { 'Fn::GetAtt': [built.logicalId(built.recorder.function), 'Arn'] };
    template.allResourcesProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnSuccess: { Destination: recorderArn }, OnFailure: { Destination: recorderArn } },
    });
  });

  it('tells each worker its recorder and lets it invoke that function only: a run nobody dispatched reports itself', () => {
    const recorderId = built.logicalId(built.recorder.function);
    for (const fn of runner.workerFunctions.values()) {
      const worker = template.toJSON().Resources[built.logicalId(fn.function)] as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      };
      expect(worker.Properties.Environment.Variables.SAFEKEEP_RECORDER).toEqual({ Ref: recorderId });
    }
    const invokes = workerStatements(built, [...runner.workerFunctions.keys()][0] ?? '').filter((s) =>
      actionsOf(s).includes('lambda:InvokeFunction'),
    );
    expect(invokes.length).toBeGreaterThan(0);
    for (const statement of invokes) expect(JSON.stringify(statement.Resource)).toContain(recorderId);
  });

  it('does the same when the recorder is created after the runner, once', () => {
    const later = build({ recorderLater: true });
    later.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    expect(() => later.runner.sendResultsTo(later.recorder.function)).toThrow('sendResultsTo can be called once');
  });

  it('passes the compliance gate: every finding on the runner is acknowledged', () => {
    acknowledgeKnownFindings(built.app);
    const findings = nagPacks(built.app).flatMap((pack) =>
      pack
        .validateScope(built.stack)
        .violations.flatMap((v) =>
          v.violatingResources
            .filter((r) => r.constructPath?.includes('/LambdaRunner/'))
            .map((r) => `${v.ruleName} ${r.constructPath}`),
        ),
    );
    expect(findings).toEqual([]);
  });

  it('refuses a Dolt target without the table of its remotes, naming it', () => {
    const app = new App({ context: CDK_CONTEXT });
    const stack = new Stack(app, 'NoTable');
    const config = parseConfig({ defaults: { schedule: { expression: 'rate(1 day)' } }, targets: TARGETS }, 'test');
    const props = {
      deployment: testDeployment(stack, config),
      artifacts: new ArtifactBucket(stack, 'Artifacts'),
      logKey: new kms.Key(stack, 'Key'),
    };
    expect(() => new LambdaRunner(stack, 'LambdaRunner', props)).toThrow(
      'LambdaRunner: target "shop" (dolt) needs the DynamoDB table of Dolt\'s remotes; pass doltManifests',
    );
  });
});

describe('wired into the Safekeep construct', () => {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Wired', { env: { account: '123456789012', region: 'eu-west-1' } });
  const safekeep = new Safekeep(stack, 'Safekeep', {
    defaults: { schedule: { expression: 'rate(1 day)' } },
    targets: TARGETS,
  } as never);
  const template = Template.fromStack(stack);
  const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const workerIds = [...safekeep.lambdaRunner.workerFunctions.entries()].map(
    ([target, fn]) => [target, idOf(fn.function)] as const,
  );

  it('tells the dispatcher which function runs each lambda target, and lets it invoke only those', () => {
    expect(workerIds.map(([target]) => target).sort()).toEqual(['meta', 'shop']);
    const dispatcher = template.toJSON().Resources[idOf(safekeep.dispatch.dispatchFunction.function)];
    const rendered = JSON.stringify(dispatcher.Properties.Environment.Variables.SAFEKEEP_DEPLOYMENT);
    for (const [, id] of workerIds) expect(rendered).toContain(id);
    const dispatcherPolicy = safekeep.dispatch.dispatchFunction.function.role?.node.tryFindChild(
      'DefaultPolicy',
    ) as CfnElement['node']['scope'];
    const invokes = policyStatements(template)
      .filter(({ resource }) => resource === idOf(dispatcherPolicy as never))
      .map(({ statement }) => statement)
      .filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'));
    const invoked = JSON.stringify(invokes.map((statement) => statement.Resource));
    for (const [, id] of workerIds) expect(invoked).toContain(id);
  });

  it("sends every worker's result to the stack's recorder", () => {
    const recorderId = idOf(safekeep.ledger.recorderFunction.function);
    for (const [, id] of workerIds) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: id },
        MaximumRetryAttempts: 0,
        DestinationConfig: {
          OnSuccess: { Destination: { 'Fn::GetAtt': [recorderId, 'Arn'] } },
          OnFailure: { Destination: { 'Fn::GetAtt': [recorderId, 'Arn'] } },
        },
      });
    }
  });

  it('passes the compliance gate as a whole stack', () => {
    acknowledgeKnownFindings(app);
    const findings = nagPacks(app).flatMap((pack) =>
      pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });
});

describe('the example config (no runner "lambda" target)', () => {
  it('builds no layer and no worker, so synth needs no Docker even with asset bundling on', () => {
    // Prepare: cdk.json's context as `cdk synth` uses it, bundling NOT skipped.
    const app = new App({ context: JSON.parse(readFileSync('cdk.json', 'utf8')).context });
    const stack = new Stack(app, 'Example');
    const config = loadConfigFile('safekeep.config.yaml');

    // Act
    const runner = new LambdaRunner(stack, 'LambdaRunner', {
      deployment: testDeployment(stack, config),
      artifacts: new ArtifactBucket(stack, 'Artifacts'),
      logKey: new kms.Key(stack, 'LogKey'),
    });
    const assembly = app.synth();

    // Assess
    expect(runner.clientTools).toBeUndefined();
    expect(runner.workers.size).toBe(0);
    const resources = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>);
    expect(resources.map((r) => r.Type).filter((type) => type.startsWith('AWS::Lambda::'))).toEqual([]);
    expect(assembly.getStackByName('Example').assets).toEqual([]);
  });
});

describe('the client tools layer', () => {
  it('synthesizes with asset bundling on and no Docker engine, leaving the build to cdk deploy', () => {
    // Prepare: cdk.json's context as `cdk synth` and `cdk deploy` use it, bundling NOT skipped.
    const app = new App({ context: JSON.parse(readFileSync('cdk.json', 'utf8')).context });
    const stack = new Stack(app, 'WithLayer');

    // Act
    new DbClientToolsLayer(stack, 'ClientTools');
    const assembly = app.synth();

    // Assess: one file asset whose source is the build command, which cdk-assets runs only when it publishes.
    const manifest = JSON.parse(readFileSync(`${assembly.directory}/WithLayer.assets.json`, 'utf8')) as {
      files: Record<string, { source: { executable?: string[]; path?: string } }>;
    };
    const sources = Object.values(manifest.files).map((file) => file.source);
    const layerSources = sources.filter((source) => source.executable);
    expect(layerSources).toHaveLength(1);
    expect(layerSources[0]?.executable?.at(-1)).toMatch(/layers\/db-clients\/package\.sh$/);
    expect(layerSources[0]?.path).toBeUndefined();
  });

  it('hashes the layer directory, so synth is deterministic and a changed build script rebuilds it', () => {
    const hashes = () => {
      const app = new App({ context: CDK_CONTEXT });
      new DbClientToolsLayer(new Stack(app, 'S'), 'ClientTools');
      return app
        .synth()
        .getStackByName('S')
        .assets.map((asset) => (asset as { sourceHash: string }).sourceHash);
    };
    expect(hashes()).toEqual(hashes());
  });
});
