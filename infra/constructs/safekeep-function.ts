import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEPLOYMENT_FILE } from '#functions/contracts/deployment.ts';
import { METRICS_NAMESPACE } from '#functions/contracts/metrics.ts';
import { bundleHandlerSync } from '../bundling/handler-bundle.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { DeploymentDocument, DeploymentSlice } from './deployment-document.ts';

export interface SafekeepFunctionProps {
  /** Path of the handler module, relative to the repository root (its export is `handler`). */
  readonly entry: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** The deployment document: its synth-time half is bundled next to the code, the rest comes in the environment. */
  readonly deployment: DeploymentDocument;
  /**
   * The part of the document this function gets.
   * @default - every target, no runners
   */
  readonly deploymentSlice?: DeploymentSlice;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - none */
  readonly environment?: Record<string, string>;
  /** Encrypts the function's log group. */
  readonly logKey: kms.IKey;
  /**
   * Where asynchronous invocations that keep failing end up (schedules and event rules invoke asynchronously).
   * @default - none (for functions only ever invoked synchronously)
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Runs the function in these subnets with these security groups (to reach a database inside a VPC).
   * @default - outside any VPC
   */
  readonly network?: SafekeepFunctionNetwork;
  /**
   * Layers mounted at /opt (the database client tools of the Lambda dump runner).
   * @default - none
   */
  readonly layers?: lambda.ILayerVersion[];
}

/** Where a function runs inside a VPC. */
export interface SafekeepFunctionNetwork {
  /** The VPC the subnets belong to. */
  readonly vpc: ec2.IVpc;
  /** Subnets the function's network interfaces go into. */
  readonly subnets: ec2.ISubnet[];
  /** Security groups of those network interfaces. */
  readonly securityGroups: ec2.ISecurityGroup[];
}

/**
 * Every Safekeep Lambda: Node 24 on arm64, an ESM bundle built by esbuild at synth (no Docker), X-Ray
 * tracing, a KMS-encrypted log group kept a year, and its part of the deployment document: the synth-time half
 * copied into the bundle as `deployment.json`, the deploy-time half in SAFEKEEP_DEPLOYMENT.
 */
export class SafekeepFunction extends Construct {
  readonly function: lambda.Function;
  /** The handler module, relative to the repository root (contract tests run it from source). */
  readonly entry: string;
  /** The staged synth-time half of its deployment document (contract tests point SAFEKEEP_DEPLOYMENT_FILE at it). */
  readonly deploymentFile: string;

  constructor(scope: Construct, id: string, props: SafekeepFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    const deploymentFile = props.deployment.stageBundledHalf(props.deploymentSlice);
    this.deploymentFile = deploymentFile;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: props.logKey,
    });
    const entry = join(PACKAGE_ROOT, props.entry);
    this.function = new lambda.Function(this, 'Function', {
      code: lambda.Code.fromAsset(PACKAGE_ROOT, {
        // Hashed by what is deployed, so a change anywhere in what the handler imports redeploys it.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: {
            tryBundle: (outputDir) => {
              bundleHandlerSync(entry, outputDir);
              copyFileSync(deploymentFile, join(outputDir, DEPLOYMENT_FILE));
              return true;
            },
          },
          // CDK asks for a container to bundle in; the local bundler above always runs (esbuild is a dependency).
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
          // Tells bundles apart in CDK's cache of them: one per handler and deployment document.
          environment: { SAFEKEEP_HANDLER: props.entry, SAFEKEEP_DEPLOYMENT_FILE: deploymentFile },
        },
      }),
      handler: 'index.handler', // index.mjs
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      deadLetterQueue: props.deadLetterQueue,
      vpc: props.network?.vpc,
      vpcSubnets: props.network && { subnets: props.network.subnets },
      securityGroups: props.network?.securityGroups,
      layers: props.layers,
      // Its own role with no AWSLambdaBasicExecutionRole (logs:* on every log group): see below.
      role: new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
        description: props.description,
        // Lambda creates the network interfaces of a function in a VPC with its role (CDK adds this only to roles it makes).
        managedPolicies: props.network
          ? [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')]
          : [],
      }),
      environment: {
        // The bundle ships its source map: stack traces name our files and lines.
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'safekeep',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.deployment.functionEnvironment(props.deploymentSlice),
        ...props.environment,
      },
    });
    // Its own log group only (the group's Arn attribute ends in ":*", which covers its streams); the group
    // exists, CloudFormation made it, so no logs:CreateLogGroup.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
  }
}
