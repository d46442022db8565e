import { join } from 'node:path';
import { Annotations, Duration, FileSystem, Fn, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DumpTarget } from '#functions/contracts/config/schema.ts';
import { isDumpTarget } from '#functions/contracts/config/schema.ts';
import type { RunRef } from '#functions/contracts/run-payloads.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { TargetReferences } from '../safekeep-props.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { SafekeepFunction } from './safekeep-function.ts';

export interface LambdaRunnerProps {
  /** The deployment document; only dump targets with `runner: lambda` get a worker, each its own target's part. */
  readonly deployment: DeploymentDocument;
  /** The bucket every backup lands in. */
  readonly artifacts: ArtifactBucket;
  /** Encrypts the workers' log groups. */
  readonly logKey: kms.IKey;
  /**
   * Receives every run's outcome as an asynchronous-invocation destination record (success and failure):
   * the run recorder. Lambda's own retries are off, so each dispatch runs at most once.
   * @default - none yet; call `sendResultsTo` once the recorder exists
   */
  readonly onResult?: lambda.IFunction;
  /**
   * The DynamoDB table of Dolt's aws://[table:bucket] remotes; required when a Dolt or Doltgres target
   * uses the Lambda runner (the database server writes its backup through it).
   * @default - none
   */
  readonly doltManifests?: dynamodb.ITable;
  /**
   * Memory of each worker, in MiB; Lambda gives CPU in proportion (2048 MiB is a bit more than one vCPU).
   * @default 2048
   */
  readonly memorySize?: number;
  /**
   * The layer with the database client tools, mounted at /opt.
   * @default - built from layers/db-clients when `cdk deploy` publishes it, in Docker, inside Lambda's own
   *   Amazon Linux 2023 image; only when at least one target uses the Lambda runner
   */
  readonly clientTools?: lambda.ILayerVersion;
  /**
   * The app's own secret and VPC objects of targets given as references: granted and placed on directly.
   * @default - every target's secret and network imported from its names and ids
   */
  readonly references?: ReadonlyMap<string, TargetReferences>;
}

/** What the dispatcher sends to a worker: the handler's own event type. */
export type LambdaRunnerEvent = RunRef;

const REPOSITORY_ROOT = PACKAGE_ROOT;
/** Lambda stops a function at 15 minutes; the config keeps dumps to 14, leaving time to abort uploads. */
const WORKER_TIMEOUT = Duration.minutes(15);

/**
 * Dumps of small databases inside Lambda (`runner: lambda`): one function per such target, running the same
 * worker code as the Fargate task with the PostgreSQL and MariaDB client tools from a layer. Each function
 * sits in its target's subnets and security groups, and its role is scoped like the Fargate task's: add
 * objects under its own target's prefix (and, for Dolt, read them back; with retention, prune them into
 * delete markers), read its own secret, nothing else.
 *
 * The layer needs Docker at deploy time only (see DbClientToolsLayer); it is created only when a target
 * uses this runner.
 */
export class LambdaRunner extends Construct {
  /** The worker of each target with runner "lambda" (what the dispatcher invokes). */
  readonly workers: ReadonlyMap<string, lambda.IFunction>;
  /** The same workers as Safekeep functions (entry, log group). */
  readonly workerFunctions: ReadonlyMap<string, SafekeepFunction>;
  /** The client tools layer; absent when no target uses the Lambda runner. */
  readonly clientTools?: lambda.ILayerVersion;
  private resultsTo?: lambda.IFunction;

  constructor(scope: Construct, id: string, props: LambdaRunnerProps) {
    super(scope, id);
    const targets = props.deployment.config.targets.filter(isDumpTarget).filter((t) => t.runner === 'lambda');
    const withoutTable = targets.filter((t) => (t.kind === 'dolt' || t.kind === 'doltgres') && !props.doltManifests);
    if (withoutTable.length > 0) {
      throw new Error(
        `LambdaRunner: ${withoutTable.map((t) => `target "${t.name}" (${t.kind})`).join(', ')} needs the DynamoDB table of Dolt's remotes; pass doltManifests`,
      );
    }
    if (targets.length > 0) this.clientTools = props.clientTools ?? new DbClientToolsLayer(this, 'ClientTools').layer;
    const layers = this.clientTools ? [this.clientTools] : [];
    this.workerFunctions = new Map(targets.map((target) => [target.name, this.worker(target, layers, props)]));
    this.workers = new Map([...this.workerFunctions].map(([name, fn]) => [name, fn.function]));
    props.deployment.register({ workers: Object.fromEntries([...this.workers].map(([name, fn]) => [name, fn.functionName])) });
    if (props.onResult) this.sendResultsTo(props.onResult);
  }

  /** The worker of `target`, for the dispatcher to invoke with a `LambdaRunnerEvent`. */
  workerFor(target: string): lambda.IFunction {
    const worker = this.workers.get(target);
    if (!worker) {
      const known = [...this.workers.keys()];
      throw new Error(
        `LambdaRunner: target "${target}" has no Lambda worker; ${known.length > 0 ? `workers: ${known.join(', ')}` : 'no target uses runner "lambda"'}`,
      );
    }
    return worker;
  }

