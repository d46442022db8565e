import { Duration, IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DumpTarget } from '#functions/contracts/config/schema.ts';
import { isDumpTarget } from '#functions/contracts/config/schema.ts';
import { drillTaskFamilyOf, taskFamilyOf, WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { DRILL_FILE } from '#functions/contracts/drill.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { TargetReferences } from '../safekeep-props.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';

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
  /** The deployment document: its dump targets get task definitions, and each task gets its own part of it. */
  readonly deployment: DeploymentDocument;
  readonly artifacts: ArtifactBucket;
  /** Encrypts the tasks' log group. */
  readonly logKey: kms.IKey;
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
  /**
   * The app's own secrets of targets given as references: ECS injects them and grants on them directly.
   * @default - every target's secret imported from its name or ARN
   */
  readonly references?: ReadonlyMap<string, TargetReferences>;
  /**
   * Ephemeral storage of each restore drill task, in GiB: the scratch database server restores into it.
   * @default 50
   */
  readonly drillEphemeralStorageGiB?: number;
}

const REPOSITORY_ROOT = PACKAGE_ROOT;

/** How long ECS waits after SIGTERM before SIGKILL: Fargate's maximum (the default would be 30 s). */
export const WORKER_STOP_TIMEOUT = Duration.seconds(120);
/**
 * The Fargate side of dumps: one cluster, the worker image (built from functions/cli/container/Dockerfile at
 * deploy time), and one task definition per Fargate dump target. Each task runs `safekeep dump --target <name>`
 * with its part of the deployment document in SAFEKEEP_DEPLOYMENT, the run it is told in RunTask's overrides,
 * and the credentials ECS injects from the target's secret (never in the command or overrides); its own role
 * can only add objects under its target's prefix and, with retention, turn them into delete markers.
 */
