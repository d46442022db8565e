import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TARGET_NAME_PATTERN } from '#functions/contracts/config/schema.ts';

/** Object Lock settings; they can only be chosen when the bucket is created. */
export interface ArtifactObjectLock {
  /** `governance` lets specially privileged users shorten a lock; `compliance` lets nobody. */
  readonly mode: 'governance' | 'compliance';
  /** Default retention applied to every new object version. */
  readonly retention: Duration;
}

/** Moving backups to a colder storage class once they are old enough. */
export interface ArtifactTransition {
  readonly storageClass: s3.StorageClass;
  readonly after: Duration;
}

export interface ArtifactBucketProps {
  /**
   * How long a replaced or deleted object version is kept before S3 expires it.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * Transition to a colder storage class.
   * @default - objects stay in S3 Standard
   */
  readonly transition?: ArtifactTransition;
  /**
   * Object Lock (WORM) for every backup.
   * @default - no Object Lock; it cannot be turned on for this bucket later
   */
  readonly objectLock?: ArtifactObjectLock;
  /**
   * How long S3 server access logs are kept in the log bucket.
   * @default Duration.days(365)
   */
  readonly accessLogRetention?: Duration;
}

/**
 * The one bucket every backup lands in: versioned, SSE-KMS with a rotating customer-managed key and an
 * S3 bucket key, all public access blocked, TLS 1.2+ only, access-logged to a separate bucket, retained
 * when the stack is deleted. Incomplete multipart uploads are aborted after a day, so an interrupted
 * dump that somehow escaped its own abort still never lingers.
 *
 * Grants hand out the least a role needs: dump roles may only add objects under their own target's prefix,
 * and (with retention) turn that prefix's objects into delete markers, never delete a version.
 */
export class ArtifactBucket extends Construct {
  /** The artifact bucket. */
  readonly bucket: s3.Bucket;
  /** The customer-managed key encrypting every artifact. */
  readonly key: kms.Key;
  /** Where the artifact bucket's server access logs go. */
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps = {}) {
    super(scope, id);
    // Deliver access logs under a bucket policy rather than ACLs, whatever the app's feature flags say:
    // ACLs stay disabled (BucketOwnerEnforced) on both buckets.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const noncurrentVersionExpiration = props.noncurrentVersionExpiration ?? Duration.days(90);

    this.key = new kms.Key(this, 'Key', {
      description: 'Safekeep: encrypts every backup artifact',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Server access logging cannot deliver to an SSE-KMS bucket, so the log bucket uses SSE-S3.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: props.accessLogRetention ?? Duration.days(365),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'artifacts/',
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      objectLockEnabled: props.objectLock ? true : undefined,
      objectLockDefaultRetention: objectLockRetention(props.objectLock),
      lifecycleRules: [
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration, expiredObjectDeleteMarker: true },
        ...(props.transition
          ? [
              {
                id: 'transition-to-colder-storage',
                transitions: [{ storageClass: props.transition.storageClass, transitionAfter: props.transition.after }],
              },
            ]
          : []),
      ],
    });
  }

  /**
   * Lets a dump role add backups under `<target>/` and nothing else: no reads, no listing, no deletes.
   * Multipart uploads with SSE-KMS need `kms:Decrypt` to complete; the condition pins it to this bucket via S3.
   */
  grantWriteOnly(grantee: iam.IGrantable, target: string): iam.Grant {
    assertTargetPrefix(target);
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resourceArns: [this.bucket.arnForObjects(`${target}/*`)],
      resource: this.bucket,
    });
    grant.combine(this.grantKeyUse(grantee, ['kms:GenerateDataKey', 'kms:Decrypt']));
    return grant;
  }

  /** Lets a role read backups under `<target>/` (verify, restore, the results recorder). */
  grantReadTarget(grantee: iam.IGrantable, target: string): iam.Grant {
    assertTargetPrefix(target);
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [this.bucket.arnForObjects(`${target}/*`)],
      resource: this.bucket,
    });
    grant.combine(
      iam.Grant.addToPrincipalOrResource({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucket.bucketArn],
        resource: this.bucket,
      }),
    );
    grant.combine(this.grantKeyUse(grantee, ['kms:Decrypt']));
    return grant;
  }

  /**
   * Lets a dump role prune its own target (the worker prunes right after committing a run): list `<target>/`
   * (s3:ListBucket with an s3:prefix condition) and s3:DeleteObject on `<target>/*`, which without a version id
   * only adds a delete marker; the versions stay recoverable until the noncurrent-version lifecycle rule, and
   * Object Lock still holds a locked one. s3:DeleteObjectVersion, the call that destroys a version, is denied
   * explicitly on the whole bucket, so no other grant to the role can ever add it. Deleting needs no KMS key.
   */
  grantPruneTarget(grantee: iam.IGrantable, target: string): iam.Grant {
    assertTargetPrefix(target);
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:DeleteObject'],
      resourceArns: [this.bucket.arnForObjects(`${target}/*`)],
      resource: this.bucket,
    });
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${target}/*`] } },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: ['s3:DeleteObjectVersion'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    return grant;
  }

  /** Lets a role read run manifests (`<target>/.../manifest.json`) and nothing else: the results recorder. */
  grantReadManifests(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects('*/manifest.json')],
      resource: this.bucket,
    });
    grant.combine(this.grantKeyUse(grantee, ['kms:Decrypt']));
    return grant;
  }

  private grantKeyUse(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com`,
          // With an S3 bucket key the encryption context is the bucket, not the object.
          'kms:EncryptionContext:aws:s3:arn': this.bucket.bucketArn,
        },
      },
    });
  }
}

function objectLockRetention(lock: ArtifactObjectLock | undefined): s3.ObjectLockRetention | undefined {
  if (!lock) return undefined;
  return lock.mode === 'compliance'
    ? s3.ObjectLockRetention.compliance(lock.retention)
    : s3.ObjectLockRetention.governance(lock.retention);
}

function assertTargetPrefix(target: string): void {
  if (!Token.isUnresolved(target) && !TARGET_NAME_PATTERN.test(target)) {
    throw new Error(`ArtifactBucket grant: "${target}" is not a target name; grants are scoped to one target's prefix`);
  }
}
