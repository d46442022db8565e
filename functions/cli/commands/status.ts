/**
 * `safekeep status [<target> ...]`: the last run, last good backup and last failure of deployed targets, and
 * beside them the last restore drill and its result, from the runs table.
 */
import { dynamoRunsStore } from '../../runs/adapters/runs-table.ts';
import { defineCommand, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { readDeployedStack, STACK_FLAGS, stackClients } from '../deployment.ts';

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'last good backup, its age, the last failure and the last restore drill of deployed targets',
  positionals: [{ name: 'target', variadic: true, description: 'the targets to show (by default every deployed target)' }],
  flags: STACK_FLAGS,
  examples: ['safekeep status', 'safekeep status bytebase-meta --json'],
  run: status,
});

async function status({ values, positionals }: ParsedArgs<typeof STACK_FLAGS>, context: CliContext): Promise<number> {
  const aws = stackClients(values['endpoint-url'], values.region);
  const stack = values.stack;
  const deployed = await readDeployedStack(aws.ssm, stack);
  const names = positionals.length > 0 ? positionals : await deployed.targetNames();
  const runs = dynamoRunsStore(deployed.deployment.resources.runsTable, aws.dynamo);
  const now = context.now().getTime();
  const rows = [];
  for (const name of names) {
    const recent = await runs.recent(name, 20);
    const lastGood = await runs.lastSucceeded(name);
    const lastFailure = recent.find((r) => r.status === 'failed');
    const [lastDrill] = await runs.recentDrills(name, 1);
    rows.push({
      target: name,
      lastRun: recent[0] ? { runId: recent[0].runId, status: recent[0].status, startedAt: recent[0].startedAt } : undefined,
      lastGood: lastGood
        ? {
            runId: lastGood.runId,
            finishedAt: lastGood.finishedAt,
            ageSeconds: Math.round((now - Date.parse(lastGood.finishedAt ?? lastGood.startedAt)) / 1000),
          }
        : undefined,
      lastFailure: lastFailure
        ? { runId: lastFailure.runId, finishedAt: lastFailure.finishedAt, reason: lastFailure.reason }
        : undefined,
      lastDrill: lastDrill
        ? {
            drillId: lastDrill.drillId,
            status: lastDrill.status,
            startedAt: lastDrill.startedAt,
            finishedAt: lastDrill.finishedAt,
            validationStatus: lastDrill.validationStatus,
            backupRunId: lastDrill.backupRunId,
            reason: lastDrill.reason,
          }
        : undefined,
    });
  }
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, stack, targets: rows })}\n`);
    return 0;
  }
  for (const row of rows) {
    const good = row.lastGood
      ? `last good ${row.lastGood.finishedAt} (${age(row.lastGood.ageSeconds)} ago)`
      : 'no good backup yet';
    const failure = row.lastFailure ? `; last failure ${row.lastFailure.finishedAt}: ${row.lastFailure.reason}` : '';
    context.terminal.stdout.write(
      `${row.target.padEnd(24)} ${row.lastRun?.status ?? 'never run'}  ${good}${failure}${drillText(row.lastDrill)}\n`,
    );
  }
  return 0;
}

/** The last drill, beside the last backup: "; last drill passed 2026-12-01T05:12:00Z (backup 2026...)". */
function drillText(
  drill: { status: string; startedAt: string; finishedAt?: string; backupRunId?: string; reason?: string } | undefined,
): string {
  if (!drill) return '';
  const verdict = drill.status === 'succeeded' ? 'passed' : drill.status === 'failed' ? 'FAILED' : 'running';
  const backup = drill.backupRunId ? ` (backup ${drill.backupRunId})` : '';
  return `; last drill ${verdict} ${drill.finishedAt ?? drill.startedAt}${backup}${drill.reason ? `: ${drill.reason}` : ''}`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
