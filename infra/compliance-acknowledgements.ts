/**
 * Every finding of the compliance gate (infra/compliance.ts) that Safekeep accepts, with its reason and the exact
 * constructs and rule ids it covers: one list, so a reviewer reads every exception in one place. The finders
 * below name resources the way cdk-nag prints them; they read the constructs' public members only.
 */
import { type CfnElement, Stack, Token } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { ArtifactBucket } from './constructs/artifact-bucket.ts';
import { DEFER_SCHEDULE_PREFIX, Dispatch } from './constructs/dispatch.ts';
import { DumpTasks } from './constructs/dump-tasks.ts';
import { LambdaRunner } from './constructs/lambda-runner.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { RETRY_SCHEDULE_PREFIX, RunLedger } from './constructs/run-ledger.ts';
import { SafekeepFunction } from './constructs/safekeep-function.ts';
import { SnapshotDrill } from './constructs/snapshot-drill.ts';
import { SnapshotFlow } from './constructs/snapshot-flow.ts';
import { Writers } from './constructs/writers.ts';

export interface Acknowledgement {
  readonly reason: string;
  /** The constructs it covers, each with the exact rule ids (as cdk-nag reports them) acknowledged there. */
  readonly on: (root: IConstruct) => { construct: IConstruct; rules: readonly string[] }[];
}

const all = <T>(root: IConstruct, type: abstract new (...args: never[]) => T) =>
  root.node.findAll().filter((c): c is T & IConstruct => c instanceof type);
const each = <T extends IConstruct>(constructs: T[], rules: (construct: T) => readonly string[]) =>
  constructs.map((construct) => ({ construct, rules: rules(construct) }));

/** How cdk-nag spells a region or account in a finding: the literal, or the pseudo parameter. */
function spelled(stack: Stack) {
  return {
    partition: Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition,
    region: Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region,
    account: Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account,
  };
}

/** `arn:<partition>:<service>:<region>:<account>` of the scope's stack, spelled as cdk-nag prints it. */
function arnPrefix(scope: IConstruct, service: string): string {
  const { partition, region, account } = spelled(Stack.of(scope));
  return `arn:${partition}:${service}:${region}:${account}`;
}

/** The artifact bucket's logical id, as cdk-nag prints it in findings about grants on it. */
function bucketLogicalId(scope: IConstruct): string {
  const [bucket] = all(scope.node.root, ArtifactBucket).filter((b) => Stack.of(b) === Stack.of(scope));
  if (!bucket) throw new Error('no artifact bucket in the stack');
  return Stack.of(bucket).getLogicalId(bucket.bucket.node.defaultChild as CfnElement);
}

/** Lambda runners that have workers (a config without `runner: lambda` targets creates none). */
const lambdaRunners = (root: IConstruct) => all(root, LambdaRunner).filter((runner) => runner.workers.size > 0);

/** The snapshot state machine's step functions. */
const snapshotSteps = (flow: SnapshotFlow) => [flow.startFunction, flow.checkFunction, flow.copyFunction, flow.pruneFunction];

/** The snapshot drill state machine's step functions. */
const drillSteps = (drill: SnapshotDrill) => [
  drill.startFunction,
  drill.checkFunction,
  drill.sqlCheckFunction,
  drill.finishFunction,
];

