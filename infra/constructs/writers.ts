import { SecretValue, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { writerPrefix } from '#functions/contracts/artifact-layout.ts';
import type { Writer } from '#functions/contracts/config/schema.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';

export interface WritersProps {
  readonly writers: readonly Writer[];
  readonly artifacts: ArtifactBucket;
  /**
   * Encrypts the secrets holding static keys. Not the artifact key: its policy denies any use but through S3.
   */
  readonly secretKey: kms.IKey;
}

/** What one writer got: its policy, and either a role or an IAM user with its key's secret. */
export interface WriterResources {
  readonly prefix: string;
  readonly policy: iam.ManagedPolicy;
  readonly role?: iam.Role;
  readonly user?: iam.User;
  readonly group?: iam.Group;
  readonly secret?: secretsmanager.Secret;
}

/**
 * The S3 actions a writer has on its own prefix: read and write (multipart included), no delete. A replaced
 * object's old version expires with the bucket's noncurrent-version rule; only Safekeep's prune deletes.
 */
export const WRITER_OBJECT_ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
] as const;

/**
 * External applications (config `writers:`) that keep their own files in the artifact bucket, each under
 * `_writers/<name>/` and nowhere else: a role its named principal assumes, or, for an application that only
 * takes an access key (Bytebase's "Backup to the Cloud"), an IAM user whose key lives in a Secrets Manager
 * secret, never in the template's outputs. Each gets one managed policy: its prefix's objects, listing under
 * that prefix only, and the artifact key through S3 for this bucket only. The bucket's own denies (destroying
 * versions, weak encryption, manifest overwrites) hold for writers as for everyone.
 */
export class Writers extends Construct {
  readonly writers = new Map<string, WriterResources>();

  constructor(scope: Construct, id: string, props: WritersProps) {
    super(scope, id);
    for (const writer of props.writers) this.writers.set(writer.name, this.add(writer, props));
  }

  private add(writer: Writer, props: WritersProps): WriterResources {
    const scope = new Construct(this, writer.name);
    const prefix = writerPrefix(writer.name);
    const policy = new iam.ManagedPolicy(scope, 'Policy', {
      description: `Safekeep writer ${writer.name}: read and write s3://<artifact bucket>/${prefix} only`,
      document: writerPolicy(props.artifacts, prefix),
    });
    const description = writer.description ?? `Safekeep writer ${writer.name}`;
    if (writer.assumedBy !== undefined) {
      const role = new iam.Role(scope, 'Role', {
        description,
        assumedBy: new iam.ArnPrincipal(writer.assumedBy),
        managedPolicies: [policy],
      });
      return { prefix, policy, role };
    }
    // The policy goes on a group, not the user: IAM users should get permissions only through groups.
    const group = new iam.Group(scope, 'Group', { managedPolicies: [policy] });
    const user = new iam.User(scope, 'User', { groups: [group] });
    const key = new iam.AccessKey(scope, 'AccessKey', { user });
    const secret = new secretsmanager.Secret(scope, 'AccessKeySecret', {
      // Named so that a person finds it: one per stack and writer.
      secretName: writerSecretName(Stack.of(this).stackName, writer.name),
      description: `${description}: the access key of its IAM user (for the application's credentials file)`,
      encryptionKey: props.secretKey,
      secretObjectValue: {
        // The key id is no secret; CloudFormation resolves both at deploy time, so neither is in the template.
        aws_access_key_id: SecretValue.unsafePlainText(key.accessKeyId),
        aws_secret_access_key: key.secretAccessKey,
      },
    });
    return { prefix, policy, user, group, secret };
  }
}

/** `<stack>/writers/<name>`: where a staticKeys writer's access key is. */
export function writerSecretName(stackName: string, writer: string): string {
  return `${stackName}/writers/${writer}`;
}

function writerPolicy(artifacts: ArtifactBucket, prefix: string): iam.PolicyDocument {
  const { bucket, key } = artifacts;
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'OwnPrefixObjects',
        actions: [...WRITER_OBJECT_ACTIONS],
        resources: [bucket.arnForObjects(`${prefix}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ListOwnPrefix',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
      new iam.PolicyStatement({
        sid: 'ArtifactKeyThroughS3',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `s3.${Stack.of(artifacts).region}.amazonaws.com`,
            // With an S3 bucket key the encryption context is the bucket, not the object.
            'kms:EncryptionContext:aws:s3:arn': bucket.bucketArn,
          },
        },
      }),
    ],
  });
}
