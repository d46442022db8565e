/**
 * Reads every resource of a deployed stack back through the AWS APIs and compares it with what the
 * synthesized template says, intrinsic functions evaluated (template.ts). Nothing here names a Safekeep
 * resource: the template is the expectation, so a construct that changes changes what is checked.
 *
 * Each resource type has a reader that returns what the APIs say in CloudFormation's own property shape
 * (and the attributes other resources read with Fn::GetAtt). A template property must then be found, equal,
 * in what was read, except the properties listed in UNCHECKED with the reason the APIs (or moto) cannot show
 * them. A type with no reader fails the check: a new resource type needs a reader before it deploys here.
 * Comparisons treat scalars as strings ("1024" and 1024 agree) and JSON text as the JSON it holds; objects
 * read back may hold more keys than the template sets.
 */
import { isDeepStrictEqual } from 'node:util';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  GetGroupCommand,
  GetPolicyCommand as GetManagedPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetFunctionCommand,
  GetFunctionEventInvokeConfigCommand,
  GetLayerVersionCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetScheduleCommand, GetScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetSubscriptionAttributesCommand, GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type CfnTemplate, resolve, type StackFacts } from './template.ts';

export function deployClients(endpoint: string, region: string) {
  const config = { endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 2 };
  return {
    cloudformation: new CloudFormationClient(config),
    cloudwatch: new CloudWatchClient(config),
    logs: new CloudWatchLogsClient(config),
    dynamodb: new DynamoDBClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    events: new EventBridgeClient(config),
    iam: new IAMClient(config),
    kms: new KMSClient(config),
    lambda: new LambdaClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    scheduler: new SchedulerClient(config),
    secretsmanager: new SecretsManagerClient(config),
    sfn: new SFNClient(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
    ssm: new SSMClient(config),
  };
}
export type DeployClients = ReturnType<typeof deployClients>;

/** What one reader found: the resource as CloudFormation properties, and its Fn::GetAtt attributes. */
interface Read {
  readonly properties: Record<string, unknown>;
  readonly attributes?: Record<string, unknown>;
  /** Wiring problems beyond property equality (a Lambda ARN in a state machine that resolves to nothing). */
  readonly problems?: string[];
}

interface ReaderInput {
  readonly physicalId: string;
  /** The resource's template properties, evaluated (in phase 1 possibly empty: attributes are read then). */
  readonly properties: Record<string, unknown>;
  readonly clients: DeployClients;
  readonly facts: StackFacts;
}

interface Reader {
  /** 1: needs only physical ids; 2: needs other resources' attributes to find this one. */
  readonly phase: 1 | 2;
  read(input: ReaderInput): Promise<Read>;
}

/** Template properties no API shows back (or moto does not store), each with why; they are not compared. */
export const UNCHECKED: Record<string, Record<string, string>> = {
  '*': { Tags: 'tags are not wiring; compliance tests read them from the template' },
  'AWS::KMS::Key': { KeySpec: 'moto returns it under another name' },
  'AWS::SSM::Parameter': { Description: 'GetParameter does not return it' },
  'AWS::CloudWatch::Dashboard': { DashboardName: 'the physical id is the name' },
  'AWS::Lambda::Function': {
    Code: 'the asset itself; S3 holds it, GetFunction returns only a presigned location',
    LoggingConfig: 'moto does not store it (the log group wiring is checked on AWS::Logs::LogGroup)',
    DeadLetterConfig: "moto's Lambda has no dead-letter config; the queue and its alarm are checked",
  },
  'AWS::Lambda::LayerVersion': { Content: 'the asset itself; the deploy test seeds it' },
  'AWS::ECS::Cluster': { ClusterSettings: 'moto does not store container insights settings' },
  'AWS::EC2::SecurityGroup': {
    SecurityGroupEgress:
      "moto's CloudFormation drops inline egress rules (the drill group's HTTPS-only egress is asserted on the template in test/infra/constructs/drill-tasks.test.ts)",
  },
  'AWS::ECS::TaskDefinition': { Volumes: 'moto does not return them the way CloudFormation sets them' },
  'AWS::StepFunctions::StateMachine': {
    LoggingConfiguration: 'moto does not store it',
    TracingConfiguration: 'moto does not store it',
  },
  'AWS::SQS::Queue': { SqsManagedSseEnabled: 'moto does not store it' },
  'AWS::SecretsManager::Secret': {
    SecretString:
      "it embeds an access key's secret (Fn::GetAtt SecretAccessKey), which no API returns; the reader checks the key ids instead",
  },
};

/** Resource types the test does not look for, with why. */
export const NOT_DEPLOYED: Record<string, string> = {
  'AWS::CDK::Metadata': 'CDK analytics; a condition keeps it out of most regions and it creates nothing',
};

const pascal = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);
/** ECS answers in camelCase; CloudFormation speaks PascalCase (but log options and labels keep their keys). */
function pascalKeys(value: unknown, keep = false): unknown {
  if (Array.isArray(value)) return value.map((item) => pascalKeys(item, keep));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      keep ? key : pascal(key),
      pascalKeys(item, ['options', 'dockerLabels'].includes(key)),
    ]),
  );
}

