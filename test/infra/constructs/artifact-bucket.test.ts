import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { ArtifactBucket, type ArtifactBucketProps } from '#infra/constructs/artifact-bucket.ts';
import { policyStatements } from '#test/support/cdk.ts';
import { denies, resolveCfn } from '#test/support/iam.ts';

function build(props: ArtifactBucketProps = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const artifacts = new ArtifactBucket(stack, 'Artifacts', props);
  return { stack, artifacts, template: () => Template.fromStack(stack) };
}

const artifactBucket = (template: Template) => {
  const buckets = template.findResources('AWS::S3::Bucket', {
    Properties: { VersioningConfiguration: Match.anyValue(), LoggingConfiguration: Match.anyValue() },
  });
  const [entry] = Object.entries(buckets);
  if (!entry) throw new Error('no artifact bucket');
  return {
    id: entry[0],
    resource: entry[1] as { Properties: Record<string, any>; DeletionPolicy: string; UpdateReplacePolicy: string },
  };
};

describe('ArtifactBucket', () => {
  it('is versioned', () => {
    const { resource } = artifactBucket(build().template());
    expect(resource.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it('encrypts with its own customer-managed KMS key, rotation on and an S3 bucket key', () => {
    const template = build().template();
    const { resource } = artifactBucket(template);
    const [rule] = resource.Properties.BucketEncryption.ServerSideEncryptionConfiguration;
    expect(rule.BucketKeyEnabled).toBe(true);
    expect(rule.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    expect(rule.ServerSideEncryptionByDefault.KMSMasterKeyID).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
  });

  it('blocks all public access', () => {
    const { resource } = artifactBucket(build().template());
    expect(resource.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('denies requests without TLS, and TLS older than 1.2', () => {
    const template = build().template();
    const { id } = artifactBucket(template);
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: id } } }));
    const statements = policies.flatMap((p) => (p as any).Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
    );
  });

  it('logs access to a separate log bucket', () => {
    const template = build().template();
    const { id, resource } = artifactBucket(template);
    const logBucketRef = resource.Properties.LoggingConfiguration.DestinationBucketName.Ref;
    expect(logBucketRef).toBeDefined();
    expect(logBucketRef).not.toBe(id);
    template.hasResource('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } });
    expect(template.toJSON().Resources[logBucketRef].Properties.PublicAccessBlockConfiguration.BlockPublicAcls).toBe(true);
  });

  it('aborts incomplete multipart uploads after 1 day and expires noncurrent versions after the configured period', () => {
    const { resource } = artifactBucket(build({ noncurrentVersionExpiration: Duration.days(45) }).template());
    const rules = resource.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 45 }, Status: 'Enabled' }),
    );
  });

  it('expires noncurrent versions after 90 days by default and has no transition unless asked', () => {
    const { resource } = artifactBucket(build().template());
    const rules = resource.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }));
    expect(rules.some((r: any) => r.Transitions)).toBe(false);
  });

  it('optionally transitions to a colder storage class', () => {
    const { resource } = artifactBucket(
      build({ transition: { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, after: Duration.days(30) } }).template(),
    );
    expect(resource.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] }),
    );
  });

  it('has no Object Lock unless chosen at creation', () => {
    const { resource } = artifactBucket(build().template());
    expect(resource.Properties.ObjectLockEnabled).toBeUndefined();
    expect(resource.Properties.ObjectLockConfiguration).toBeUndefined();
  });

  it.each([
    ['governance', 'GOVERNANCE'],
    ['compliance', 'COMPLIANCE'],
  ] as const)('enables Object Lock in %s mode with a default retention', (mode, expected) => {
    const { resource } = artifactBucket(build({ objectLock: { mode, retention: Duration.days(30) } }).template());
    expect(resource.Properties.ObjectLockEnabled).toBe(true);
    expect(resource.Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: expected, Days: 30 } },
    });
  });

  it('is retained when the stack is deleted, and so are its key and log bucket', () => {
    const template = build().template();
    const { resource } = artifactBucket(template);
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) expect(bucket.DeletionPolicy).toBe('Retain');
    // No auto-delete custom resource, which would need s3:DeleteObject*.
    expect(Object.keys(template.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(0);
  });

  describe('grantWriteOnly', () => {
    function grantedPolicy(target: string) {
      const { stack, artifacts } = build();
      const role = new iam.Role(stack, 'DumpRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      artifacts.grantWriteOnly(role, target);
      return {
        template: Template.fromStack(stack),
        statements: policyStatements(Template.fromStack(stack)).map((s) => s.statement),
      };
    }

    it("lets a dump role put objects under its target's prefix and nothing else in S3", () => {
      const { template, statements } = grantedPolicy('orders-db');
      const s3Statements = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
      expect(s3Statements).toHaveLength(1);
      expect(s3Statements[0]).toMatchObject({
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      });
      const bucketId = artifactBucket(template).id;
      expect(s3Statements[0]?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/orders-db/*']] });
    });

    it('lets it use the key only through S3, for this bucket', () => {
      const { statements } = grantedPolicy('orders-db');
      const kmsStatement = statements.find((s) => JSON.stringify(s.Action).includes('kms:'));
      expect(kmsStatement?.Action).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
      expect(kmsStatement?.Condition).toMatchObject({
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': expect.anything() },
      });
    });

    it.each(['../other', 'a/b', 'UPPER', ''])('refuses a prefix that is not a target name: %j', (target) => {
      const { stack, artifacts } = build();
      const role = new iam.Role(stack, 'DumpRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      expect(() => artifacts.grantWriteOnly(role, target)).toThrow(/not a target name/);
    });
  });
});

describe('ArtifactBucket policies hold against our own roles', () => {
  const BREAK_GLASS = 'arn:aws:iam::123456789012:role/break-glass';
  const DUMP_ROLE = 'arn:aws:iam::123456789012:role/Safekeep-dump-orders';
  const BUCKET = 'arn:aws:s3:::artifacts';
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/artifacts';

  function policies(props: ArtifactBucketProps = {}) {
    const template = build(props).template();
    const bucketId = artifactBucket(template).id;
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0] as string;
    const values = { 'AWS::Partition': 'aws', [`${bucketId}.Arn`]: BUCKET, [bucketId]: 'artifacts', [`${keyId}.Arn`]: KEY };
    const bucketPolicy = Object.values(
      template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } }),
    );
    const bucket = bucketPolicy.flatMap((p) => resolveCfn((p as any).Properties.PolicyDocument.Statement, values) as any[]);
    const key = resolveCfn(
      (template.findResources('AWS::KMS::Key')[keyId] as any).Properties.KeyPolicy.Statement,
      values,
    ) as any[];
    return { bucket, key };
  }
  const put = (key: string, context: Record<string, string> = {}, principalArn = DUMP_ROLE) => ({
    action: 's3:PutObject',
    resource: `${BUCKET}/${key}`,
    principalArn,
    context: { 'aws:SecureTransport': 'true', ...context },
  });

  it('lets writes through that use the bucket default, or name the artifact key', () => {
    const { bucket } = policies();
    expect(denies(bucket, put('orders/2026/run/db.dump'))).toBe(false);
    expect(denies(bucket, put('orders/2026/run/manifest.json', { 's3:if-none-match': '*' }))).toBe(false);
    const artifactKey = { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY };
    expect(denies(bucket, put('orders/2026/run/db.dump', artifactKey))).toBe(false);
  });

  it.each([
    ['SSE-S3', { 's3:x-amz-server-side-encryption': 'AES256' }],
    [
      'another KMS key',
      {
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:123456789012:key/other',
      },
    ],
    ['aws:kms without a key id (the aws/s3 key)', { 's3:x-amz-server-side-encryption': 'aws:kms' }],
    ['SSE-C', { 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' }],
  ])('denies a write with %s', (_, context) => {
    expect(denies(policies().bucket, put('orders/2026/run/db.dump', context))).toBe(true);
  });

  it('denies a manifest put without If-None-Match: * (a manifest is never replaced)', () => {
    const { bucket } = policies();
    expect(denies(bucket, put('orders/2026/run/manifest.json'))).toBe(true);
    expect(denies(bucket, put('orders/2026/run/manifest.json', { 's3:if-none-match': '"etag"' }))).toBe(true);
  });

  it.each(['s3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutObjectRetention'])(
    'denies %s to everyone without a break-glass role, and to all but it with one',
    (action) => {
      const request = (principalArn: string) => ({ action, resource: `${BUCKET}/orders/x`, principalArn, context: {} });
      expect(denies(policies().bucket, request('arn:aws:iam::123456789012:root'))).toBe(true);
      const withBreakGlass = policies({ breakGlassRoleArn: BREAK_GLASS }).bucket;
      expect(denies(withBreakGlass, request(DUMP_ROLE))).toBe(true);
      expect(denies(withBreakGlass, request(BREAK_GLASS))).toBe(false);
    },
  );

  it('keeps key deletion, disabling and rotation off from all but the break-glass role, and the policy from all but it and deploys', () => {
    const { key } = policies({ breakGlassRoleArn: BREAK_GLASS });
    const call = (action: string, principalArn: string) => ({ action, resource: KEY, principalArn, context: {} });
    for (const action of ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:DisableKeyRotation', 'kms:PutKeyPolicy']) {
      expect(denies(key, call(action, 'arn:aws:iam::123456789012:role/admin')), action).toBe(true);
      expect(denies(key, call(action, BREAK_GLASS)), action).toBe(false);
    }
    const deployRole = 'arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1';
    expect(denies(key, call('kms:PutKeyPolicy', deployRole))).toBe(false);
    expect(denies(key, call('kms:ScheduleKeyDeletion', deployRole))).toBe(true);
    // Undoing a scheduled deletion stays open to anyone IAM allows.
    expect(denies(key, call('kms:CancelKeyDeletion', 'arn:aws:iam::123456789012:role/admin'))).toBe(false);
    // The root keeps kms:* (no lockout).
    expect(key).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: 'kms:*', Principal: { AWS: 'arn:aws:iam::123456789012:root' } }),
    );
  });

  it('lets data keys be used only through S3, from this account', () => {
    const { key } = policies();
    const decrypt = (context: Record<string, string>) => ({
      action: 'kms:Decrypt',
      resource: KEY,
      principalArn: DUMP_ROLE,
      context,
    });
    expect(denies(key, decrypt({ 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:CallerAccount': '123456789012' }))).toBe(
      false,
    );
    expect(denies(key, decrypt({ 'kms:CallerAccount': '123456789012' }))).toBe(true);
    expect(denies(key, decrypt({ 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:CallerAccount': '999999999999' }))).toBe(
      true,
    );
  });
});