export class DumpTasks extends Construct {
  readonly cluster: ecs.CfnCluster;
  readonly taskDefinitions: ReadonlyMap<string, ecs.FargateTaskDefinition>;
  /**
   * The restore drill task definition of each dump target with `drill:` (Lambda-run targets too: a scratch
   * database server needs more than Lambda gives). Its role reads its own target's backups and writes only
   * drill.json objects; it holds no secret and its security group allows no ingress and HTTPS egress only.
   */
  readonly drillTaskDefinitions: ReadonlyMap<string, ecs.FargateTaskDefinition>;
  /** The drill tasks' security groups, by target. */
  readonly drillSecurityGroups: ReadonlyMap<string, ec2.CfnSecurityGroup>;
  /** Holds the remote manifests of Dolt's aws:// backups; only when a Dolt or Doltgres target exists. */
  readonly doltManifests?: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: DumpTasksProps) {
    super(scope, id);
    const { config } = props.deployment;
    const targets = config.targets.filter(isDumpTarget).filter((t) => t.runner === 'fargate');
    this.cluster = new ecs.CfnCluster(this, 'Cluster', { clusterSettings: [{ name: 'containerInsights', value: 'enabled' }] });
    // Lambda-run Dolt targets use the same table, so any Dolt or Doltgres target creates it.
    if (config.targets.some((t) => t.kind === 'dolt' || t.kind === 'doltgres')) {
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
    props.deployment.register({ cluster: this.cluster.attrArn, doltTable: this.doltManifests?.tableName });
    this.taskDefinitions = new Map(targets.map((target) => [target.name, this.taskDefinition(target, image, logGroup, props)]));
    const drilling = config.targets.filter(isDumpTarget).filter((t) => t.drill !== undefined);
    this.drillSecurityGroups = new Map(drilling.map((target) => [target.name, drillSecurityGroup(this, target)]));
    this.drillTaskDefinitions = new Map(
      drilling.map((target) => [target.name, this.drillTaskDefinition(target, image, logGroup, props)]),
    );
    props.deployment.register({
      drillSecurityGroups: Object.fromEntries([...this.drillSecurityGroups].map(([name, group]) => [name, group.attrGroupId])),
    });
  }

  /**
   * A target's restore drill: the same image, told to drill (`drill <target>`; the dispatcher adds
   * SAFEKEEP_ACTION=drill and the backup in SAFEKEEP_DRILL_FROM), restoring into a scratch server it starts
   * itself. No secrets: it never connects to the source database.
   */
  private drillTaskDefinition(
    target: DumpTarget,
    image: ecs.ContainerImage,
    logGroup: logs.ILogGroup,
    props: DumpTasksProps,
  ): ecs.FargateTaskDefinition {
    const definition = new ecs.FargateTaskDefinition(this, `DrillTask-${target.name}`, {
      family: drillTaskFamilyOf(props.deployment, target.name),
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      ephemeralStorageGiB: props.drillEphemeralStorageGiB ?? 50,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: taskRole(
        this,
        `DrillRole-${target.name}`,
        `Safekeep: the restore drill of ${target.name} (reads its backups, writes drill.json)`,
      ),
      executionRole: taskRole(
        this,
        `DrillExecutionRole-${target.name}`,
        `Safekeep: pulls the image of ${target.name}'s drill task`,
      ),
    });
    definition.addVolume({ name: 'tmp' });
    const container = definition.addContainer(WORKER_CONTAINER, {
      image,
      command: ['drill', target.name, '--json'],
      readonlyRootFilesystem: true,
      // The scratch server's data directory and sockets go to /tmp, the task's ephemeral storage.
      environment: { AWS_REGION: Stack.of(this).region, TMPDIR: '/tmp', ...props.deployment.taskEnvironment(target) },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: `${target.name}-drill` }),
      stopTimeout: WORKER_STOP_TIMEOUT,
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    grantDrill(props.artifacts, definition.taskRole, target.name);
    return definition;
  }

  private taskDefinition(
    target: DumpTarget,
    image: ecs.ContainerImage,
    logGroup: logs.ILogGroup,
    props: DumpTasksProps,
  ): ecs.FargateTaskDefinition {
    const definition = new ecs.FargateTaskDefinition(this, `Task-${target.name}`, {
      family: taskFamilyOf(props.deployment, target.name),
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: taskRole(this, `TaskRole-${target.name}`, `Safekeep: the dump task of ${target.name}`),
      executionRole: taskRole(
        this,
        `ExecutionRole-${target.name}`,
        `Safekeep: pulls the image and secret of ${target.name}'s task`,
      ),
    });
    const secret = props.references?.get(target.name)?.secret ?? secretOf(this, `Secret-${target.name}`, target.source.secret);
    // The root filesystem is read-only; the tools' temporary files (option files, scratch copies) go to /tmp.
    definition.addVolume({ name: 'tmp' });
    const container = definition.addContainer(WORKER_CONTAINER, {
      image,
      // The task is told its target here and its run in RunTask's overrides; the document says the rest.
      command: ['dump', '--target', target.name, '--json'],
      readonlyRootFilesystem: true,
      environment: { AWS_REGION: Stack.of(this).region, TMPDIR: '/tmp', ...props.deployment.taskEnvironment(target) },
      secrets: {
        SAFEKEEP_DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
        SAFEKEEP_DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: target.name }),
      // ECS sends SIGTERM, then SIGKILL after this long. The worker aborts its open uploads on SIGTERM and
      // exits 6 (stopped); Fargate's maximum leaves room for abort retries against a throttling S3.
      stopTimeout: WORKER_STOP_TIMEOUT,
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    props.artifacts.grantWriteOnly(definition.taskRole, target.name);
    // The worker itself prunes after each committed run (functions/dumps/prune.ts): it knows the target's
    // retention from its deployment document, and pruning needs nothing a new function would add but a role.
    if (target.retention) props.artifacts.grantPruneTarget(definition.taskRole, target.name);
    if (target.kind === 'dolt' || target.kind === 'doltgres') {
      // The database server writes the Dolt backup itself; the task lists and hashes what it wrote.
      props.artifacts.grantReadTarget(definition.taskRole, target.name);
      this.doltManifests?.grant(definition.taskRole, 'dynamodb:GetItem');
    }
    return definition;
  }
}

/**
 * What a drill task's role may do, and nothing more: read its own target's backups (GetObject,
 * GetObjectVersion, ListBucket on its prefix only, the key through S3 only) and put `drill.json` objects
 * under its prefix (a new key beside each manifest: it can overwrite no backup object).
 */
export function grantDrill(artifacts: ArtifactBucket, grantee: iam.IGrantable, target: string): void {
  artifacts.grantReadTarget(grantee, target);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteDrillResultsOnly',
      actions: ['s3:PutObject'],
      resources: [artifacts.bucket.arnForObjects(`${target}/*/${DRILL_FILE}`)],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptDrillResultsThroughS3',
      actions: ['kms:GenerateDataKey'],
      resources: [artifacts.key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${Stack.of(artifacts).region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': artifacts.bucket.bucketArn,
        },
      },
    }),
  );
}

/**
 * A drill task's security group: no ingress at all, egress HTTPS only (S3, through a gateway endpoint or NAT).
 * The task never talks to the source database; its scratch server listens inside the task only.
 */
function drillSecurityGroup(scope: Construct, target: DumpTarget): ec2.CfnSecurityGroup {
  return new ec2.CfnSecurityGroup(scope, `DrillSecurityGroup-${target.name}`, {
    vpcId: target.network.vpcId,
    groupDescription: `Safekeep: the restore drill of ${target.name}: no ingress, HTTPS egress only`,
    securityGroupEgress: [
      { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIp: '0.0.0.0/0', description: 'HTTPS to S3 and the AWS APIs' },
    ],
  });
}

/**
 * The target's secret by name or ARN. A complete ARN ends in the six characters Secrets Manager appends to
 * the name, so ECS can resolve it exactly; a partial one (or a name) is granted with the `-??????` wildcard.
 */
function secretOf(scope: Construct, id: string, reference: string): secretsmanager.ISecret {
  if (!reference.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(scope, id, reference);
  return /-[A-Za-z0-9]{6}$/.test(reference)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, reference)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, reference);
}

/** A role only ECS tasks of this account can assume (aws:SourceAccount: no confused deputy from another account). */
function taskRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    description,
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
        ArnLike: { 'aws:SourceArn': Stack.of(scope).formatArn({ service: 'ecs', resource: '*' }) },
      },
    }),
  });
}
