/**
 * What the snapshot core needs from AWS, one adapter per service and region (`../adapters/`). The core
 * never imports the SDK: tests drive it against moto through the real adapters, or through fakes.
 */
import type { SnapshotKind } from '../../contracts/snapshot-payloads.ts';

/** One snapshot as the core sees it, whatever the service. */
export interface Snapshot {
  readonly kind: SnapshotKind;
  /** DBSnapshotIdentifier, DBClusterSnapshotIdentifier or snap-... */
  readonly id: string;
  readonly arn: string;
  readonly region: string;
  /** The instance, cluster or volume it was taken of. */
  readonly source: string;
  readonly status: 'pending' | 'available' | 'failed';
  readonly createdAt?: Date;
  readonly tags: Readonly<Record<string, string>>;
  readonly encrypted: boolean;
  readonly kmsKeyId?: string;
}

/** A database instance or cluster as far as snapshotting cares. */
export interface DatabaseResource {
  readonly id: string;
  readonly arn: string;
  /** `available`, `stopped`, `modifying`, ... */
  readonly status: string;
}

export interface SnapshotRequest {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The copy lands in the region of the adapter that makes it. */
export interface CopyRequest extends SnapshotRequest {
  readonly kmsKeyArn: string;
}

/** What RDS and EC2 share: the snapshots one service keeps in one region. */
export interface SnapshotStore {
  readonly region: string;
  /** Current state of snapshots this run started (by id). */
  refresh(snapshots: readonly Snapshot[]): Promise<Snapshot[]>;
  delete(snapshot: Snapshot): Promise<void>;
  /** Run in the destination region's adapter: copies `snapshot` from its region. */
  copyFrom(snapshot: Snapshot, request: CopyRequest): Promise<Snapshot>;
  /** Copies into this region still in progress (the per-destination-region limit counts them). */
  copiesInProgress(): Promise<number>;
}

/** What a restore makes: a new resource named by the user, tagged with where it came from. */
export interface RestoreRequest {
  /** The new DB instance or cluster identifier, or the new volume's Name tag. */
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Where a restored database goes; by default the account's default DB subnet group and security group. */
export interface DatabaseNetwork {
  readonly subnetGroup?: string;
  readonly securityGroupIds?: readonly string[];
}

/** A resource a restore created. */
export interface RestoredResource {
  readonly kind: 'rds-instance' | 'rds-cluster' | 'ebs-volume';
  /** DBInstanceIdentifier, DBClusterIdentifier or vol-... */
  readonly id: string;
  readonly region: string;
  readonly status: string;
  /** The snapshot it was restored from. */
  readonly snapshotId: string;
}

/** RDS (instances and Aurora clusters) in one region. */
export interface RdsPort extends SnapshotStore {
  describeInstance(id: string): Promise<DatabaseResource | undefined>;
  describeCluster(id: string): Promise<DatabaseResource | undefined>;
  snapshotInstance(instanceId: string, request: SnapshotRequest): Promise<Snapshot>;
  snapshotCluster(clusterId: string, request: SnapshotRequest): Promise<Snapshot>;
  /** Every manual snapshot of `sourceId` carrying `safekeep:target=<target>`, in any state. */
  listTargetSnapshots(kind: 'rds-instance' | 'rds-cluster', target: string, sourceId: string): Promise<Snapshot[]>;
  /** Manual snapshots used and allowed in this region, when the service says. */
  manualSnapshotQuota(): Promise<{ used: number; max: number } | undefined>;
  /** The instance class of a cluster's writer, when the cluster exists and has one. */
  clusterWriterClass(clusterId: string): Promise<string | undefined>;
  /** A new instance from an instance snapshot; its class is the original's unless `instanceClass` says. */
  restoreInstance(
    snapshot: Snapshot,
    request: RestoreRequest & { readonly instanceClass?: string; readonly network?: DatabaseNetwork },
  ): Promise<RestoredResource>;
  /** A new cluster from a cluster snapshot (engine and version from the snapshot, encrypted with its key). */
  restoreCluster(
    snapshot: Snapshot,
    request: RestoreRequest & { readonly network?: DatabaseNetwork },
  ): Promise<RestoredResource & { readonly engine: string }>;
  /** A new instance in `clusterId` (the first one becomes its writer). */
  createClusterInstance(
    clusterId: string,
    request: RestoreRequest & { readonly engine: string; readonly instanceClass: string },
  ): Promise<RestoredResource>;
  /** Resolves once the instance or cluster is available; throws after `timeoutMs`. */
  waitUntilAvailable(kind: 'rds-instance' | 'rds-cluster', id: string, timeoutMs: number): Promise<void>;
}

/** EC2 (EBS volumes and instances) in one region. */
export interface Ec2Port extends SnapshotStore {
  volumesByTags(tags: Readonly<Record<string, string>>): Promise<string[]>;
  volumeExists(id: string): Promise<boolean>;
  instanceExists(id: string): Promise<boolean>;
  snapshotVolume(volumeId: string, request: SnapshotRequest): Promise<Snapshot>;
  /** Crash-consistent snapshots of all (or all but the root) volumes of an instance, one call. */
  snapshotInstanceVolumes(instanceId: string, excludeBootVolume: boolean, request: SnapshotRequest): Promise<Snapshot[]>;
  listTargetSnapshots(target: string): Promise<Snapshot[]>;
  /**
   * A new volume from `snapshot` in `availabilityZone`, encrypted with the snapshot's key when it is encrypted;
   * of `volumeType` when given (EC2's default, gp2, otherwise).
   */
  createVolumeFromSnapshot(
    snapshot: Snapshot,
    availabilityZone: string,
    request: RestoreRequest & { readonly volumeType?: 'gp3' },
  ): Promise<RestoredResource>;
  /** Resolves once every volume is available; throws after `timeoutMs`. */
  waitUntilVolumesAvailable(volumeIds: readonly string[], timeoutMs: number): Promise<void>;
}

export interface KmsPort {
  /** Whether the key exists and is enabled in `region`. */
  keyUsable(keyArn: string): Promise<boolean>;
}

/** The AWS ports of one account, per region. */
export interface SnapshotPorts {
  rds(region: string): RdsPort;
  ec2(region: string): Ec2Port;
  kms(region: string): KmsPort;
}

/** The service that keeps snapshots of `kind`: EC2 for EBS, RDS for instances and clusters. */
export function serviceOf(kind: SnapshotKind): 'rds' | 'ec2' {
  return kind === 'ebs' ? 'ec2' : 'rds';
}

/** The store holding snapshots of `kind` in `region`. */
export function storeOf(ports: SnapshotPorts, kind: SnapshotKind, region: string): SnapshotStore {
  return ports[serviceOf(kind)](region);
}
