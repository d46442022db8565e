/**
 * Names and tags of everything Safekeep creates. The prefix is owned by the construct, so IAM can allow
 * deletes only on `safekeep-*` snapshots carrying a `safekeep:target` tag, and nothing else.
 */
export const SNAPSHOT_PREFIX = 'safekeep';
export const TAG = {
  target: 'safekeep:target',
  /** The stack that made it: IAM lets a deployment delete only its own snapshots. */
  stack: 'safekeep:stack',
  runId: 'safekeep:run-id',
  /** On copies: the snapshot they were copied from. */
  copyOf: 'safekeep:copy-of',
  /** On restored resources: the snapshot they were restored from. */
  restoredFrom: 'safekeep:restored-from',
  /** On restored volumes: the --as name of the restore that made them (an EC2 instance's restore makes several). */
  restoredAs: 'safekeep:restored-as',
  /** On a restore drill's temporary resources: the drill's id. IAM lets only the drill delete what carries it. */
  drill: 'safekeep:drill',
} as const;

/** `20261121t031500z`: RDS identifiers are case-insensitive and stored lowercase. */
export function snapshotStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
    .toLowerCase();
}

/**
 * `safekeep-<target>-<stamp>` (an EBS volume's snapshot appends `-<volume id>` in its Name tag). Valid as an
 * RDS snapshot identifier: target names start and end with a letter or digit and never hold "--" (the
 * config schema guarantees it), so neither does this.
 */
export function snapshotName(target: string, at: Date): string {
  return `${SNAPSHOT_PREFIX}-${target}-${snapshotStamp(at)}`;
}

export function isSafekeepSnapshotOf(target: string, name: string): boolean {
  return (
    name.startsWith(`${SNAPSHOT_PREFIX}-${target}-`) &&
    /^\d{8}t\d{6}z/.test(name.slice(SNAPSHOT_PREFIX.length + target.length + 2))
  );
}

/**
 * No `safekeep:tier` tag any more: retention computes GFS periods from the creation time in the schedule's
 * time zone, and a UTC tier beside it only misled. `safekeep:stack` binds a snapshot to the deployment that
 * made it, so IAM lets only that deployment's prune delete it.
 */
export function snapshotTags(target: string, runId: string, stack?: string): Record<string, string> {
  return { [TAG.target]: target, [TAG.runId]: runId, ...(stack ? { [TAG.stack]: stack } : {}) };
}

/** Restore drills name their temporary instances, clusters and volumes `safekeep-drill-...`; IAM scopes to it. */
export const DRILL_PREFIX = `${SNAPSHOT_PREFIX}-drill`;

/**
 * `safekeep-drill-<target>-<stamp>-<suffix>` of a drill id (`20261121T031500Z-a1b2c3`): at most 56 characters,
 * so a cluster's `-writer` still fits RDS's 63. Long target names are cut (the tags name the target in full).
 */
export function drillResourceName(target: string, drillId: string): string {
  const [, suffix = ''] = /^\d{8}T\d{6}Z-([a-z0-9]+)$/.exec(drillId) ?? [];
  const at = new Date(drillId.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z.*$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!suffix || Number.isNaN(at.getTime())) throw new Error(`not a drill id: ${drillId}`);
  const tail = `-${snapshotStamp(at)}-${suffix.slice(0, 6)}`;
  const room = 56 - DRILL_PREFIX.length - 1 - tail.length;
  return `${DRILL_PREFIX}-${target.slice(0, room).replace(/-+$/, '')}${tail}`;
}
