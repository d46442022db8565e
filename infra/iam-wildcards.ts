/**
 * Every exception to "name the resource, name the action" in Safekeep's IAM, in one place, with its reason.
 * test/infra/iam-analysis.test.ts reads this file: a statement on `Resource: "*"` whose action is not listed
 * here, or an action wildcard not listed here, fails it. docs/SECURITY.md points here.
 */

export interface WildcardResource {
  /** Why the action needs `Resource: "*"`. */
  readonly reason: string;
  /** The condition that narrows it, where AWS offers one. */
  readonly condition?: string;
}

/** Actions that have no resource-level permissions in IAM, so a statement granting them names `"*"`. */
export const RESOURCE_WILDCARD_ACTIONS: Readonly<Record<string, WildcardResource>> = {
  'rds:DescribeDBSnapshots': { reason: 'RDS Describe calls filter by request parameters, not by resource ARN' },
  'rds:DescribeDBClusterSnapshots': { reason: 'RDS Describe calls filter by request parameters, not by resource ARN' },
  'rds:DescribeAccountAttributes': { reason: 'an account-wide quota read (the manual snapshot quota)' },
  'ec2:DescribeSnapshots': { reason: 'EC2 Describe calls have no resource-level permissions' },
  'ec2:DescribeVolumes': { reason: 'EC2 Describe calls have no resource-level permissions' },
  'ec2:DescribeInstances': { reason: 'EC2 Describe calls have no resource-level permissions' },
  'servicequotas:GetServiceQuota': {
    reason: "reading the account's Fargate vCPU quota: Service Quotas reads have no resource-level permissions",
  },
  'ecr:GetAuthorizationToken': { reason: 'the registry login token is account-wide; image pulls are scoped to the repository' },
  'xray:PutTraceSegments': { reason: 'X-Ray has no resource-level permissions for sending traces' },
  'xray:PutTelemetryRecords': { reason: 'X-Ray has no resource-level permissions for sending traces' },
  'xray:GetSamplingRules': { reason: 'X-Ray sampling reads have no resource-level permissions (Step Functions tracing)' },
  'xray:GetSamplingTargets': { reason: 'X-Ray sampling reads have no resource-level permissions (Step Functions tracing)' },
  'logs:CreateLogDelivery': { reason: 'Step Functions log delivery: vended-log actions have no resource-level permissions' },
  'logs:GetLogDelivery': { reason: 'Step Functions log delivery: vended-log actions have no resource-level permissions' },
  'logs:UpdateLogDelivery': { reason: 'Step Functions log delivery: vended-log actions have no resource-level permissions' },
  'logs:DeleteLogDelivery': { reason: 'Step Functions log delivery: vended-log actions have no resource-level permissions' },
  'logs:ListLogDeliveries': { reason: 'Step Functions log delivery: vended-log actions have no resource-level permissions' },
  'logs:PutResourcePolicy': { reason: 'Step Functions log delivery writes the log group resource policy (account-level)' },
  'logs:DescribeResourcePolicies': { reason: 'Step Functions log delivery reads the account-level resource policies' },
  'logs:DescribeLogGroups': { reason: 'Step Functions log delivery lists log groups; List/Describe calls are account-wide' },
};

/**
 * Action wildcards allowed in Allow statements: the KMS families CDK grants and CloudWatch Logs' documented key
 * policy use. Each names variants of one operation (GenerateDataKey, ...WithoutPlaintext, ...Pair), never other
 * services' or administrative actions. `kms:*` only for the account root in a key policy (see KEY_POLICY_ROOT).
 */
export const ALLOWED_ACTION_WILDCARDS: Readonly<Record<string, string>> = {
  'kms:GenerateDataKey*': 'GenerateDataKey and its WithoutPlaintext/Pair variants (CDK key grants)',
  'kms:ReEncrypt*': 'ReEncryptFrom and ReEncryptTo (CDK key grants)',
  'kms:Encrypt*': "CloudWatch Logs' documented key policy for encrypted log groups",
  'kms:Decrypt*': "CloudWatch Logs' documented key policy for encrypted log groups",
  'kms:Describe*': "CloudWatch Logs' documented key policy for encrypted log groups",
};

/**
 * In a key policy the account root keeps `kms:*`: AWS's guidance against an unmanageable key (IAM policies stay
 * able to administer it). The artifact key adds denies no IAM policy can override (see ArtifactBucket).
 */
export const KEY_POLICY_ROOT = 'kms:*';

/** AWS managed policies a role may carry, and why writing the statement by hand would add nothing. */
export const ALLOWED_MANAGED_POLICIES: Readonly<Record<string, string>> = {
  'service-role/AWSLambdaVPCAccessExecutionRole':
    'Lambda dump workers in a VPC: Lambda creates their network interfaces with the role (ec2:CreateNetworkInterface and friends)',
};

/**
 * Actions no Safekeep runtime role may hold: they destroy backups, unlock them, or the means to read them.
 * (s3:DeleteObject is not here: in the versioned bucket it only adds a delete marker, and the dump roles of
 * targets with retention hold it on their own prefix to prune; the IAM analysis checks exactly that.)
 */
export const FORBIDDEN_RUNTIME_ACTIONS = [
  's3:DeleteObjectVersion',
  's3:DeleteObjectTagging',
  's3:DeleteObjectVersionTagging',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutLifecycleConfiguration',
  's3:PutBucketVersioning',
  's3:PutObjectRetention',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:PutKeyPolicy',
] as const;
