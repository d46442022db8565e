/**
 * The snapshot form of `safekeep restore`: `--snapshot ID | --latest --target NAME --as NEW`. It runs
 * with the user's own AWS credentials (no deployed role is involved) and makes new resources only.
 */
import { UsageError } from '../../contracts/errors.ts';
import type { DatabaseNetwork, RestoredResource } from '../../snapshots/core/ports.ts';
import { restoreSnapshot } from '../../snapshots/core/restore.ts';
import type { FlagDefinitions } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { flowContext, snapshotTarget } from './snapshot.ts';

export const SNAPSHOT_RESTORE_FLAGS = {
  snapshot: {
    type: 'string',
    placeholder: 'ID',
    description: 'restore this snapshot of --target (an EC2 instance: one of its run snapshots, or the run id)',
  },
  latest: { type: 'boolean', description: "restore --target's newest available snapshot" },
  as: { type: 'string', placeholder: 'NAME', description: 'the new instance or cluster identifier, or the new volume Name' },
  'availability-zone': { type: 'string', placeholder: 'AZ', description: 'where restored EBS volumes go, e.g. eu-west-1a' },
  class: {
    type: 'string',
    placeholder: 'CLASS',
    description: "the restored instance's (or Aurora writer's) class; default the source's",
  },
  'subnet-group': {
    type: 'string',
    placeholder: 'NAME',
    description: 'the DB subnet group a restored database goes into (default: the default one)',
  },
  'security-group-ids': {
    type: 'string',
    placeholder: 'sg-1,sg-2',
    description: "a restored database's VPC security groups (default: the VPC's default)",
  },
  wait: { type: 'boolean', description: 'wait until what was restored is available (at most --timeout)' },
  config: { type: 'string', placeholder: 'FILE', description: 'the Safekeep config holding --target (snapshot restores)' },
  region: {
    type: 'string',
    placeholder: 'REGION',
    description: "where to restore: the target's region, or its copy region (default AWS_REGION)",
  },
} as const satisfies FlagDefinitions;

/** The dump form's own flags, refused in the snapshot form rather than ignored. */
const DUMP_ONLY_FLAGS = ['version-id', 'database', 'swap', 'force', 'with-globals', 'recipe', 'secret'] as const;

interface SnapshotRestoreValues extends Partial<Record<(typeof DUMP_ONLY_FLAGS)[number], string | boolean>> {
  readonly snapshot?: string;
  readonly latest?: boolean;
  readonly as?: string;
  readonly 'availability-zone'?: string;
  readonly class?: string;
  readonly 'subnet-group'?: string;
  readonly 'security-group-ids'?: string;
  readonly wait?: boolean;
  readonly config?: string;
  readonly region?: string;
  readonly target?: string;
  readonly from?: string;
  readonly timeout: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly 'endpoint-url'?: string;
}

/** Whether the arguments ask for the snapshot form (then --target names a target, not a database URL). */
export function isSnapshotRestore(values: Pick<SnapshotRestoreValues, 'snapshot' | 'latest'>): boolean {
  return values.snapshot !== undefined || values.latest === true;
}

/** In the dump form a snapshot flag would be silently ignored: say which form it belongs to instead. */
export function refuseSnapshotFlags(values: Readonly<Record<string, unknown>>): void {
  const given = Object.keys(SNAPSHOT_RESTORE_FLAGS).find((flag) => values[flag] !== undefined && values[flag] !== false);
  if (given) throw new UsageError(`--${given} belongs to a snapshot restore: add --snapshot ID or --latest, or drop it`);
}

export async function restoreFromSnapshot(values: SnapshotRestoreValues, context: CliContext): Promise<number> {
  if (values.snapshot !== undefined && values.latest) throw new UsageError('give --snapshot ID or --latest, not both');
  if (values.from !== undefined) {
    throw new UsageError('--from restores a dump and --snapshot/--latest a snapshot; give one of them');
  }
  const dumpOnly = DUMP_ONLY_FLAGS.find((flag) => values[flag] !== undefined && values[flag] !== false);
  if (dumpOnly) throw new UsageError(`--${dumpOnly} belongs to a dump restore (--from), not to --snapshot/--latest`);
  const target = snapshotTarget(
    required(values.config, '--config', 'safekeep.config.yaml'),
    required(values.target, '--target', 'orders-db'),
  );
  const as = required(values.as, '--as', `${target.name}-restored`);
  const { ports, region } = await flowContext(context, values.region, values['endpoint-url'], values.verbose ?? false);
  const outcome = await restoreSnapshot(
    target,
    {
      pick: values.snapshot !== undefined ? { snapshot: values.snapshot } : 'latest',
      as,
      availabilityZone: values['availability-zone'],
      instanceClass: values.class,
      network: networkOf(values),
      waitMs: values.wait ? parseDuration(values.timeout, '--timeout') : undefined,
    },
    { ports, region },
  );
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...outcome })}\n`);
    return 0;
  }
  const out = context.terminal.stdout;
  out.write(`restored ${target.name} (run ${outcome.runId}) in ${region}:\n`);
  for (const resource of outcome.restored) out.write(`  ${describe(resource)}\n`);
  out.write(
    `${outcome.waited ? 'available now' : 'still being created; pass --wait to wait for it'}. These are new resources in your account, billed until you delete them; the source was not touched.\n`,
  );
  return 0;
}

function networkOf(values: SnapshotRestoreValues): DatabaseNetwork | undefined {
  const subnetGroup = values['subnet-group'];
  const securityGroupIds = values['security-group-ids']
    ?.split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (subnetGroup === undefined && securityGroupIds === undefined) return undefined;
  return { subnetGroup, securityGroupIds };
}

function describe(resource: RestoredResource): string {
  const kind = { 'rds-instance': 'RDS instance', 'rds-cluster': 'Aurora cluster', 'ebs-volume': 'EBS volume' }[resource.kind];
  return `${kind} ${resource.id} from ${resource.snapshotId}`;
}