const json = (text: string | undefined) => (text ? JSON.parse(decodeURIComponent(text)) : undefined);
const arnPattern = /arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+/g;

const READERS: Record<string, Reader> = {
  'AWS::Scheduler::ScheduleGroup': {
    phase: 1,
    async read({ physicalId, clients }) {
      const group = await clients.scheduler.send(new GetScheduleGroupCommand({ Name: physicalId }));
      return { properties: { Name: group.Name }, attributes: { Arn: group.Arn } };
    },
  },
  'AWS::Scheduler::Schedule': {
    phase: 2,
    async read({ physicalId, properties, clients }) {
      const s = await clients.scheduler.send(
        new GetScheduleCommand({ Name: physicalId, GroupName: String(properties.GroupName) }),
      );
      return {
        properties: {
          Name: s.Name,
          GroupName: s.GroupName,
          Description: s.Description,
          ScheduleExpression: s.ScheduleExpression,
          ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
          State: s.State,
          FlexibleTimeWindow: s.FlexibleTimeWindow,
          Target: s.Target,
        },
        attributes: { Arn: s.Arn },
      };
    },
  },
  'AWS::Lambda::Function': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { Configuration: c } = await clients.lambda.send(new GetFunctionCommand({ FunctionName: physicalId }));
      return {
        properties: {
          FunctionName: c?.FunctionName,
          Description: c?.Description,
          Handler: c?.Handler,
          Runtime: c?.Runtime,
          Role: c?.Role,
          Timeout: c?.Timeout,
          MemorySize: c?.MemorySize,
          Architectures: c?.Architectures,
          Environment: c?.Environment,
          Layers: c?.Layers?.map((layer) => layer.Arn),
          VpcConfig: c?.VpcConfig,
          DeadLetterConfig: c?.DeadLetterConfig,
          TracingConfig: c?.TracingConfig,
          KmsKeyArn: c?.KMSKeyArn,
        },
        attributes: { Arn: c?.FunctionArn },
      };
    },
  },
  'AWS::Lambda::Permission': {
    phase: 2,
    async read({ properties, clients }) {
      const policy = json(
        (await clients.lambda.send(new GetPolicyCommand({ FunctionName: String(properties.FunctionName) }))).Policy,
      ) as { Statement: Record<string, any>[] };
      const found = policy.Statement.find(
        (s) =>
          (s.Principal?.Service ?? s.Principal) === properties.Principal &&
          (properties.SourceArn === undefined || s.Condition?.ArnLike?.['AWS:SourceArn'] === properties.SourceArn),
      );
      if (!found) return { properties: {}, problems: [`no statement for ${properties.Principal} in the function's policy`] };
      return {
        properties: {
          Action: found.Action,
          FunctionName: properties.FunctionName,
          Principal: found.Principal?.Service ?? found.Principal,
          SourceArn: found.Condition?.ArnLike?.['AWS:SourceArn'],
          SourceAccount: found.Condition?.StringEquals?.['AWS:SourceAccount'],
        },
      };
    },
  },
  'AWS::Lambda::LayerVersion': {
    phase: 1,
    async read({ physicalId, clients }) {
      // arn:aws:lambda:<region>:<account>:layer:<name>:<version> (moto has no GetLayerVersionByArn)
      const [, , , , , , LayerName, version] = physicalId.split(':');
      const layer = await clients.lambda.send(new GetLayerVersionCommand({ LayerName, VersionNumber: Number(version) }));
      return {
        properties: {
          Description: layer.Description,
          CompatibleRuntimes: layer.CompatibleRuntimes,
          CompatibleArchitectures: layer.CompatibleArchitectures,
        },
      };
    },
  },
  'AWS::Lambda::EventInvokeConfig': {
    phase: 2,
    async read({ properties, clients }) {
      const config = await clients.lambda.send(
        new GetFunctionEventInvokeConfigCommand({ FunctionName: String(properties.FunctionName) }),
      );
      return {
        properties: {
          FunctionName: properties.FunctionName,
          Qualifier: properties.Qualifier,
          MaximumRetryAttempts: config.MaximumRetryAttempts,
          MaximumEventAgeInSeconds: config.MaximumEventAgeInSeconds,
          DestinationConfig: config.DestinationConfig,
        },
      };
    },
  },
  'AWS::StepFunctions::StateMachine': {
    phase: 1,
    async read({ physicalId, clients }) {
      const machine = await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: physicalId }));
      const problems: string[] = [];
      // Every Lambda function the definition names must exist: a state machine wired to nothing fails at run time.
      for (const arn of new Set(machine.definition?.match(arnPattern) ?? [])) {
        try {
          await clients.lambda.send(new GetFunctionCommand({ FunctionName: arn }));
        } catch (error) {
          problems.push(`the definition names ${arn}, which does not resolve (${(error as Error).name})`);
        }
      }
      return {
        properties: { DefinitionString: machine.definition, RoleArn: machine.roleArn, StateMachineType: machine.type },
        attributes: { Arn: machine.stateMachineArn, Name: machine.name },
        problems,
      };
    },
  },
  'AWS::S3::Bucket': {
    phase: 1,
    async read({ physicalId: Bucket, clients: { s3 } }) {
      const optional = async <T>(call: () => Promise<T>) => {
        try {
          return await call();
        } catch {
          return undefined;
        }
      };
      const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket }));
      const encryption = await optional(() => s3.send(new GetBucketEncryptionCommand({ Bucket })));
      const block = await optional(() => s3.send(new GetPublicAccessBlockCommand({ Bucket })));
      const logging = await s3.send(new GetBucketLoggingCommand({ Bucket }));
      const lifecycle = await optional(() => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })));
      const ownership = await optional(() => s3.send(new GetBucketOwnershipControlsCommand({ Bucket })));
      const lock = await optional(() => s3.send(new GetObjectLockConfigurationCommand({ Bucket })));
      const retention = lock?.ObjectLockConfiguration?.Rule?.DefaultRetention;
      return {
        properties: {
          BucketName: Bucket,
          VersioningConfiguration: versioning.Status ? { Status: versioning.Status } : undefined,
          BucketEncryption: encryption?.ServerSideEncryptionConfiguration && {
            ServerSideEncryptionConfiguration: encryption.ServerSideEncryptionConfiguration.Rules?.map((rule) => ({
              ServerSideEncryptionByDefault: rule.ApplyServerSideEncryptionByDefault,
              BucketKeyEnabled: rule.BucketKeyEnabled,
            })),
          },
          PublicAccessBlockConfiguration: block?.PublicAccessBlockConfiguration,
          LoggingConfiguration: logging.LoggingEnabled && {
            DestinationBucketName: logging.LoggingEnabled.TargetBucket,
            LogFilePrefix: logging.LoggingEnabled.TargetPrefix,
          },
          LifecycleConfiguration: lifecycle?.Rules && {
            Rules: lifecycle.Rules.map((rule) => ({
              Id: rule.ID,
              Status: rule.Status,
              ExpirationInDays: rule.Expiration?.Days,
              ExpiredObjectDeleteMarker: rule.Expiration?.ExpiredObjectDeleteMarker,
              NoncurrentVersionExpiration: rule.NoncurrentVersionExpiration,
              Transitions: rule.Transitions?.map((t) => ({ StorageClass: t.StorageClass, TransitionInDays: t.Days })),
              AbortIncompleteMultipartUpload: rule.AbortIncompleteMultipartUpload,
            })),
          },
          OwnershipControls: ownership?.OwnershipControls,
          ObjectLockEnabled: lock?.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled' || undefined,
          ObjectLockConfiguration: lock?.ObjectLockConfiguration && {
            ObjectLockEnabled: lock.ObjectLockConfiguration.ObjectLockEnabled,
            Rule: retention && { DefaultRetention: retention },
          },
        },
        attributes: { Arn: `arn:aws:s3:::${Bucket}`, DomainName: `${Bucket}.s3.amazonaws.com` },
      };
    },
  },
  'AWS::S3::BucketPolicy': {
    phase: 2,
    async read({ properties, clients }) {
      const policy = await clients.s3.send(new GetBucketPolicyCommand({ Bucket: String(properties.Bucket) }));
      return { properties: { Bucket: properties.Bucket, PolicyDocument: json(policy.Policy) } };
    },
  },
  'AWS::EC2::SecurityGroup': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { SecurityGroups } = await clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [physicalId] }));
      const group = SecurityGroups?.[0];
      // EC2 answers with one permission per port range holding its CIDRs; CloudFormation writes one rule per CIDR.
      const egress = (group?.IpPermissionsEgress ?? []).flatMap((permission) =>
        (permission.IpRanges ?? []).map((range) => ({
          IpProtocol: permission.IpProtocol,
          FromPort: permission.FromPort,
          ToPort: permission.ToPort,
          CidrIp: range.CidrIp,
          ...(range.Description ? { Description: range.Description } : {}),
        })),
      );
      const ingress = group?.IpPermissions ?? [];
      return {
        properties: {
          GroupDescription: group?.Description,
          VpcId: group?.VpcId,
          SecurityGroupEgress: egress,
          ...(ingress.length > 0 ? { SecurityGroupIngress: ingress } : {}),
        },
        attributes: { GroupId: group?.GroupId, VpcId: group?.VpcId },
      };
    },
  },
  'AWS::ECS::Cluster': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { clusters } = await clients.ecs.send(new DescribeClustersCommand({ clusters: [physicalId] }));
      const cluster = clusters?.[0];
      return { properties: { ClusterName: cluster?.clusterName }, attributes: { Arn: cluster?.clusterArn } };
    },
  },
  'AWS::ECS::TaskDefinition': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { taskDefinition } = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: physicalId }));
      const properties = pascalKeys(taskDefinition) as Record<string, unknown>;
      return { properties, attributes: { TaskDefinitionArn: taskDefinition?.taskDefinitionArn } };
    },
  },
  'AWS::CloudWatch::Alarm': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { MetricAlarms } = await clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [physicalId] }));
      const alarm = MetricAlarms?.[0];
      if (!alarm) throw new Error(`no alarm named ${physicalId}`);
      const problems: string[] = [];
      // An alarm that notifies a topic nobody created notifies nobody.
      for (const topic of new Set([...(alarm.AlarmActions ?? []), ...(alarm.OKActions ?? [])])) {
        try {
          await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: topic }));
        } catch (error) {
          problems.push(`its action ${topic} is no topic (${(error as Error).name})`);
        }
      }
      const { AlarmArn, StateValue, StateReason, StateReasonData, StateUpdatedTimestamp, ...rest } = alarm;
      return { properties: { ...rest, Threshold: alarm.Threshold }, attributes: { Arn: AlarmArn }, problems };
    },
  },
  'AWS::CloudWatch::Dashboard': {
    phase: 1,
    async read({ physicalId, clients }) {
      const dashboard = await clients.cloudwatch.send(new GetDashboardCommand({ DashboardName: physicalId }));
      return { properties: { DashboardBody: dashboard.DashboardBody } };
    },
  },
  'AWS::SNS::Topic': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { Attributes: a } = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: physicalId }));
      return {
        properties: { DisplayName: a?.DisplayName, KmsMasterKeyId: a?.KmsMasterKeyId, TopicName: a?.TopicArn?.split(':').pop() },
        attributes: { TopicArn: a?.TopicArn, TopicName: a?.TopicArn?.split(':').pop() },
      };
    },
  },
  'AWS::SNS::Subscription': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { Attributes: a } = await clients.sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: physicalId }));
      return {
        properties: {
          TopicArn: a?.TopicArn,
          Protocol: a?.Protocol,
          Endpoint: a?.Endpoint,
          RedrivePolicy: json(a?.RedrivePolicy),
        },
      };
    },
  },
  'AWS::SNS::TopicPolicy': {
    phase: 2,
    async read({ properties, clients }) {
      const topics = properties.Topics as string[];
      const policies = await Promise.all(
        topics.map(async (TopicArn) =>
          json((await clients.sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes?.Policy),
        ),
      );
      const problems = policies.slice(1).flatMap((p, i) => (isDeepStrictEqual(p, policies[0]) ? [] : [`topic ${topics[i + 1]}`]));
      return { properties: { Topics: topics, PolicyDocument: policies[0] }, problems };
    },
  },
  'AWS::SQS::Queue': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { Attributes: a = {} } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: physicalId, AttributeNames: ['All'] }),
      );
      return {
        properties: {
          KmsMasterKeyId: a.KmsMasterKeyId,
          MessageRetentionPeriod: a.MessageRetentionPeriod,
          VisibilityTimeout: a.VisibilityTimeout,
          RedrivePolicy: json(a.RedrivePolicy),
          FifoQueue: a.FifoQueue,
        },
        attributes: { Arn: a.QueueArn, QueueName: a.QueueArn?.split(':').pop(), QueueUrl: physicalId },
      };
    },
  },
  'AWS::SQS::QueuePolicy': {
    phase: 2,
    async read({ properties, clients }) {
      const queues = properties.Queues as string[];
      const policies = await Promise.all(
        queues.map(async (QueueUrl) =>
          json(
            (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }))).Attributes?.Policy,
          ),
        ),
      );
      const problems = policies.slice(1).flatMap((p, i) => (isDeepStrictEqual(p, policies[0]) ? [] : [`queue ${queues[i + 1]}`]));
      return { properties: { Queues: queues, PolicyDocument: policies[0] }, problems };
    },
  },
  'AWS::DynamoDB::Table': { phase: 1, read: (input) => readTable(input, false) },
  'AWS::DynamoDB::GlobalTable': { phase: 1, read: (input) => readTable(input, true) },
  'AWS::KMS::Key': {
    phase: 1,
    async read({ physicalId: KeyId, clients: { kms } }) {
      const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId }));
      const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
      const policy = await kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }));
      return {
        properties: {
          Description: key?.Description,
          Enabled: key?.Enabled,
          KeyUsage: key?.KeyUsage,
          EnableKeyRotation: rotation.KeyRotationEnabled,
          KeyPolicy: json(policy.Policy),
          MultiRegion: key?.MultiRegion,
        },
        attributes: { Arn: key?.Arn, KeyId: key?.KeyId },
      };
    },
  },
  'AWS::IAM::Role': {
    phase: 1,
    async read({ physicalId: RoleName, clients: { iam } }) {
      const { Role: role } = await iam.send(new GetRoleCommand({ RoleName }));
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName }));
      const inline = await iam.send(new ListRolePoliciesCommand({ RoleName }));
      const policies = await Promise.all(
        (inline.PolicyNames ?? []).map(async (PolicyName) => ({
          PolicyName,
          PolicyDocument: json((await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }))).PolicyDocument),
        })),
      );
      return {
        properties: {
          RoleName,
          AssumeRolePolicyDocument: json(role?.AssumeRolePolicyDocument),
          Description: role?.Description,
          Path: role?.Path,
          MaxSessionDuration: role?.MaxSessionDuration,
          ManagedPolicyArns: attached.AttachedPolicies?.map((p) => p.PolicyArn),
          Policies: policies,
        },
        attributes: { Arn: role?.Arn, RoleId: role?.RoleId },
      };
    },
  },
  'AWS::IAM::ManagedPolicy': {
    phase: 2,
    async read({ physicalId: PolicyArn, clients: { iam } }) {
      const { Policy: policy } = await iam.send(new GetManagedPolicyCommand({ PolicyArn }));
      const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn, VersionId: policy?.DefaultVersionId }));
      const entities = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn }));
      return {
        properties: {
          Description: policy?.Description,
          Path: policy?.Path,
          PolicyDocument: json(version.PolicyVersion?.Document),
          Roles: entities.PolicyRoles?.map((r) => r.RoleName),
        },
      };
    },
  },
  'AWS::IAM::Policy': {
    phase: 2,
    async read({ properties, clients: { iam } }) {
      const roles = properties.Roles as string[];
      const documents = await Promise.all(
        roles.map(async (RoleName) =>
          json(
            (await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: String(properties.PolicyName) }))).PolicyDocument,
          ),
        ),
      );
      const problems = documents.slice(1).flatMap((d, i) => (isDeepStrictEqual(d, documents[0]) ? [] : [`role ${roles[i + 1]}`]));
      return { properties: { PolicyName: properties.PolicyName, Roles: roles, PolicyDocument: documents[0] }, problems };
    },
  },
  'AWS::IAM::Group': {
    phase: 1,
    async read({ physicalId: GroupName, clients: { iam } }) {
      const { Group: group } = await iam.send(new GetGroupCommand({ GroupName }));
      const attached = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName }));
      return {
        properties: { GroupName, Path: group?.Path, ManagedPolicyArns: attached.AttachedPolicies?.map((p) => p.PolicyArn) },
        attributes: { Arn: group?.Arn },
      };
    },
  },
  'AWS::IAM::User': {
    phase: 1,
    async read({ physicalId: UserName, clients: { iam } }) {
      const { User: user } = await iam.send(new GetUserCommand({ UserName }));
      const { Groups } = await iam.send(new ListGroupsForUserCommand({ UserName }));
      return {
        properties: { UserName, Path: user?.Path, Groups: Groups?.map((g) => g.GroupName) },
        attributes: { Arn: user?.Arn },
      };
    },
  },
  'AWS::IAM::AccessKey': {
    phase: 2,
    async read({ physicalId, properties, clients: { iam } }) {
      const UserName = String(properties.UserName);
      const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName }));
      const key = AccessKeyMetadata?.find((k) => k.AccessKeyId === physicalId);
      if (!key) throw new Error(`user ${UserName} has no access key ${physicalId}`);
      return { properties: { UserName: key.UserName, Status: key.Status } };
    },
  },
  'AWS::SecretsManager::Secret': {
    // Phase 1: its SecretString reads an attribute no API returns (the access key's secret).
    phase: 1,
    async read({ physicalId: SecretId, clients: { secretsmanager }, facts }) {
      const secret = await secretsmanager.send(new DescribeSecretCommand({ SecretId }));
      const { SecretString } = await secretsmanager.send(new GetSecretValueCommand({ SecretId }));
      // Every access key id of the stack that the secret's text names must be one the stack created.
      const named = [...(SecretString ?? '').matchAll(/AKIA[A-Z0-9]{12,}/g)].map((m) => m[0]);
      const created = new Set(facts.physicalIds.values());
      const problems = named.filter((id) => !created.has(id)).map((id) => `its value names access key ${id}, not the stack's`);
      return {
        properties: { Name: secret.Name, Description: secret.Description, KmsKeyId: secret.KmsKeyId },
        attributes: { Id: secret.ARN },
        problems,
      };
    },
  },
  'AWS::Events::Rule': {
    phase: 1,
    async read({ physicalId: Name, clients: { events } }) {
      const rule = await events.send(new DescribeRuleCommand({ Name }));
      const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: Name }));
      return {
        properties: {
          Description: rule.Description,
          EventPattern: rule.EventPattern,
          ScheduleExpression: rule.ScheduleExpression,
          State: rule.State,
          Targets,
        },
        attributes: { Arn: rule.Arn },
      };
    },
  },
  'AWS::Logs::LogGroup': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { logGroups } = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: physicalId }));
      const group = logGroups?.find((g) => g.logGroupName === physicalId);
      if (!group) throw new Error(`no log group ${physicalId}`);
      return {
        properties: { LogGroupName: group.logGroupName, RetentionInDays: group.retentionInDays, KmsKeyId: group.kmsKeyId },
        attributes: { Arn: group.arn },
      };
    },
  },
  'AWS::SSM::Parameter': {
    phase: 1,
    async read({ physicalId, clients }) {
      const { Parameter: p } = await clients.ssm.send(new GetParameterCommand({ Name: physicalId }));
      return { properties: { Name: p?.Name, Type: p?.Type, Value: p?.Value }, attributes: { Type: p?.Type, Value: p?.Value } };
    },
  },
};

