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