  /**
   * Sends every worker's result (success and failure destination records) to `recorder`, and turns
   * Lambda's retries off: the dispatcher owns retries, each with a new run id. Call once, when the
   * recorder is created after the runner (the dispatcher needs the workers first).
   */
  sendResultsTo(recorder: lambda.IFunction): void {
    if (this.resultsTo) throw new Error('LambdaRunner: results already go to a recorder; sendResultsTo can be called once');
    this.resultsTo = recorder;
    const destination = new destinations.LambdaDestination(recorder);
    for (const fn of this.workerFunctions.values()) {
      const worker = fn.function;
      // A run nobody dispatched (a console test, invoked synchronously) fires no destination: the worker
      // hands its end to the recorder itself.
      fn.function.addEnvironment('SAFEKEEP_RECORDER', recorder.functionName);
      recorder.grantInvoke(worker);
      worker.configureAsyncInvoke({
        retryAttempts: 0,
        maxEventAge: Duration.hours(1),
        onSuccess: destination,
        onFailure: destination,
      });
    }
  }

  /** The function results go to, once set. */
  get resultRecorder(): lambda.IFunction | undefined {
    return this.resultsTo;
  }

  private worker(target: DumpTarget, layers: lambda.ILayerVersion[], props: LambdaRunnerProps): SafekeepFunction {
    const scope = new Construct(this, `Target-${target.name}`);
    // The worker needs only the ids: the VPC's zones and the subnets' route tables are never read.
    Annotations.of(scope).acknowledgeWarning(
      '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      'subnets are given by id; nothing selects subnets by zone',
    );
    Annotations.of(scope).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'no route is added to these subnets');
    const given = props.references?.get(target.name);
    const network = given?.network ?? {
      // Imported from the config's ids alone: no lookups, so synth stays offline. The subnets are named
      // explicitly, so the VPC's zones matter to nothing here.
      vpc: ec2.Vpc.fromVpcAttributes(scope, 'Vpc', { vpcId: target.network.vpcId, availabilityZones: Fn.getAzs() }),
      subnets: target.network.subnetIds.map((subnetId) => ec2.Subnet.fromSubnetId(scope, subnetId, subnetId)),
      securityGroups: target.network.securityGroupIds.map((groupId) =>
        ec2.SecurityGroup.fromSecurityGroupId(scope, groupId, groupId, { mutable: false }),
      ),
    };
    const worker = new SafekeepFunction(scope, 'Worker', {
      entry: 'functions/dumps/handlers/lambda-worker/handler.ts',
      description: `Safekeep: back up ${target.name} (${target.kind}) inside Lambda`,
      deployment: props.deployment,
      // Its own target only: the document tells the worker which target it runs.
      deploymentSlice: { targets: (t) => t.name === target.name },
      timeout: WORKER_TIMEOUT,
      memorySize: props.memorySize ?? 2048,
      logKey: props.logKey,
      network,
      layers,
    });
    const fn = worker.function;
    props.artifacts.grantWriteOnly(fn, target.name);
    // The worker prunes its own target after each committed run, as the Fargate task does.
    if (target.retention) props.artifacts.grantPruneTarget(fn, target.name);
    if (target.kind === 'dolt' || target.kind === 'doltgres') {
      // The database server writes the Dolt backup itself; the worker lists and hashes what it wrote.
      props.artifacts.grantReadTarget(fn, target.name);
      props.doltManifests?.grant(fn, 'dynamodb:GetItem');
    }
    // The app's own secret also grants its key (a secret encrypted with a customer-managed key needs kms:Decrypt).
    (given?.secret ?? secretOf(scope, target.source.secret)).grantRead(fn);
    return worker;
  }
}

/**
 * The target's secret by name or ARN. A complete ARN ends in the six characters Secrets Manager appends to
 * the name; a partial one (or a name) is granted with the `-??????` wildcard for them.
 */
function secretOf(scope: Construct, reference: string): secretsmanager.ISecret {
  if (!reference.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(scope, 'Secret', reference);
  return /-[A-Za-z0-9]{6}$/.test(reference)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'Secret', reference)
    : secretsmanager.Secret.fromSecretPartialArn(scope, 'Secret', reference);
}

/**
 * The db-clients layer: PostgreSQL and MariaDB client tools for arm64 Lambda, built by
 * `layers/db-clients/build.sh` inside Lambda's own Node 24 image (Amazon Linux 2023), so the tools match the
 * runtime they run in. Building needs Docker (and arm64 emulation on an x86 host), and happens when
 * `cdk deploy` publishes the asset, never during synth: the asset's source is a build command
 * (`layers/db-clients/package.sh`), not a bundled directory, so `cdk synth` of any config needs no Docker.
 * The asset hash is the layer directory's content: the layer is rebuilt when its scripts change, not on
 * every deploy, and an asset already in the bootstrap bucket is not built again.
 */
export class DbClientToolsLayer extends Construct {
  /** The layer version. */
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const source = join(REPOSITORY_ROOT, 'layers', 'db-clients');
    const asset = Stack.of(this).synthesizer.addFileAsset({
      sourceHash: FileSystem.fingerprint(source, { exclude: ['*.md'] }),
      executable: ['sh', join(source, 'package.sh')],
      displayName: `${this.node.path}/Code`,
    });
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified',
      'the object key is the content hash: a changed layer is a new object, so the layer version changes with it',
    );
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: 'Safekeep: pg_dump, pg_dumpall, pg_restore, psql, mariadb-dump, mariadb for Node 24 on arm64 (AL2023)',
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      code: lambda.Code.fromBucketV2(s3.Bucket.fromBucketName(this, 'AssetBucket', asset.bucketName), asset.objectKey),
    });
  }
}
