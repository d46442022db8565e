/**
 * `safekeep drill <target>`: proves a backup by restoring it into a throwaway server and comparing it with its
 * manifest (functions/dumps/drill.ts); the result is written as drill.json beside the manifest.
 *
 * Three places it runs: locally (`--config` and `--bucket`, or `--from s3://...`), in-process; inside the
 * target's Fargate task (SAFEKEEP_DEPLOYMENT and SAFEKEEP_ACTION=drill: the manifest the dispatcher picked is
 * SAFEKEEP_DRILL_FROM, the drill id SAFEKEEP_RUN_ID, who asked SAFEKEEP_DRILL_TRIGGER); and against a
 * deployed stack (neither), where the dispatcher starts the drill task (`startDeployedDrill`).
 */
import { randomBytes } from 'node:crypto';
import { newRunId } from '../../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import { loadConfigFile } from '../../contracts/config/load.ts';
import { type DumpTarget, isDumpTarget } from '../../contracts/config/schema.ts';
import { deployedDumpTarget } from '../../contracts/deployment.ts';
import { type DrillPick, type DrillResult, pickDrillBackup, TASK_DRILL_VARIABLES } from '../../contracts/drill.ts';
import { EXIT, UsageError } from '../../contracts/errors.ts';
import { TASK_RUN_VARIABLES } from '../../contracts/run-payloads.ts';
import { runDrill } from '../../dumps/drill.ts';
import { listDumpBackups } from '../../dumps/prune.ts';
import { manifestLocation } from '../../dumps/read-artifacts.ts';
import { deployment } from '../../platform/deployment-loader.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { startDeployedDrill } from '../deployed-drill.ts';
import { readDeployedStack, STACK_FLAGS, stackClients } from '../deployment.ts';
import { parseDuration } from '../flags.ts';
import { cliLogger } from '../output.ts';
import { stopOnSignal } from '../signals.ts';

const DRILL_FLAGS = {
  from: {
    type: 'string',
    placeholder: 's3://.../manifest.json',
    description: "drill this backup instead of the one the target's drill.pick chooses",
  },
  config: { type: 'string', placeholder: 'FILE', description: 'drill locally: the Safekeep config that describes the target' },
  bucket: {
    type: 'string',
    placeholder: 'BUCKET',
    description: "with --config: the artifact bucket holding the target's backups",
  },
  wait: { type: 'boolean', default: false, description: 'deployed: follow the drill to its result' },
  timeout: { type: 'string', default: '4h', placeholder: 'DURATION', description: 'give up after this long (90s, 30m, 4h)' },
  ...STACK_FLAGS,
} as const satisfies FlagDefinitions;

type DrillFlags = ParsedArgs<typeof DRILL_FLAGS>['values'];

export const drillCommand = defineCommand({
  name: 'drill',
  summary: 'prove a backup: restore it into a throwaway server and compare it with its manifest',
  positionals: [{ name: 'target', required: true, description: 'the dump target whose backup to drill' }],
  usage: [
    'safekeep drill <target> --config FILE --bucket BUCKET [--from s3://.../manifest.json] [--endpoint-url URL]',
    'safekeep drill <target> [--from <target>/.../manifest.json] [--wait]   (a deployed stack: its drill task)',
  ],
  flags: DRILL_FLAGS,
  notes: [
    'Every object is re-read through its SHA-256, the backup is restored into a server the drill starts on 127.0.0.1 (PostgreSQL at the newest major here, MySQL/MariaDB, Dolt, Doltgres) and its databases, tables, rows, schema objects and Dolt refs are compared with the manifest. The result is written as drill.json beside the manifest. Exit 0 when it passed, 3 when it failed.',
  ],
  examples: [
    'safekeep drill bytebase-meta --config safekeep.config.yaml --bucket my-backups',
    'safekeep drill bytebase-meta --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json --json',
    'safekeep drill bytebase-meta --wait',
  ],
  run: drill,
});

async function drill({ values, positionals }: ParsedArgs<typeof DRILL_FLAGS>, context: CliContext): Promise<number> {
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw new UsageError('name exactly one target: safekeep drill <target> [--from ...]');
  const inTask = context.env[TASK_DRILL_VARIABLES.from] !== undefined;
  // Local: a config or a bucket is named, or `--from` is a whole s3:// URL; else the deployed stack drills.
  const local = values.config !== undefined || values.bucket !== undefined || values.from?.startsWith('s3://') === true;
  if (!inTask && !local) return deployedDrill(name, values, context);
  const plan = inTask ? taskDrill(name, context) : await localDrill(name, values, context);
  const stop = stopOnSignal();
  const { result } = await runDrill(
    {
      manifestKey: plan.manifestKey,
      drillId: plan.drillId,
      trigger: plan.trigger,
      ...(plan.pick ? { pick: plan.pick } : {}),
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      endpointUrl: values['endpoint-url'],
    },
    { store: plan.store, log: cliLogger(context.terminal, values.verbose ?? false), now: context.now, stop: stop.signal },
  ).finally(stop.release);
  return report(context, values.json ?? false, result, `s3://${plan.store.bucket}/${plan.manifestKey}`);
}

interface DrillPlan {
  readonly store: ArtifactStore;
  readonly manifestKey: string;
  readonly drillId: string;
  readonly trigger: 'schedule' | 'manual';
  readonly pick?: DrillPick;
}

