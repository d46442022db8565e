import { join } from 'node:path';
import { IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DumpTarget, SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { isDumpTarget } from '#functions/contracts/config/schema.ts';
import { workerCommand } from '#functions/dumps/task-command.ts';
import { WORKER_CONTAINER } from '#functions/runs/dispatch.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';

/**
 * The worker image's build context, as .dockerignore lines over the repository root: everything out, then the
 * npm manifests and functions/ back in, then what must never ship even from there.
 */
export const WORKER_IMAGE_CONTEXT_EXCLUDE: readonly string[] = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!functions',
  '**/node_modules',
  '**/.env',
  '**/.env.*',
  '**/.venv',
  '**/__pycache__',
  '**/cdk.out',
  '**/*.md',
];

export interface DumpTasksProps {
  readonly config: SafekeepConfig;
  readonly artifacts: ArtifactBucket;
  /** Encrypts the tasks' log group. */
  readonly logKey: kms.IKey;
  /** Prefix of every task definition family: `<prefix>-<target>`. */
  readonly familyPrefix: string;
  /**
   * vCPU units of each dump task.
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Memory of each dump task, in MiB.
   * @default 4096
   */
  readonly memoryLimitMiB?: number;
}

const REPOSITORY_ROOT = join(import.meta.dirname, '..', '..');

/**
 * The Fargate side of dumps: one cluster, the worker image (built from functions/cli/container/Dockerfile at
 * deploy time), and one task definition per Fargate dump target. Each task runs `safekeep dump` for its
 * target with the credentials ECS injects from the target's secret (never in the command or overrides),
 * and has its own role that can only add objects under its target's prefix.
 */
export class DumpTasks extends Construct {
  readonly cluster: ecs.CfnCluster;
  readonly familyPrefix: string;
  readonly taskDefinitions: ReadonlyMap<string, ecs.FargateTaskDefinition>;
  /** Holds the remote manifests of Dolt's aws:// backups; only when a Dolt or Doltgres target exists. */
  readonly doltManifests?: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: DumpTasksProps) {
    super(scope, id);
    this.familyPrefix = props.familyPrefix;
    const targets = props.config.targets.filter(isDumpTarget).filter((t) => t.runner === 'fargate');
    this.cluster = new ecs.CfnCluster(this, 'Cluster', { clusterSettings: [{ name: 'containerInsights', value: 'enabled' }] });
    // Lambda-run Dolt targets use the same table, so any Dolt or Doltgres target creates it.
    if (props.config.targets.some((t) => t.kind === 'dolt' || t.kind === 'doltgres')) {
      this.doltManifests = new dynamodb.TableV2(this, 'DoltManifests', {
        partitionKey: { name: 'db', type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    const image = ecs.ContainerImage.fromAsset(REPOSITORY_ROOT, {
      file: 'functions/cli/container/Dockerfile',
      platform: Platform.LINUX_AMD64,
      // An allow-list, read as a .dockerignore: the image needs the npm manifests and functions/ only, so
      // nothing else in the clone (untracked .env files, virtualenvs, a cdk.out inside it) reaches the asset.
      exclude: [...WORKER_IMAGE_CONTEXT_EXCLUDE],
      ignoreMode: IgnoreMode.DOCKER,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.taskDefinitions = new Map(targets.map((target) => [target.name, this.taskDefinition(target, image, logGroup, props)]));
  }

  private taskDefinition(
    target: DumpTarget,
    image: ecs.ContainerImage,
    logGroup: logs.ILogGroup,
    props: DumpTasksProps,
  ): ecs.FargateTaskDefinition {
    const definition = new ecs.FargateTaskDefinition(this, `Task-${target.name}`, {
      family: `${this.familyPrefix}-${target.name}`,
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const secret = secretOf(this, `Secret-${target.name}`, target.source.secret);
    // The root filesystem is read-only; the tools' temporary files (option files, scratch copies) go to /tmp.
    definition.addVolume({ name: 'tmp' });
    const container = definition.addContainer(WORKER_CONTAINER, {
      image,
      command: workerCommand(target, { bucket: props.artifacts.bucket.bucketName, doltTable: this.doltManifests?.tableName }),
      readonlyRootFilesystem: true,
      environment: { AWS_REGION: Stack.of(this).region, TMPDIR: '/tmp' },
      secrets: {
        SAFEKEEP_DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
        SAFEKEEP_DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: target.name }),
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    props.artifacts.grantWriteOnly(definition.taskRole, target.name);
    if (target.kind === 'dolt' || target.kind === 'doltgres') {
      // The database server writes the Dolt backup itself; the task lists and hashes what it wrote.
      props.artifacts.grantReadTarget(definition.taskRole, target.name);
      this.doltManifests?.grant(definition.taskRole, 'dynamodb:GetItem');
    }
    return definition;
  }
}

/** The target's secret by name or ARN. A full ARN carries its random suffix, so ECS can resolve it exactly. */
function secretOf(scope: Construct, id: string, reference: string): secretsmanager.ISecret {
  return reference.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, reference)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, reference);
}