async function readTable({ physicalId: TableName, clients: { dynamodb } }: ReaderInput, global: boolean): Promise<Read> {
  const { Table: t } = await dynamodb.send(new DescribeTableCommand({ TableName }));
  const backups = await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName }));
  const pitr = {
    PointInTimeRecoveryEnabled:
      backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED',
  };
  const sse = t?.SSEDescription && {
    SSEEnabled: t.SSEDescription.Status === 'ENABLED',
    SSEType: t.SSEDescription.SSEType,
    KMSMasterKeyId: t.SSEDescription.KMSMasterKeyArn,
  };
  const common = {
    TableName: t?.TableName,
    KeySchema: t?.KeySchema,
    AttributeDefinitions: t?.AttributeDefinitions,
    BillingMode: t?.BillingModeSummary?.BillingMode ?? 'PROVISIONED',
    StreamSpecification: t?.StreamSpecification,
  };
  const properties = global
    ? {
        ...common,
        SSESpecification: sse && { SSEEnabled: sse.SSEEnabled, SSEType: sse.SSEType },
        Replicas: [
          {
            Region: t?.TableArn?.split(':')[3],
            DeletionProtectionEnabled: t?.DeletionProtectionEnabled,
            PointInTimeRecoverySpecification: pitr,
            SSESpecification: sse?.KMSMasterKeyId ? { KMSMasterKeyId: sse.KMSMasterKeyId } : undefined,
          },
        ],
      }
    : {
        ...common,
        DeletionProtectionEnabled: t?.DeletionProtectionEnabled,
        SSESpecification: sse,
        PointInTimeRecoverySpecification: pitr,
      };
  return { properties, attributes: { Arn: t?.TableArn, StreamArn: t?.LatestStreamArn, TableId: t?.TableId } };
}

