import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { DRILL_PREFIX, SNAPSHOT_PREFIX, TAG } from '#functions/contracts/snapshot-naming.ts';

/**
 * IAM for the snapshot drill steps. A drill creates only `safekeep-drill-*` resources that carry this stack's
 * tag and a safekeep:drill tag (aws:RequestTag on create), and modifies or deletes only resources that carry
 * both (rds:db-tag / rds:cluster-tag / aws:ResourceTag): no drill role can touch a source database or volume,
 * nor anything another stack made. Describe calls without resource-level permissions are on `*`.
 */
export class SnapshotDrillPermissions {
  private readonly stack: Stack;
  private readonly targets: readonly SnapshotTarget[];

  constructor(stack: Stack, targets: readonly SnapshotTarget[]) {
    this.stack = stack;
    this.targets = targets;
  }

  private rdsArn(type: string, name: string): string {
    return this.stack.formatArn({ service: 'rds', resource: type, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  private ec2Arn(type: string, name: string, account?: string): string {
    return this.stack.formatArn({
      service: 'ec2',
      resource: type,
      resourceName: name,
      account,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private get drillInstances(): string {
    return this.rdsArn('db', `${DRILL_PREFIX}-*`);
  }

  private get drillClusters(): string {
    return this.rdsArn('cluster', `${DRILL_PREFIX}-*`);
  }

  private get instanceIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-instance' ? [t.source.instanceId] : []));
  }

  private get clusterIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-cluster' ? [t.source.clusterId] : []));
  }

  private get hasVolumes(): boolean {
    return this.targets.some((t) => t.kind === 'ebs-volume' || t.kind === 'ec2-instance');
  }

  /** What a create must carry: this stack's tag, a drill tag, and only safekeep:* (and Name) keys. */
  private get taggedAsDrill(): Record<string, unknown> {
    return {
      StringEquals: { [`aws:RequestTag/${TAG.stack}`]: this.stack.stackName },
      Null: { [`aws:RequestTag/${TAG.drill}`]: 'false' },
      'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*', 'Name'] },
    };
  }

  /** What a modify or delete requires of the resource: this stack's tag and a drill tag. */
  private drillOwned(tagKey: (key: string) => string): Record<string, unknown> {
    return {
      StringEquals: { [tagKey(TAG.stack)]: this.stack.stackName },
      Null: { [tagKey(TAG.drill)]: 'false' },
    };
  }

  private add(grantee: iam.IGrantable, statement: iam.PolicyStatement): void {
    grantee.grantPrincipal.addToPrincipalPolicy(statement);
  }

  /** Describe calls: snapshots and volumes on `*` (no resource-level permissions); instances and clusters named. */
  private grantDescribe(grantee: iam.IGrantable): void {
    this.add(
      grantee,
      new iam.PolicyStatement({
        sid: 'DescribeHasNoResourceLevelPermissions',
        actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots', 'ec2:DescribeSnapshots', 'ec2:DescribeVolumes'],
        resources: ['*'],
      }),
    );
    if (this.instanceIds.length + this.clusterIds.length === 0) return;
    this.add(
      grantee,
      new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'],
        resources: [
          this.drillInstances,
          this.drillClusters,
          ...this.instanceIds.map((id) => this.rdsArn('db', id)),
          ...this.clusterIds.map((id) => this.rdsArn('cluster', id)),
        ],
      }),
    );
  }

