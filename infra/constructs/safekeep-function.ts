import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { CONFIG_FILE } from '#functions/contracts/deployment.ts';
import { METRICS_NAMESPACE } from '#functions/contracts/metrics.ts';

export interface SafekeepFunctionProps {
  /** Path of the handler module, relative to the repository root (its export is `handler`). */
  readonly entry: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** The validated config, bundled next to the code. */
  readonly config: SafekeepConfig;
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

const REPOSITORY_ROOT = join(import.meta.dirname, '..', '..');

/**
 * Every Safekeep Lambda: Node 24 on arm64, an ESM bundle built by esbuild at synth (no Docker), X-Ray
 * tracing, a KMS-encrypted log group kept a year, and the deployment's config copied into the bundle as
 * `safekeep-config.json`, so a function always runs with the config it was deployed with.
 */
export class SafekeepFunction extends Construct {
  readonly function: NodejsFunction;
  /** The handler module, relative to the repository root (contract tests run it from source). */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: SafekeepFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    const configFile = stageConfig(props.config);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: props.logKey,
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPOSITORY_ROOT, props.entry),
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: join(REPOSITORY_ROOT, 'package-lock.json'),
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
      environment: { POWERTOOLS_SERVICE_NAME: 'safekeep', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // The AWS SDK v3 in the runtime is not the version we test against: bundle ours.
        bundleAwsSDK: true,
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        environment: {},
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => [`cp "${configFile}" "${outputDir}/${CONFIG_FILE}"`],
        },
      },
    });
  }
}

/** Writes the config to a file named by its hash, so the copy command (and the asset) change only with it. */
function stageConfig(config: SafekeepConfig): string {
  const text = `${JSON.stringify(config)}\n`;
  const dir = join(tmpdir(), 'safekeep-config');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`);
  writeFileSync(path, text);
  return path;
}
