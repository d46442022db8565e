import { loadConfigFile } from '../../contracts/config/load.ts';
import {
  isSnapshotTarget,
  type Retention,
  type SnapshotTarget,
  TARGET_NAME_PATTERN,
  type Target,
} from '../../contracts/config/schema.ts';
import { UsageError } from '../../contracts/errors.ts';
import { type DumpPruneResult, pruneDumpTarget } from '../../dumps/prune.ts';
import { formatRetentionPlan } from '../../retention/decide-retention.ts';
import { pruneTarget } from '../../snapshots/core/prune.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { required } from '../flags.ts';
import { flowContext } from './snapshot.ts';

const PRUNE_FLAGS = {
  config: {
    type: 'string',
    placeholder: 'FILE',
    description: 'the Safekeep config holding the target (optional for a dump target given --keep-last and --max-age-days)',
  },
  target: { type: 'string', required: true, placeholder: 'NAME', description: 'a target of that config' },
  region: { type: 'string', placeholder: 'REGION', description: 'snapshot targets: the AWS region (default AWS_REGION)' },
  bucket: {
    type: 'string',
    placeholder: 'BUCKET',
    description: "dump targets: the artifact bucket holding the target's backups",
  },
  'keep-last': {
    type: 'string',
    placeholder: 'N',
    description: "dump targets: keep the newest N (overrides the config's keepLast)",
  },
  'max-age-days': {
    type: 'string',
    placeholder: 'DAYS',
    description: "dump targets: delete backups older than this (overrides the config's maxAgeDays)",
  },
  'dry-run': { type: 'boolean', default: false, description: 'print what would be deleted, delete nothing' },
} as const satisfies FlagDefinitions;

export const pruneCommand = defineCommand({
  name: 'prune',
  summary: "apply a target's retention to the backups Safekeep made (snapshots, or a dump target's backups)",
  usage: [
    'safekeep prune --config FILE --target NAME [--dry-run] [options]',
    'safekeep prune [--config FILE] --bucket BUCKET --target NAME [--keep-last N] [--max-age-days DAYS] [--dry-run] [options]',
  ],
  flags: PRUNE_FLAGS,
  notes: [
    "A pruned dump backup is a delete marker over its objects: it stays recoverable (safekeep list --all, then safekeep restore --version-id) until the bucket's noncurrentVersionExpirationDays.",
  ],
  examples: [
    'safekeep prune --config safekeep.config.yaml --target openmetadata-rds --dry-run',
    'safekeep prune --config safekeep.config.yaml --target openmetadata-rds',
    'safekeep prune --config safekeep.config.yaml --bucket my-backups --target bytebase-meta --dry-run',
    'safekeep prune --bucket my-backups --target bytebase-meta --keep-last 14 --max-age-days 90',
  ],
  run: prune,
});

type PruneValues = ParsedArgs<typeof PRUNE_FLAGS>['values'];

/** `safekeep prune --target T [--config F] [--bucket B] [--dry-run]`: apply the target's retention to its own backups. */
async function prune({ values }: ParsedArgs<typeof PRUNE_FLAGS>, context: CliContext): Promise<number> {
  const name = required(values.target, '--target', 'orders-db');
  const overridden = values['keep-last'] !== undefined && values['max-age-days'] !== undefined;
  const target =
    values.config || !overridden
      ? configuredTarget(required(values.config, '--config', 'safekeep.config.yaml'), name)
      : undefined;
  if (target && isSnapshotTarget(target)) return pruneSnapshots(target, values, context);
  if (!TARGET_NAME_PATTERN.test(name))
    throw new UsageError(`--target must be a target name (lowercase letters, digits, "-"), got "${name}"`);

  const bucket = required(values.bucket, '--bucket', 'my-backups');
  const result = await pruneDumpTarget(context.openStore(bucket, values['endpoint-url']), {
    target: name,
    retention: { policy: overriddenPolicy(target?.retention, values), timeZone: target?.schedule.timezone ?? 'Etc/UTC' },
    now: context.now(),
    dryRun: values['dry-run'],
  });
  printDumpPrune(result, values, context);
  return 0;
}

function configuredTarget(path: string, name: string): Target {
  const config = loadConfigFile(path);
  const target = config.targets.find((t) => t.name === name);
  if (!target) throw new UsageError(`${path} has no target "${name}"; it has ${config.targets.map((t) => t.name).join(', ')}`);
  return target;
}

/** The config's retention with --keep-last / --max-age-days laid over it; without either, exactly the config's. */
function overriddenPolicy(configured: Retention | undefined, values: PruneValues): Retention | undefined {
  const keepLast = values['keep-last'] === undefined ? undefined : count(values['keep-last'], '--keep-last');
  const maxAgeDays = values['max-age-days'] === undefined ? undefined : count(values['max-age-days'], '--max-age-days');
  if (keepLast === undefined && maxAgeDays === undefined) return configured;
  const base = configured ?? { minimum: 1 };
  return {
    ...base,
    ...(keepLast === undefined ? {} : { keepLast }),
    ...(maxAgeDays === undefined ? {} : { maxAgeDays }),
    // The floor never exceeds keepLast (the config schema's rule), whichever side set them.
    minimum: Math.min(base.minimum, keepLast ?? base.minimum),
  };
}

function count(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got "${text}"`);
  return value;
}

function printDumpPrune(result: DumpPruneResult, values: PruneValues, context: CliContext): void {
  if (values.json) {
    const backup = ({ id, createdAt, manifestKey }: DumpPruneResult['kept'][number]['backup']) => ({
      runId: id,
      createdAt: createdAt.toISOString(),
      manifestKey,
    });
    context.terminal.stdout.write(
      `${JSON.stringify({
        ok: true,
        target: result.target,
        dryRun: result.dryRun,
        kept: result.kept.map((k) => ({ ...backup(k.backup), reasons: k.reasons })),
        deleted: result.deleted.map((d) => ({ ...backup(d.backup), reason: d.reason })),
      })}\n`,
    );
    return;
  }
  const plan = { keep: result.kept, remove: result.deleted };
  for (const line of formatRetentionPlan(plan, { subject: result.target, dryRun: result.dryRun }))
    context.terminal.stdout.write(`${line}\n`);
}

/** A snapshot target: exactly what `safekeep prune --config F --target T` always did. */
async function pruneSnapshots(target: SnapshotTarget, values: PruneValues, context: CliContext): Promise<number> {
  for (const flag of ['bucket', 'keep-last', 'max-age-days'] as const) {
    if (values[flag] !== undefined)
      throw new UsageError(`--${flag} applies to dump targets; "${target.name}" is a ${target.kind} snapshot target`);
  }
  const flow = await flowContext(context, values.region, values['endpoint-url'], values.verbose ?? false);
  const result = await pruneTarget(target, flow, { dryRun: values['dry-run'] });
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: !result.skipped, ...result })}\n`);
  } else if (!result.skipped) {
    const plan = {
      keep: result.kept.map(({ snapshot, reasons }) => ({ backup: snapshot, reasons })),
      remove: result.deleted.map(({ snapshot, reason }) => ({ backup: snapshot, reason })),
    };
    for (const line of formatRetentionPlan(plan, { subject: result.target, dryRun: result.dryRun }))
      context.terminal.stdout.write(`${line}\n`);
  }
  if (result.skipped) {
    context.terminal.stderr.write(`safekeep: not pruning: ${result.skipped}\n`);
    return 1;
  }
  return 0;
}