/** The drill's construct-owned names and placement groups, spelled as cdk-nag prints them. */
function drillArnFindings(drill: SnapshotDrill): string[] {
  const rds = arnPrefix(drill, 'rds');
  const { partition, region } = spelled(Stack.of(drill));
  const bucket = bucketLogicalId(drill);
  return [
    `AwsSolutions-IAM5[Resource::${rds}:db:safekeep-drill-*]`,
    `AwsSolutions-IAM5[Resource::${rds}:cluster:safekeep-drill-*]`,
    ...['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => `AwsSolutions-IAM5[Resource::${rds}:${type}:*]`),
    ...drill.targetNames.flatMap((target) => [
      `AwsSolutions-IAM5[Resource::${rds}:snapshot:safekeep-${target}-*]`,
      `AwsSolutions-IAM5[Resource::${rds}:cluster-snapshot:safekeep-${target}-*]`,
      `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/${target}/*/drill.json]`,
    ]),
    `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${region}::snapshot/*]`,
    `AwsSolutions-IAM5[Resource::${arnPrefix(drill, 'ec2')}:volume/*]`,
    `AwsSolutions-IAM5[Resource::${arnPrefix(drill, 'kms')}:key/*]`,
  ];
}

/** How cdk-nag names a grant on a function's versions and aliases (`<arn>:*`). */
function functionVersionsFinding(fn: IFunction): string {
  const resource = fn.node.defaultChild as CfnElement | undefined;
  const arn = resource ? `<${Stack.of(resource).getLogicalId(resource)}.Arn>` : fn.functionArn;
  return `AwsSolutions-IAM5[Resource::${arn}:*]`;
}

function snapshotArnFindings(flow: SnapshotFlow): string[] {
  const { partition, region, account } = spelled(Stack.of(flow));
  return [region, ...flow.copyRegions].flatMap((r) => [
    ...flow.targetNames.flatMap((target) => [
      `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${r}:${account}:snapshot:safekeep-${target}-*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${r}:${account}:cluster-snapshot:safekeep-${target}-*]`,
    ]),
    `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${r}::snapshot/*]`,
  ]);
}

export const ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  {
    reason:
      'Restore drills make resources whose names exist only once a drill runs: creates are limited to the construct-owned "safekeep-drill-" names and must carry this stack\'s safekeep:stack tag and a safekeep:drill tag; modifies and deletes require both tags on the resource; restores read only this config\'s "safekeep-<target>-" snapshots (EBS: tagged by this stack); drill.json keys carry the backup\'s date and run id; snapshot keys are used only via RDS and EC2; Describe calls have no resource-level permissions.',
    on: (root) =>
      each(all(root, SnapshotDrill), (drill) => [
        'AwsSolutions-IAM5[Resource::*]',
        ...drillArnFindings(drill),
        ...drillSteps(drill).map((fn) => functionVersionsFinding(fn.function)),
      ]),
  },
  {
    reason:
      'The drill steps are invoked synchronously by Step Functions, whose Catch on every step leads to cleanup; a dead-letter queue applies only to asynchronous invocations. Their policies are the grants CDK attaches to each function role, one role per step.',
    on: (root) => [
      ...each(all(root, SnapshotDrill), () => [
        'NIST.800.53.R5-IAMNoInlinePolicy',
        'HIPAA.Security-IAMNoInlinePolicy',
        'PCI.DSS.321-IAMNoInlinePolicy',
      ]),
      ...each(all(root, SnapshotDrill).flatMap(drillSteps), () => [
        'NIST.800.53.R5-LambdaDLQ',
        'HIPAA.Security-LambdaDLQ',
        'Serverless-LambdaDLQ',
      ]),
    ],
  },
  {
    reason:
      'S3 server access logging can only deliver to a bucket encrypted with SSE-S3; the access-log bucket holds request logs, never backup data.',
    on: (root) =>
      each(
        all(root, ArtifactBucket).map((b) => b.accessLogBucket),
        () => [
          'NIST.800.53.R5-S3DefaultEncryptionKMS',
          'HIPAA.Security-S3DefaultEncryptionKMS',
          'PCI.DSS.321-S3DefaultEncryptionKMS',
        ],
      ),
  },
  {
    reason:
      'The bucket holds backups, which are themselves the second copy; S3 stores them across three or more AZs, and off-region copies are made per target (snapshot copy). Replicating access logs adds nothing.',
    on: (root) =>
      each(
        all(root, ArtifactBucket).flatMap((b) => [b.bucket, b.accessLogBucket]),
        () => [
          'NIST.800.53.R5-S3BucketReplicationEnabled',
          'HIPAA.Security-S3BucketReplicationEnabled',
          'PCI.DSS.321-S3BucketReplicationEnabled',
        ],
      ),
  },
  {
    reason:
      'Describe calls on RDS and EBS snapshots, volumes, instances and account quotas have no resource-level permissions in IAM; every create, copy and delete is scoped.',
    on: (root) => each(all(root, SnapshotFlow), () => ['AwsSolutions-IAM5[Resource::*]']),
  },
  {
    reason:
      'Snapshot ARNs are unknown until created: creates, copies and deletes are limited to the construct-owned "safekeep-<target>-" names of this config\'s targets (RDS) or to snapshots tagged by this stack (EBS, where snapshot ids are random); deletes also require this stack\'s safekeep:stack tag and a configured safekeep:target tag (and, for EBS, the Name prefix).',
    on: (root) => each(all(root, SnapshotFlow), snapshotArnFindings),
  },
  {
    reason:
      'EBS volumes selected by tag are not known at deploy time; CreateSnapshot on volume/* is allowed only while the volume carries every tag of the target selector (aws:ResourceTag conditions).',
    on: (root) => each(all(root, SnapshotFlow), (flow) => [`AwsSolutions-IAM5[Resource::${arnPrefix(flow, 'ec2')}:volume/*]`]),
  },
  {
    reason:
      'Source snapshots are encrypted with whatever key encrypts the database (often the AWS-managed aws/rds key); use of those keys is limited to RDS and EC2 acting for the copy (kms:ViaService).',
    on: (root) => each(all(root, SnapshotFlow), (flow) => [`AwsSolutions-IAM5[Resource::${arnPrefix(flow, 'kms')}:key/*]`]),
  },
  {
    reason:
      "Step Functions' LambdaInvoke grant covers the function's versions and aliases (arn:...:function:name:*); each grant names one Safekeep function.",
    on: (root) => each(all(root, SnapshotFlow), (flow) => snapshotSteps(flow).map((fn) => functionVersionsFinding(fn.function))),
  },
  {
    reason:
      "A target's write-only (and, for Dolt, read; with retention, delete-marker-only prune) grant covers its own prefix: object names carry the run's date and id, unknown at deploy time.",
    on: (root) =>
      each(all(root, DumpTasks), (tasks) =>
        [...new Set([...tasks.taskDefinitions.keys(), ...tasks.drillTaskDefinitions.keys()])].map(
          (target) => `AwsSolutions-IAM5[Resource::<${bucketLogicalId(tasks)}.Arn>/${target}/*]`,
        ),
      ),
  },
  {
    reason:
      "A restore drill's role writes only drill.json objects beside its own target's manifests (<target>/.../drill.json): run keys are unknown at deploy time, and no backup object matches.",
    on: (root) =>
      each(
        all(root, DumpTasks).filter((tasks) => tasks.drillTaskDefinitions.size > 0),
        (tasks) =>
          [...tasks.drillTaskDefinitions.keys()].map(
            (target) => `AwsSolutions-IAM5[Resource::<${bucketLogicalId(tasks)}.Arn>/${target}/*/drill.json]`,
          ),
      ),
  },
  {
    reason:
      'ecr:GetAuthorizationToken (pulling the worker image) and the X-Ray and metrics calls of task roles have no resource-level permissions.',
    on: (root) =>
      each([...all(root, DumpTasks), ...all(root, Dispatch), ...all(root, RunLedger)], () => ['AwsSolutions-IAM5[Resource::*]']),
  },
  {
    reason:
      'The only environment variables are AWS_REGION and TMPDIR; database credentials reach the container as ECS secrets from Secrets Manager, never as environment in the task definition.',
    on: (root) => each(all(root, DumpTasks), () => ['AwsSolutions-ECS2']),
  },
  {
    reason:
      'CDK grants on one customer-managed key (the runs table and queue key): GenerateDataKey* and ReEncrypt* name key operations, not other keys.',
    on: (root) =>
      each([...all(root, Dispatch), ...all(root, RunLedger)], () => [
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      ]),
  },
  {
    reason:
      "RunTask is allowed on every revision of each target's own task definition family (revisions change with every deploy), only in Safekeep's cluster (ecs:cluster condition); tagging only the tasks RunTask creates (ecs:CreateAction).",
    on: (root) =>
      each(all(root, Dispatch), (dispatch) => {
        const ecsArn = arnPrefix(dispatch, 'ecs');
        const tasks = all(root, DumpTasks).flatMap((t) =>
          [...t.taskDefinitions.values(), ...t.drillTaskDefinitions.values()].map((d) => d.family),
        );
        return [
          ...tasks.map((family) => `AwsSolutions-IAM5[Resource::${ecsArn}:task-definition/${family}:*]`),
          `AwsSolutions-IAM5[Resource::${ecsArn}:task/*]`,
        ];
      }),
  },
  {
    reason:
      "Pacing Fargate starts: the dispatcher lists and describes the tasks of Safekeep's own cluster only (ecs:cluster condition; task ids are unknown at deploy time), and creates one-time deferred-start schedules named safekeep-defer-<target hash>-<run id>-<deferral> in the default group, the prefix keeping every other schedule out of reach.",
    on: (root) => {
      const tasks = all(root, DumpTasks).find((dumps) => dumps.taskDefinitions.size > 0);
      if (!tasks) return [];
      const cluster = Stack.of(tasks).getLogicalId(tasks.cluster);
      return each(all(root, Dispatch), (dispatch) => [
        `AwsSolutions-IAM5[Resource::${arnPrefix(dispatch, 'ecs')}:container-instance/<${cluster}>/*]`,
        `AwsSolutions-IAM5[Resource::${arnPrefix(dispatch, 'ecs')}:task/<${cluster}>/*]`,
        `AwsSolutions-IAM5[Resource::${arnPrefix(dispatch, 'scheduler')}:schedule/default/${DEFER_SCHEDULE_PREFIX}-*]`,
      ]);
    },
  },
  {
    reason:
      'The results recorder reads run manifests (<target>/.../manifest.json) and nothing else in the bucket; run keys are unknown at deploy time.',
    on: (root) =>
      each(all(root, RunLedger), (ledger) => [`AwsSolutions-IAM5[Resource::<${bucketLogicalId(ledger)}.Arn>/*/manifest.json]`]),
  },
  {
    reason:
      'The results recorder reads restore drill results (<target>/.../drill.json) to settle drills; run keys are unknown at deploy time.',
    on: (root) =>
      each(
        all(root, RunLedger).filter((ledger) => ledger.readsDrillResults),
        (ledger) => [`AwsSolutions-IAM5[Resource::<${bucketLogicalId(ledger)}.Arn>/*/drill.json]`],
      ),
  },
  {
    reason:
      'The recorder creates one-time retry schedules named safekeep-retry-<run id>-<target hash> in the default group: run ids are unknown at deploy time, and the prefix keeps every other schedule out of reach.',
    on: (root) =>
      each(all(root, RunLedger), (ledger) => [
        `AwsSolutions-IAM5[Resource::${arnPrefix(ledger, 'scheduler')}:schedule/default/${RETRY_SCHEDULE_PREFIX}-*]`,
      ]),
  },
  {
    reason:
      'The runs table is operational history, rebuilt from the manifests in the artifact bucket if lost; it has point-in-time recovery, deletion protection and is retained, so an AWS Backup plan would only add cost.',
    on: (root) =>
      each(
        all(root, RunLedger).map((ledger) => ledger.runsTable),
        () => ['NIST.800.53.R5-DynamoDBInBackupPlan', 'HIPAA.Security-DynamoDBInBackupPlan'],
      ),
  },
  {
    reason:
      'This queue is the dead-letter queue: what lands here is kept 14 days and alarmed on; a dead-letter queue of its own would only move the problem.',
    on: (root) =>
      each(
        all(root, RunLedger).map((ledger) => ledger.deadLetters),
        () => ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'],
      ),
  },
  {
    reason:
      "Scheduler's Lambda target grant covers the dispatcher's versions and aliases (arn:...:function:name:*), one function.",
    on: (root) => each(all(root, Dispatch), (dispatch) => [functionVersionsFinding(dispatch.dispatchFunction.function)]),
  },
  {
    reason:
      "A Lambda dump worker's write-only (and, for Dolt, read; with retention, delete-marker-only prune) grant covers its own target's prefix: object names carry the run's date and id, unknown at deploy time.",
    on: (root) =>
      each(lambdaRunners(root), (runner) =>
        [...runner.workers.keys()].map((target) => `AwsSolutions-IAM5[Resource::<${bucketLogicalId(runner)}.Arn>/${target}/*]`),
      ),
  },
  {
    reason:
      'The Lambda dump workers are traced (active X-Ray tracing): xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.',
    on: (root) => each(lambdaRunners(root), () => ['AwsSolutions-IAM5[Resource::*]']),
  },
  {
    reason:
      "AWSLambdaVPCAccessExecutionRole grants only the network-interface calls Lambda makes to place a dump worker in its target's subnets; writing the same statement by hand adds nothing.",
    on: (root) =>
      each(lambdaRunners(root), () => [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      ]),
  },
  {
    reason:
      "The Lambda workers' async-invocation destination grant covers the run recorder's versions and aliases (arn:...:function:name:*), one function.",
    on: (root) =>
      lambdaRunners(root).flatMap((runner) =>
        runner.resultRecorder ? [{ construct: runner, rules: [functionVersionsFinding(runner.resultRecorder)] }] : [],
      ),
  },
  {
    reason:
      "The dispatcher's invoke grant on each Lambda dump worker covers that function's versions and aliases (arn:...:function:name:*), one function per target.",
    on: (root) =>
      all(root, Dispatch).flatMap((dispatch) => {
        const workers = lambdaRunners(root).filter((runner) => Stack.of(runner) === Stack.of(dispatch));
        const rules = workers.flatMap((runner) => [...runner.workers.values()].map(functionVersionsFinding));
        return rules.length > 0 ? [{ construct: dispatch, rules }] : [];
      }),
  },
  {
    reason:
      'Invoked asynchronously with retries off; the failure destination (the run recorder) receives every failed or expired invocation with its payload and error, which is what a dead-letter queue would hold.',
    on: (root) =>
      each(
        lambdaRunners(root)
          .filter((runner) => runner.resultRecorder !== undefined)
          .flatMap((runner) => [...runner.workerFunctions.values()]),
        () => ['NIST.800.53.R5-LambdaDLQ', 'HIPAA.Security-LambdaDLQ', 'Serverless-LambdaDLQ'],
      ),
  },
  {
    reason:
      'Each role has its own AWS::IAM::Policy with statements for that role alone (CDK grants); customer-managed policies would add attachable, shareable surface without narrowing anything.',
    on: (root) =>
      each(
        [
          ...all(root, SnapshotFlow),
          ...all(root, DumpTasks),
          ...all(root, Dispatch),
          ...all(root, RunLedger),
          ...lambdaRunners(root),
          ...all(root, Monitoring).map((m) => m.freshnessFunction),
        ],
        () => ['NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy', 'PCI.DSS.321-IAMNoInlinePolicy'],
      ),
  },
  {
    reason:
      'The functions call only AWS control-plane APIs (RDS, EC2, KMS, STS) and touch no data inside a VPC; placing them in one would add NAT or endpoint cost and no protection.',
    on: (root) =>
      each(all(root, SafekeepFunction), () => [
        'NIST.800.53.R5-LambdaInsideVPC',
        'HIPAA.Security-LambdaInsideVPC',
        'PCI.DSS.321-LambdaInsideVPC',
      ]),
  },
  {
    reason:
      'Invoked synchronously by Step Functions, which catches every failure and records the run as failed; a dead-letter queue only applies to asynchronous invocations.',
    on: (root) =>
      each(all(root, SnapshotFlow).flatMap(snapshotSteps), () => [
        'NIST.800.53.R5-LambdaDLQ',
        'HIPAA.Security-LambdaDLQ',
        'Serverless-LambdaDLQ',
      ]),
  },
  {
    reason:
      "Concurrency is bounded by design (one execution per target run, bounded pools inside each step); reserved concurrency would take capacity from the account's pool, which new accounts cap at 10.",
    on: (root) =>
      each(all(root, SafekeepFunction), () => ['NIST.800.53.R5-LambdaConcurrency', 'HIPAA.Security-LambdaConcurrency']),
  },
  {
    reason:
      'The freshness check is traced (active X-Ray tracing): xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions; its runs-table grants name the table.',
    on: (root) =>
      each(
        all(root, Monitoring).map((m) => m.freshnessFunction),
        () => ['AwsSolutions-IAM5[Resource::*]'],
      ),
  },
  {
    reason:
      'Invoked every 15 minutes by an EventBridge rule: the next invocation supersedes a failed one, and a check that keeps failing leaves SecondsSinceLastGoodBackup missing, which every freshness alarm treats as breaching. A dead-letter queue would only collect stale scheduled events.',
    on: (root) =>
      each(
        all(root, Monitoring).map((m) => m.freshnessFunction),
        () => ['NIST.800.53.R5-LambdaDLQ', 'HIPAA.Security-LambdaDLQ', 'Serverless-LambdaDLQ'],
      ),
  },
  {
    reason:
      "A writer's policy covers its own prefix (_writers/<name>/*) and nothing else: the external application names its own objects, unknown at deploy time.",
    on: (root) =>
      all(root, Writers).flatMap((writers) =>
        [...writers.writers.values()].map(({ policy, prefix }) => ({
          construct: policy,
          rules: [`AwsSolutions-IAM5[Resource::<${bucketLogicalId(writers)}.Arn>/${prefix}*]`],
        })),
      ),
  },
  {
    reason:
      'The secret holds the access key of a staticKeys writer, which the application (Bytebase) reads from a credentials file it cannot refresh: rotating means replacing the AccessKey and the file together (docs/recipes/bytebase.md), not a rotation Lambda behind its back.',
    on: (root) =>
      all(root, Writers).flatMap((writers) =>
        [...writers.writers.values()].flatMap(({ secret }) =>
          secret
            ? [
                {
                  construct: secret,
                  rules: [
                    'AwsSolutions-SMG4',
                    'NIST.800.53.R5-SecretsManagerRotationEnabled',
                    'HIPAA.Security-SecretsManagerRotationEnabled',
                  ],
                },
              ]
            : [],
        ),
      ),
  },
];