function tryResolve(value: unknown, facts: StackFacts): unknown {
  try {
    return resolve(value, facts);
  } catch {
    return {};
  }
}

/** Scalars as strings, JSON text as JSON, so "1024" and 1024 agree and policy text compares as policy. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
      try {
        return normalize(JSON.parse(trimmed));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => [key, normalize(item)]),
  );
}

/** Where `actual` differs from `expected` (every key of expected must be in actual; actual may hold more). */
function differences(expected: unknown, actual: unknown, path: string): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: template ${JSON.stringify(expected)}, deployed ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((item, i) => differences(item, actual[i], `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${path}: template ${JSON.stringify(expected)}, deployed ${JSON.stringify(actual)}`];
    }
    return Object.entries(expected).flatMap(([key, item]) =>
      differences(item, (actual as Record<string, unknown>)[key], `${path}.${key}`),
    );
  }
  return isDeepStrictEqual(expected, actual)
    ? []
    : [`${path}: template ${JSON.stringify(expected)}, deployed ${JSON.stringify(actual)}`];
}

export interface WiringReport {
  /** Resources read back and compared, per type. */
  readonly checked: Record<string, number>;
  /** Template properties compared, per type (how much each count above stands for). */
  readonly propertiesCompared: Record<string, number>;
  /** One line per difference or failed read; empty when the stack is as the template says. */
  readonly problems: string[];
  readonly facts: StackFacts;
}

