import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { BucketSettings, SafekeepConfig, Target } from '#functions/contracts/config/schema.ts';
import { isSnapshotTarget } from '#functions/contracts/config/schema.ts';
import { ArtifactBucket } from './constructs/artifact-bucket.ts';
import { DeploymentDocument } from './constructs/deployment-document.ts';
import { Dispatch } from './constructs/dispatch.ts';
import { DumpTasks } from './constructs/dump-tasks.ts';
import { LambdaRunner } from './constructs/lambda-runner.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { RunLedger } from './constructs/run-ledger.ts';
import { drilledSnapshotTargets, SnapshotDrill } from './constructs/snapshot-drill.ts';
import { SnapshotFlow } from './constructs/snapshot-flow.ts';
import { Writers } from './constructs/writers.ts';
import { parseConfigWithTokens } from './deferred-config.ts';
import { type SafekeepProps, toConfigInput } from './safekeep-props.ts';

export type { SafekeepProps } from './safekeep-props.ts';

/**
 * Safekeep: scheduled, verified backups of RDS, Aurora, EBS, EC2 and self-managed PostgreSQL, MySQL,
 * MariaDB, Dolt and Doltgres into one versioned, KMS-encrypted bucket.
 *
 * Props are validated eagerly: an invalid config throws a `ConfigError` listing every problem
 * before any resource is created. Where a target names a resource, the app may pass its own reference
 * (database, secret, VPC, key) or a token; literals are validated as in the config file.
 */
export class Safekeep extends Construct {
  /** The validated config, with defaults applied. */
  readonly config: SafekeepConfig;
  /** The artifact bucket, its key and its access-log bucket. */
  readonly artifacts: ArtifactBucket;
  /** The snapshot state machine and its steps; absent when no target is a snapshot target. */
  readonly snapshots?: SnapshotFlow;
  /** The restore drill state machine of snapshot targets; absent unless one has `drill:`. */
  readonly snapshotDrill?: SnapshotDrill;
  /** Encrypts every log group Safekeep creates (functions, state machine, tasks). */
  readonly logKey: kms.Key;
  /** Encrypts Safekeep's own state: the runs table, the dead-letter queues and writers' access-key secrets. */
  readonly dataKey: kms.Key;
  /** The ECS cluster, worker image and per-target task definitions of Fargate dumps. */
  readonly dumps: DumpTasks;
  /** The Lambda workers of targets with runner "lambda" and their client-tools layer (none without such targets). */
  readonly lambdaRunner: LambdaRunner;
  /** The deployment document every function, task and the CLI read (and its SSM parameters). */
  readonly deployment: DeploymentDocument;
  /** The runs table, the recorder that settles runs, and the dead-letter queue. */
  readonly ledger: RunLedger;
  /** Schedules and the dispatcher. */
  readonly dispatch: Dispatch;
  /** The freshness check, per-target failure and freshness alarms, their topics, and the dashboard. */
  readonly monitoring: Monitoring;
  /** External applications' roles and users, each held to its own prefix of the bucket (config `writers:`). */
  readonly writers: Writers;

  constructor(scope: Construct, id: string, props: SafekeepProps) {
    super(scope, id);
    const { input, references, placeholders } = toConfigInput(props);
    this.config = parseConfigWithTokens(input, `Safekeep construct ${this.node.path}`, placeholders);
    this.artifacts = new ArtifactBucket(this, 'Artifacts', artifactBucketProps(this.config.bucket));
    this.logKey = new kms.Key(this, 'LogKey', {
      description: 'Safekeep: encrypts its CloudWatch log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs may use it only for log groups of this account and region (AWS's documented condition).
    this.logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Stack.of(this).region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': Stack.of(this).formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Safekeep: encrypts its runs table and queues',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.writers = new Writers(this, 'Writers', {
      writers: this.config.writers,
      artifacts: this.artifacts,
      secretKey: this.dataKey,
    });
    this.deployment = new DeploymentDocument(this, 'Deployment', {
      config: this.config,
      taskFamilyPrefix: Stack.of(this).stackName,
    });
    this.deployment.register({ bucket: this.artifacts.bucket.bucketName });
    this.ledger = new RunLedger(this, 'Runs', {
      deployment: this.deployment,
      artifacts: this.artifacts,
      logKey: this.logKey,
      dataKey: this.dataKey,
    });
    if (this.config.targets.some(isSnapshotTarget)) {
      this.snapshots = new SnapshotFlow(this, 'Snapshots', { deployment: this.deployment, logKey: this.logKey });
      this.deployment.register({ stateMachineArn: this.snapshots.stateMachine.stateMachineArn });
      this.ledger.recordExecutions(this.snapshots.stateMachine);
    }
    if (drilledSnapshotTargets(this.config.targets).length > 0) {
      const drill = new SnapshotDrill(this, 'SnapshotDrill', {
        deployment: this.deployment,
        artifacts: this.artifacts,
        logKey: this.logKey,
      });
      this.snapshotDrill = drill;
      this.deployment.register({ snapshotDrillStateMachineArn: drill.stateMachine.stateMachineArn });
      this.ledger.recordDrillExecutions(drill.stateMachine);
    }
    this.dumps = new DumpTasks(this, 'Dumps', {
      deployment: this.deployment,
      artifacts: this.artifacts,
      logKey: this.logKey,
      references,
    });
    this.ledger.recordTaskStops(this.dumps.cluster.attrArn);
    this.lambdaRunner = new LambdaRunner(this, 'LambdaRunner', {
      deployment: this.deployment,
      artifacts: this.artifacts,
      logKey: this.logKey,
      doltManifests: this.dumps.doltManifests,
      onResult: this.ledger.recorderFunction.function,
      references,
    });
    this.dispatch = new Dispatch(this, 'Dispatch', {
      deployment: this.deployment,
      ledger: this.ledger,
      logKey: this.logKey,
      dataKey: this.dataKey,
      snapshots: this.snapshots,
      snapshotDrills: this.snapshotDrill?.stateMachine,
      dumps: this.dumps,
      workerFunctions: this.lambdaRunner.workers,
      artifacts: this.artifacts,
    });
    this.deployment.publish();
    this.monitoring = new Monitoring(this, 'Monitoring', {
      deployment: this.deployment,
      runsTable: this.ledger.runsTable,
      logKey: this.logKey,
      dashboardName: Stack.of(this).stackName,
      deadLetters: this.ledger.deadLetters,
    });
    this.monitoring.alarmOnTamper(this.artifacts);
    this.monitoring.alarmOnQueue(
      this.ledger.deadLetters,
      'Safekeep: a schedule could not invoke the dispatcher, or the dispatcher or recorder failed for good; read the messages in the dead-letter queue',
    );
  }

  /** The validated target called `name`. */
  target(name: string): Target {
    const target = this.config.targets.find((t) => t.name === name);
    if (!target)
      throw new Error(`Safekeep: no target named "${name}"; known: ${this.config.targets.map((t) => t.name).join(', ')}`);
    return target;
  }
}

function artifactBucketProps(settings: BucketSettings) {
  return {
    noncurrentVersionExpiration: Duration.days(settings.noncurrentVersionExpirationDays),
    accessLogRetention: Duration.days(settings.accessLogRetentionDays),
    transition: settings.transition && {
      storageClass: new s3.StorageClass(settings.transition.storageClass),
      after: Duration.days(settings.transition.afterDays),
    },
    breakGlassRoleArn: settings.breakGlassRoleArn,
    objectLock: settings.objectLock && {
      mode: settings.objectLock.mode,
      retention: Duration.days(settings.objectLock.retentionDays),
    },
  };
}