/** Inside the target's task: the dispatcher named the manifest and the drill id; the bucket is the deployment's. */
function taskDrill(name: string, context: CliContext): DrillPlan {
  const told = context.env[TASK_RUN_VARIABLES.target];
  if (told !== undefined && told !== name) {
    throw new UsageError(`this task was started for target "${told}" but its command names "${name}"; redeploy the stack`);
  }
  const deployed = deployment(context.env);
  const target = deployedDumpTarget(deployed, name);
  const manifestKey = context.env[TASK_DRILL_VARIABLES.from] as string;
  if (!manifestKey.startsWith(`${target.name}/`)) {
    throw new UsageError(`${TASK_DRILL_VARIABLES.from} names ${manifestKey}, which is not a backup of "${name}"`);
  }
  return {
    store: context.openStore(deployed.resources.bucket),
    manifestKey,
    drillId: context.env[TASK_RUN_VARIABLES.runId] ?? newDrillId(context),
    trigger: context.env[TASK_DRILL_VARIABLES.trigger] === 'manual' ? 'manual' : 'schedule',
    ...(target.drill ? { pick: target.drill.pick } : {}),
  };
}

/** On this machine: `--from` names the backup, or the target's drill settings pick one of its backups. */
async function localDrill(name: string, values: DrillFlags, context: CliContext): Promise<DrillPlan> {
  const target = values.config ? configuredTarget(values.config, name) : undefined;
  if (values.from) {
    const { bucket, key } = manifestLocation(values.from);
    if (!key.startsWith(`${name}/`)) throw new UsageError(`--from ${values.from} is not a backup of "${name}"`);
    return {
      store: context.openStore(bucket, values['endpoint-url']),
      manifestKey: key,
      drillId: newDrillId(context),
      trigger: 'manual',
    };
  }
  if (!values.bucket) {
    throw new UsageError('name the backup with --from s3://.../manifest.json, or the bucket with --bucket (and --config)');
  }
  const store = context.openStore(values.bucket, values['endpoint-url']);
  const pick = target?.drill?.pick ?? 'latest';
  const backups = await listDumpBackups(store, name);
  const chosen = pickDrillBackup(
    backups.map((backup) => ({ runId: backup.id, manifestKey: backup.manifestKey })),
    pick,
    target?.drill?.window ?? 7,
    context.now(),
  );
  if (!chosen?.manifestKey) throw new UsageError(`s3://${values.bucket}/${name}/ holds no backup of "${name}" to drill`);
  return { store, manifestKey: chosen.manifestKey, drillId: newDrillId(context), trigger: 'manual', pick };
}

function configuredTarget(path: string, name: string): DumpTarget {
  const config = loadConfigFile(path);
  const target = config.targets.find((t) => t.name === name);
  if (!target) throw new UsageError(`${path} has no target "${name}"; it has ${config.targets.map((t) => t.name).join(', ')}`);
  if (!isDumpTarget(target)) {
    throw new UsageError(`target "${name}" is a ${target.kind} snapshot target; its drills run in the deployed stack`);
  }
  return target;
}

const newDrillId = (context: CliContext) => newRunId(context.now(), randomBytes(3).toString('hex'));

/**
 * Against a deployed stack: the dispatcher starts the target's drill (`{ target, action: 'drill', from }`)
 * and `--wait` follows it to its result, as `safekeep run --wait` follows a run (functions/cli/deployed-drill.ts).
 */
async function deployedDrill(name: string, values: DrillFlags, context: CliContext): Promise<number> {
  const aws = stackClients(values['endpoint-url'], values.region);
  const stack = await readDeployedStack(aws.ssm, values.stack);
  const outcome = await startDeployedDrill(
    {
      target: name,
      ...(values.from === undefined ? {} : { from: values.from }),
      wait: values.wait ?? false,
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      endpointUrl: values['endpoint-url'],
      region: values.region,
      verbose: values.verbose ?? false,
    },
    stack,
    aws,
    context,
  );
  if (outcome.result)
    return report(
      context,
      values.json ?? false,
      outcome.result,
      `s3://${stack.deployment.resources.bucket}/${outcome.started.manifestKey ?? ''}`,
    );
  const code =
    outcome.status === 'started' || outcome.status === 'succeeded'
      ? EXIT.ok
      : outcome.status === 'timeout'
        ? EXIT.timeout
        : EXIT.failed;
  if (values.json) {
    context.terminal.stdout.write(
      `${JSON.stringify({ ...outcome.started, ok: code === EXIT.ok, status: outcome.status, detail: outcome.detail })}\n`,
    );
  } else {
    const out = code === EXIT.ok ? context.terminal.stdout : context.terminal.stderr;
    const runner = outcome.started.executionArn ?? outcome.started.taskArn ?? '';
    out.write(
      `${code === EXIT.ok ? '' : 'safekeep: '}drill ${outcome.started.drillId} of ${name} ${outcome.status}${outcome.detail ? `: ${outcome.detail}` : runner ? ` (${runner})` : ''}\n`,
    );
  }
  return code;
}

function report(context: CliContext, json: boolean, result: DrillResult, manifestUrl: string): number {
  const passed = result.validationStatus === 'SUCCESSFUL';
  if (json) {
    context.terminal.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const out = passed ? context.terminal.stdout : context.terminal.stderr;
    out.write(
      `${passed ? '' : 'safekeep: '}drill of ${result.target} run ${result.backupRunId} ${passed ? 'passed' : 'FAILED'} in ${result.durationSeconds.toFixed(1)}s: ${result.validationStatusMessage}\n  ${manifestUrl.replace(/manifest\.json$/, 'drill.json')}\n`,
    );
  }
  return passed ? EXIT.ok : EXIT.integrity;
}
