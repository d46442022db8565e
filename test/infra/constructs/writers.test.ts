import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { SafekeepConfigInput } from '#functions/contracts/config/schema.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { CDK_CONTEXT } from '#test/support/cdk.ts';

const TARGETS: SafekeepConfigInput['targets'] = [
  { name: 'db', kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: 'db' } },
];
const WRITERS = [
  { name: 'bytebase', staticKeys: true },
  { name: 'etl', assumedBy: 'arn:aws:iam::210987654321:role/etl/exporter' },
] as const;

function build(writers: SafekeepConfigInput['writers'] = [...WRITERS]) {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const safekeep = new Safekeep(stack, 'Safekeep', { targets: TARGETS, writers });
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } } | undefined) =>
    stack.getLogicalId(construct?.node.defaultChild as never);
  return { safekeep, template, resources: template.toJSON().Resources as Record<string, any>, id };
}

const bucketArn = (resources: Record<string, any>) => {
  const [bucket] = Object.entries(resources).filter(
    ([, r]) =>
      r.Type === 'AWS::S3::Bucket' &&
      r.Properties?.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.SSEAlgorithm ===
        'aws:kms',
  );
  if (!bucket) throw new Error('no artifact bucket');
  return { 'Fn::GetAtt': [bucket[0], 'Arn'] };
};

/** The one policy every writer gets, for its prefix. */
function expectedStatements(resources: Record<string, any>, keyId: string, prefix: string) {
  const bucket = bucketArn(resources);
  return [
    {
      Sid: 'OwnPrefixObjects',
      Effect: 'Allow',
      Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
      Resource: { 'Fn::Join': ['', [bucket, `/${prefix}*`]] },
    },
    {
      Sid: 'ListOwnPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucket,
      Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    },
    {
      Sid: 'ArtifactKeyThroughS3',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
      Condition: {
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': bucket },
      },
    },
  ];
}

describe('Writers', () => {
  it('creates nothing without writers', () => {
    const { resources } = build([]);
    const types = Object.values(resources).map((r) => r.Type);
    expect(types).not.toContain('AWS::IAM::User');
    expect(types).not.toContain('AWS::IAM::ManagedPolicy');
    expect(types).not.toContain('AWS::SecretsManager::Secret');
  });

  it('gives a staticKeys writer an IAM user, in a group holding exactly its prefix policy, and nothing else', () => {
    const { safekeep, resources, id } = build();
    const writer = safekeep.writers.writers.get('bytebase');
    expect(writer?.prefix).toBe('_writers/bytebase/');
    const policy = resources[id(writer?.policy)];
    expect(policy.Properties.PolicyDocument.Statement).toEqual(
      expectedStatements(resources, id(safekeep.artifacts.key), '_writers/bytebase/'),
    );
    expect(policy.Properties).not.toHaveProperty('Users');
    expect(policy.Properties).not.toHaveProperty('Roles');
    const group = resources[id(writer?.group)];
    expect(group.Properties.ManagedPolicyArns).toEqual([{ Ref: id(writer?.policy) }]);
    expect(group.Properties).not.toHaveProperty('Policies');
    const user = resources[id(writer?.user)];
    expect(user.Properties).toEqual({ Groups: [{ Ref: id(writer?.group) }] });
    // No other policy names the user or its group.
    const attached = Object.entries(resources).filter(([, r]) =>
      JSON.stringify(r.Properties ?? {}).match(new RegExp(`"(${id(writer?.user)}|${id(writer?.group)})"`)),
    );
    expect(attached.map(([logicalId]) => logicalId).sort()).toEqual(
      [id(writer?.user), ...Object.keys(resources).filter((k) => resources[k].Type === 'AWS::IAM::AccessKey')].sort(),
    );
  });

  it("keeps the user's access key in a secret encrypted with the data key, never in the template or its outputs", () => {
    const { safekeep, resources, id, template } = build();
    const writer = safekeep.writers.writers.get('bytebase');
    const [keyId, key] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::IAM::AccessKey') ?? [];
    expect(key.Properties).toEqual({ UserName: { Ref: id(writer?.user) } });
    const secret = resources[id(writer?.secret)];
    expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [id(safekeep.dataKey), 'Arn'] });
    expect(secret.Properties.Name).toBe('Test/writers/bytebase');
    expect(secret.Properties.SecretString).toEqual({
      'Fn::Join': [
        '',
        [
          '{"aws_access_key_id":"',
          { Ref: keyId },
          '","aws_secret_access_key":"',
          { 'Fn::GetAtt': [keyId, 'SecretAccessKey'] },
          '"}',
        ],
      ],
    });
    // The secret access key is read in exactly one place: the secret.
    const reads = JSON.stringify(template.toJSON()).split('"SecretAccessKey"').length - 1;
    expect(reads).toBe(1);
    expect(template.toJSON().Outputs ?? {}).toEqual({});
  });

  it('gives an assumedBy writer a role only that principal may assume, holding exactly its prefix policy', () => {
    const { safekeep, resources, id } = build();
    const writer = safekeep.writers.writers.get('etl');
    const role = resources[id(writer?.role)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:iam::210987654321:role/etl/exporter' } },
    ]);
    expect(role.Properties.ManagedPolicyArns).toEqual([{ Ref: id(writer?.policy) }]);
    expect(role.Properties).not.toHaveProperty('Policies');
    expect(resources[id(writer?.policy)].Properties.PolicyDocument.Statement).toEqual(
      expectedStatements(resources, id(safekeep.artifacts.key), '_writers/etl/'),
    );
    const inlineOnRole = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles ?? []).includes(id(writer?.role)),
    );
    expect(inlineOnRole).toEqual([]);
  });

  it("leaves the bucket's policy and its key's policy exactly as they are without writers", () => {
    const policies = ({ safekeep, resources, id }: ReturnType<typeof build>) => ({
      bucket: Object.values(resources)
        .filter((r) => r.Type === 'AWS::S3::BucketPolicy')
        .map((r) => r.Properties.PolicyDocument),
      key: resources[id(safekeep.artifacts.key)].Properties.KeyPolicy,
    });
    expect(policies(build())).toEqual(policies(build([])));
  });

  it('refuses a config whose writers collide, before building anything', () => {
    expect(() =>
      parseConfig(
        {
          targets: TARGETS,
          writers: [
            { name: 'x', staticKeys: true },
            { name: 'x', staticKeys: true },
          ],
        },
        'test',
      ),
    ).toThrow(/writers\[1\]\.name: got "x"; duplicates writers\[0\]/);
  });
});