  /** Restores: from this config's own snapshots, into new drill-named, drill-tagged resources. */
  grantStart(grantee: iam.IGrantable): void {
    this.grantDescribe(grantee);
    const ownSnapshots = (type: 'snapshot' | 'cluster-snapshot') =>
      this.targets
        .filter((t) => t.kind === (type === 'snapshot' ? 'rds-instance' : 'rds-cluster'))
        .map((t) => this.rdsArn(type, `${SNAPSHOT_PREFIX}-${t.name}-*`));
    // A restore also names the subnet group, option and parameter groups it lands in (the source's).
    const placement = ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => this.rdsArn(type, '*'));
    if (this.instanceIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'RestoreOwnSnapshotsIntoDrillInstances',
          actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
          resources: [this.drillInstances, ...ownSnapshots('snapshot'), ...placement],
          conditions: this.taggedAsDrill,
        }),
      );
    }
    if (this.clusterIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'RestoreOwnSnapshotsIntoDrillClusters',
          actions: ['rds:RestoreDBClusterFromSnapshot'],
          resources: [this.drillClusters, ...ownSnapshots('cluster-snapshot'), ...placement],
          conditions: this.taggedAsDrill,
        }),
      );
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'CreateDrillClusterWriters',
          actions: ['rds:CreateDBInstance'],
          resources: [this.drillInstances, this.drillClusters, ...placement],
          conditions: this.taggedAsDrill,
        }),
      );
    }
    if (this.instanceIds.length + this.clusterIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: [this.drillInstances, this.drillClusters],
          conditions: this.taggedAsDrill,
        }),
      );
    }
    if (this.hasVolumes) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'CreateDrillVolumes',
          actions: ['ec2:CreateVolume'],
          resources: [this.ec2Arn('volume', '*')],
          conditions: this.taggedAsDrill,
        }),
      );
      // The snapshot side of CreateVolume: only this deployment's own snapshots of its targets.
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'CreateVolumesFromOwnSnapshots',
          actions: ['ec2:CreateVolume'],
          resources: [this.ec2Arn('snapshot', '*', '')],
          conditions: {
            StringEquals: {
              [`aws:ResourceTag/${TAG.stack}`]: this.stack.stackName,
              [`aws:ResourceTag/${TAG.target}`]: this.targets.map((t) => t.name),
            },
          },
        }),
      );
      this.add(
        grantee,
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: [this.ec2Arn('volume', '*')],
          conditions: {
            StringEquals: { 'ec2:CreateAction': 'CreateVolume' },
            'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*', 'Name'] },
          },
        }),
      );
    }
    // Encrypted snapshots restore with their own key: usable only through RDS and EC2, grants only for AWS resources.
    const viaServices = {
      'kms:ViaService': [`rds.${this.stack.region}.amazonaws.com`, `ec2.${this.stack.region}.amazonaws.com`],
    };
    this.add(
      grantee,
      new iam.PolicyStatement({
        sid: 'SnapshotKeysViaRdsAndEc2',
        actions: [
          'kms:DescribeKey',
          'kms:Decrypt',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
        ],
        resources: [
          this.stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
        ],
        conditions: { StringEquals: viaServices },
      }),
    );
    this.add(
      grantee,
      new iam.PolicyStatement({
        sid: 'SnapshotKeyGrantsForAwsResources',
        actions: ['kms:CreateGrant'],
        resources: [
          this.stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
        ],
        conditions: { StringEquals: viaServices, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
  }

  grantCheck(grantee: iam.IGrantable): void {
    this.grantDescribe(grantee);
  }

  /** The SQL check sets a fresh master password on the drill's own restore, nothing else. */
  grantSqlCheck(grantee: iam.IGrantable): void {
    this.grantDescribe(grantee);
    if (this.instanceIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance'],
          resources: [this.drillInstances],
          conditions: this.drillOwned((key) => `rds:db-tag/${key}`),
        }),
      );
    }
    if (this.clusterIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBCluster'],
          resources: [this.drillClusters],
          conditions: this.drillOwned((key) => `rds:cluster-tag/${key}`),
        }),
      );
    }
  }

  /** Deletes: only drill-named resources carrying this stack's tag and a drill tag. */
  grantFinish(grantee: iam.IGrantable): void {
    this.grantDescribe(grantee);
    if (this.instanceIds.length + this.clusterIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'DeleteOnlyDrillInstances',
          actions: ['rds:DeleteDBInstance'],
          resources: [this.drillInstances],
          conditions: this.drillOwned((key) => `rds:db-tag/${key}`),
        }),
      );
    }
    if (this.clusterIds.length > 0) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'DeleteOnlyDrillClusters',
          actions: ['rds:DeleteDBCluster'],
          resources: [this.drillClusters],
          conditions: this.drillOwned((key) => `rds:cluster-tag/${key}`),
        }),
      );
    }
    if (this.hasVolumes) {
      this.add(
        grantee,
        new iam.PolicyStatement({
          sid: 'DeleteOnlyDrillVolumes',
          actions: ['ec2:DeleteVolume'],
          resources: [this.ec2Arn('volume', '*')],
          conditions: {
            ...this.drillOwned((key) => `aws:ResourceTag/${key}`),
            StringLike: { 'aws:ResourceTag/Name': `${DRILL_PREFIX}-*` },
          },
        }),
      );
    }
  }
}
