import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { SNAPSHOT_PREFIX, TAG } from '#functions/contracts/snapshot-naming.ts';

/** The distinct regions the targets copy their snapshots to. */
export function copyRegionsOf(targets: readonly SnapshotTarget[]): string[] {
  return [...new Set(targets.flatMap((t) => (t.copy ? [t.copy.region] : [])))];
}

/**
 * IAM for the snapshot steps, scoped to the configured resources and to what Safekeep creates. Every
 * statement on `*` exists because the action has no resource-level permissions (Describe calls).
 */
export class SnapshotPermissions {
  private readonly stack: Stack;
  private readonly targets: readonly SnapshotTarget[];

  constructor(stack: Stack, targets: readonly SnapshotTarget[]) {
    this.stack = stack;
    this.targets = targets;
  }

  /** `arn:<partition>:rds:<region>:<account>:<type>:<name>`. */
  private rdsArn(type: 'db' | 'cluster' | 'snapshot' | 'cluster-snapshot', name: string, region = this.stack.region): string {
    return this.stack.formatArn({
      service: 'rds',
      region,
      resource: type,
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** `arn:<partition>:<service>:<region>:<account>:<type>/<name>` (EC2 volumes and instances, KMS keys). */
  private slashArn(service: 'ec2' | 'kms', type: string, name: string): string {
    return this.stack.formatArn({ service, resource: type, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** Snapshots this deployment made: its stack's tag and one of its targets' (AWS checks both before a delete). */
  private ownedBy(tagKey: (key: string) => string): Record<string, unknown> {
    return {
      StringEquals: {
        [tagKey(TAG.stack)]: this.stack.stackName,
        [tagKey(TAG.target)]: this.targets.map((t) => t.name),
      },
    };
  }

  /** Tags a create or copy must carry: this stack's (so prune can later delete it) and only safekeep:* keys. */
  private get taggedByThisStack(): Record<string, unknown> {
    return {
      StringEquals: { [`aws:RequestTag/${TAG.stack}`]: this.stack.stackName },
      'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*', 'Name'] },
    };
  }

  /** `safekeep-<target>-*` of each target: the names Safekeep gives (the RDS id, or an EBS snapshot's Name tag). */
  private get ownNames(): string[] {
    return this.targets.map((t) => `${SNAPSHOT_PREFIX}-${t.name}-*`);
  }

  private get instanceIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-instance' ? [t.source.instanceId] : []));
  }

  private get clusterIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-cluster' ? [t.source.clusterId] : []));
  }

  private snapshotArns(region = this.stack.region): string[] {
    return this.ownNames.flatMap((name) => [
      this.rdsArn('snapshot', name, region),
      this.rdsArn('cluster-snapshot', name, region),
    ]);
  }

  /** EBS snapshot ARNs name no account. */
  private ebsSnapshotArn(region = this.stack.region): string {
    return this.stack.formatArn({
      service: 'ec2',
      region,
      account: '',
      resource: 'snapshot',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private describeAll(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeHasNoResourceLevelPermissions',
        actions: [
          'rds:DescribeDBSnapshots',
          'rds:DescribeDBClusterSnapshots',
          'rds:DescribeAccountAttributes',
          'ec2:DescribeSnapshots',
          'ec2:DescribeVolumes',
          'ec2:DescribeInstances',
        ],
        resources: ['*'],
      }),
    );
  }

  grantStart(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    if (this.instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBInstances'],
          resources: this.instanceIds.map((id) => this.rdsArn('db', id)),
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['rds:CreateDBSnapshot'],
          resources: [
            ...this.instanceIds.map((id) => this.rdsArn('db', id)),
            ...this.ownNames.map((name) => this.rdsArn('snapshot', name)),
          ],
        }),
      );
    }
    if (this.clusterIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBClusters'],
          resources: this.clusterIds.map((id) => this.rdsArn('cluster', id)),
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['rds:CreateDBClusterSnapshot'],
          resources: [
            ...this.clusterIds.map((id) => this.rdsArn('cluster', id)),
            ...this.ownNames.map((name) => this.rdsArn('cluster-snapshot', name)),
          ],
        }),
      );
    }
    if (this.instanceIds.length + this.clusterIds.length > 0) {
      // Tags on create: only on Safekeep's own snapshots, only safekeep:* keys, and this stack's tag.
      add(
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: this.snapshotArns(),
          conditions: this.taggedByThisStack,
        }),
      );
    }
    this.grantEbsStart(add);
  }

  private grantEbsStart(add: (statement: iam.PolicyStatement) => void): void {
    const volumeIds = this.targets.flatMap((t) => (t.kind === 'ebs-volume' && t.source.volumeId ? [t.source.volumeId] : []));
    const tagSelectors = this.targets.flatMap((t) => (t.kind === 'ebs-volume' && t.source.tags ? [t.source.tags] : []));
    const instanceIds = this.targets.flatMap((t) => (t.kind === 'ec2-instance' ? [t.source.instanceId] : []));
    const volumeArn = (id: string) => this.slashArn('ec2', 'volume', id);
    const taggedSnapshot = this.taggedByThisStack;
    if (volumeIds.length > 0)
      add(new iam.PolicyStatement({ actions: ['ec2:CreateSnapshot'], resources: volumeIds.map(volumeArn) }));
    tagSelectors.forEach((tags) => {
      // Volumes picked by tag: allowed only while they carry every one of the selector's tags.
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: [this.slashArn('ec2', 'volume', '*')],
          conditions: {
            StringEquals: Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value])),
          },
        }),
      );
    });
    if (instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshots'],
          resources: [...instanceIds.map((id) => this.slashArn('ec2', 'instance', id)), this.slashArn('ec2', 'volume', '*')],
        }),
      );
    }
    if (volumeIds.length + tagSelectors.length + instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot', 'ec2:CreateSnapshots'],
          resources: [this.ebsSnapshotArn()],
          conditions: taggedSnapshot,
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: [this.ebsSnapshotArn()],
          conditions: {
            StringEquals: { 'ec2:CreateAction': ['CreateSnapshot', 'CreateSnapshots'] },
            'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*', 'Name'] },
          },
        }),
      );
    }
  }

  grantCheck(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
  }

  grantCopy(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const copies = this.targets.flatMap((t) => (t.copy ? [t.copy] : []));
    if (copies.length === 0) return;
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const regions = copyRegionsOf(this.targets);
    const region = this.stack.region;
    // Sources: this deployment's own snapshots here; destinations: its names in the copy regions.
    add(
      new iam.PolicyStatement({
        actions: ['rds:CopyDBSnapshot', 'rds:CopyDBClusterSnapshot'],
        resources: [...this.snapshotArns(), ...regions.flatMap((r) => this.snapshotArns(r))],
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['rds:AddTagsToResource'],
        resources: regions.flatMap((r) => this.snapshotArns(r)),
        conditions: this.taggedByThisStack,
      }),
    );
    add(
      new iam.PolicyStatement({
        sid: 'CopyOwnEbsSnapshots',
        actions: ['ec2:CopySnapshot'],
        resources: [this.ebsSnapshotArn()],
        conditions: this.ownedBy((key) => `aws:ResourceTag/${key}`),
      }),
    );
    add(
      new iam.PolicyStatement({
        sid: 'CreateEbsCopiesTaggedByThisStack',
        actions: ['ec2:CopySnapshot'],
        resources: regions.map((r) => this.ebsSnapshotArn(r)),
        conditions: this.taggedByThisStack,
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: regions.map((r) => this.ebsSnapshotArn(r)),
        conditions: {
          StringEquals: { 'ec2:CreateAction': 'CopySnapshot' },
          'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*', 'Name'] },
        },
      }),
    );
    // Keys are used by RDS and EBS on our behalf, never directly: kms:ViaService, and grants only for AWS resources.
    const viaSnapshotServices = {
      'kms:ViaService': [region, ...regions].flatMap((r) => [`rds.${r}.amazonaws.com`, `ec2.${r}.amazonaws.com`]),
    };
    const destinationKeys = [...new Set(copies.map((c) => c.kmsKeyArn))];
    add(
      new iam.PolicyStatement({
        sid: 'DestinationKeysViaRdsAndEc2',
        actions: [
          'kms:DescribeKey',
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
        ],
        resources: destinationKeys,
        conditions: { StringEquals: viaSnapshotServices },
      }),
    );
    add(
      new iam.PolicyStatement({
        sid: 'DestinationKeyGrantsForAwsResources',
        actions: ['kms:CreateGrant'],
        resources: destinationKeys,
        conditions: { StringEquals: viaSnapshotServices, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    // The source snapshots' keys are whatever encrypts the databases (often aws/rds): usable only via RDS/EC2 here.
    add(
      new iam.PolicyStatement({
        sid: 'SourceKeysViaRdsAndEc2',
        actions: ['kms:DescribeKey', 'kms:Decrypt'],
        resources: [this.slashArn('kms', 'key', '*')],
        conditions: { StringEquals: viaSnapshotServices },
      }),
    );
    add(
      new iam.PolicyStatement({
        sid: 'SourceKeyGrantsForAwsResources',
        actions: ['kms:CreateGrant'],
        resources: [this.slashArn('kms', 'key', '*')],
        conditions: { StringEquals: viaSnapshotServices, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
  }

  grantPrune(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const regions = [this.stack.region, ...copyRegionsOf(this.targets)];
    // Deletes: only snapshots named for one of this deployment's targets that carry this stack's tag and that
    // target's tag (all checked by AWS), so another stack's or anyone else's snapshots stay out of reach.
    add(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBSnapshot'],
        resources: regions.flatMap((region) => this.ownNames.map((name) => this.rdsArn('snapshot', name, region))),
        conditions: this.ownedBy((key) => `rds:snapshot-tag/${key}`),
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBClusterSnapshot'],
        resources: regions.flatMap((region) => this.ownNames.map((name) => this.rdsArn('cluster-snapshot', name, region))),
        conditions: this.ownedBy((key) => `rds:cluster-snapshot-tag/${key}`),
      }),
    );
    // EBS snapshot ids are random: the Name tag carries the prefix check.
    const owned = this.ownedBy((key) => `aws:ResourceTag/${key}`);
    add(
      new iam.PolicyStatement({
        actions: ['ec2:DeleteSnapshot'],
        resources: regions.map((region) => this.ebsSnapshotArn(region)),
        conditions: { ...owned, StringLike: { 'aws:ResourceTag/Name': this.ownNames } },
      }),
    );
  }
}