/** Reads the deployed `stackName` back and compares it with `template`. */
export async function checkWiring(
  template: CfnTemplate,
  stackName: string,
  clients: DeployClients,
  env: { account: string; region: string },
): Promise<WiringReport> {
  const physicalIds = new Map<string, string>();
  const created = new Set<string>();
  const stackId = '';
  let NextToken: string | undefined;
  do {
    const page = await clients.cloudformation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId) created.add(r.LogicalResourceId);
      if (r.LogicalResourceId && r.PhysicalResourceId) physicalIds.set(r.LogicalResourceId, r.PhysicalResourceId);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  const attributes = new Map<string, Record<string, unknown>>();
  const facts: StackFacts = { ...env, stackName, stackId, physicalIds, attributes };
  const problems: string[] = [];
  const checked: Record<string, number> = {};
  const propertiesCompared: Record<string, number> = {};
  const reads = new Map<string, Read>();
  const resources = Object.entries(template.Resources).filter(([, r]) => !(r.Type in NOT_DEPLOYED));

  for (const [logicalId, resource] of resources) {
    // Some resources have no physical id of their own in moto (a Lambda permission): found by their properties.
    if (created.has(logicalId) && !physicalIds.has(logicalId)) physicalIds.set(logicalId, '');
    if (!READERS[resource.Type])
      problems.push(`${logicalId} (${resource.Type}): no reader for this type in test/support/deploy/wiring.ts`);
    else if (!physicalIds.has(logicalId)) problems.push(`${logicalId} (${resource.Type}): the stack did not create it`);
  }
  for (const phase of [1, 2] as const) {
    const batch = resources.filter(([id, r]) => READERS[r.Type]?.phase === phase && physicalIds.has(id));
    await Promise.all(
      batch.map(async ([logicalId, resource]) => {
        const reader = READERS[resource.Type] as Reader;
        try {
          // Phase 1 readers need only their physical id; their properties may read attributes not known yet.
          const properties = (phase === 1 ? tryResolve : resolve)(resource.Properties ?? {}, facts) as Record<string, unknown>;
          const read = await reader.read({ physicalId: physicalIds.get(logicalId) as string, properties, clients, facts });
          reads.set(logicalId, read);
          attributes.set(logicalId, read.attributes ?? {});
        } catch (error) {
          problems.push(
            `${logicalId} (${resource.Type}): could not be read back: ${(error as Error).name}: ${(error as Error).message}`,
          );
        }
      }),
    );
  }

  for (const [logicalId, resource] of resources) {
    const read = reads.get(logicalId);
    if (!read) continue;
    const skip = { ...UNCHECKED['*'], ...UNCHECKED[resource.Type] };
    let expected: Record<string, unknown>;
    try {
      // An unchecked property is not evaluated either: it may read an attribute no API returns.
      const checkedProperties = Object.entries(resource.Properties ?? {}).filter(([key]) => !(key in skip));
      expected = resolve(Object.fromEntries(checkedProperties), facts) as Record<string, unknown>;
    } catch (error) {
      problems.push(`${logicalId} (${resource.Type}): ${(error as Error).message}`);
      continue;
    }
    const compared = Object.keys(expected).filter((key) => !(key in skip));
    const found = compared.flatMap((key) =>
      differences(normalize(expected[key]), normalize(read.properties[key]), `${logicalId}.${key}`),
    );
    problems.push(...found.map((line) => `${line} (${resource.Type})`));
    problems.push(...(read.problems ?? []).map((line) => `${logicalId} (${resource.Type}): ${line}`));
    checked[resource.Type] = (checked[resource.Type] ?? 0) + 1;
    propertiesCompared[resource.Type] = (propertiesCompared[resource.Type] ?? 0) + compared.length;
  }
  return { checked, propertiesCompared, problems, facts };
}

/**
 * After `cdk destroy`: which resources the template retains (DeletionPolicy Retain) can still be read back,
 * and which cannot. `facts` are the ones `checkWiring` gathered while the stack existed.
 */
export async function retainedAfterDestroy(
  template: CfnTemplate,
  facts: StackFacts,
  clients: DeployClients,
): Promise<{ retained: string[]; missing: string[] }> {
  const retained: string[] = [];
  const missing: string[] = [];
  const kept = Object.entries(template.Resources).filter(([id, r]) => r.DeletionPolicy === 'Retain' && facts.physicalIds.has(id));
  await Promise.all(
    kept.map(async ([logicalId, resource]) => {
      const reader = READERS[resource.Type];
      const label = `${logicalId} (${resource.Type})`;
      try {
        if (!reader) throw new Error('no reader');
        const properties = tryResolve(resource.Properties ?? {}, facts) as Record<string, unknown>;
        await reader.read({ physicalId: facts.physicalIds.get(logicalId) as string, properties, clients, facts });
        retained.push(label);
      } catch {
        missing.push(label);
      }
    }),
  );
  return { retained: retained.sort(), missing: missing.sort() };
}
