/**
 * Following a started run to its end, as `safekeep run --wait` does: a dump is done when its manifest
 * lands, a snapshot run when its execution ends, and either when the runs table records it as failed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { parse as parseArn } from '@aws-sdk/core/util';
import type { Target } from '../contracts/config/schema.ts';
import { type Deployment, WORKER_CONTAINER } from '../contracts/deployment.ts';
import { createS3Client, s3ArtifactStore } from '../platform/s3-artifact-store.ts';
import { dynamoRunsStore } from '../runs/adapters/runs-table.ts';
import type { DispatchResult } from '../runs/dispatch.ts';
import type { RunRecord } from '../runs/run-record.ts';
import type { CliContext } from './context.ts';
import type { StackClients } from './deployment.ts';
import { formatBytes, statusLine } from './output.ts';

export interface Followed {
  readonly status: 'succeeded' | 'failed' | 'timeout';
  readonly detail?: string;
}

type FollowClients = Pick<StackClients, 'dynamo' | 'ecs' | 'sfn'>;

/** Polls until the run's manifest lands (dumps), its execution ends (snapshots), or it is recorded as failed. */
export async function followRun(
  started: DispatchResult,
  target: Target,
  deployment: Deployment,
  aws: FollowClients,
  context: CliContext,
  timing: { timeoutMs: number; pollMs: number },
): Promise<Followed> {
  const runs = dynamoRunsStore(deployment.resources.runsTable, aws.dynamo);
  const store = s3ArtifactStore(createS3Client(), deployment.resources.bucket);
  const { manifestKey } = started;
  const deadline = context.now().getTime() + timing.timeoutMs;
  const since = context.now().getTime();
  const progress = statusLine(context.terminal);
  try {
    for (;;) {
      const record = await runs.get(target.name, started.runId);
      if (record?.status === 'failed') return { status: 'failed', detail: record.reason };
      if (started.kind === 'dump' && manifestKey && (await manifestExists(store, manifestKey))) {
        return {
          status: 'succeeded',
          detail: `manifest s3://${deployment.resources.bucket}/${manifestKey}${record?.bytes ? `, ${formatBytes(record.bytes)}` : ''}`,
        };
      }
      const state = await currentState(started, aws);
      if (state.failed) return { status: 'failed', detail: state.failed };
      if (state.succeeded) return { status: 'succeeded', detail: state.succeeded };
      if (record?.status === 'succeeded') return { status: 'succeeded', detail: describeRecord(record) };
      if (context.now().getTime() > deadline)
        return {
          status: 'timeout',
          detail: `no result after ${Math.round(timing.timeoutMs / 1000)} s; safekeep status ${target.name} shows it later`,
        };
      const seconds = Math.round((context.now().getTime() - since) / 1000);
      progress.show(`waiting for run ${started.runId} of ${target.name}: ${state.label} (${seconds} s)`);
      await sleep(timing.pollMs);
    }
  } finally {
    // The result goes to stdout next; on a terminal it must not land on the end of the progress line.
    progress.done();
  }
}

async function manifestExists(store: ReturnType<typeof s3ArtifactStore>, key: string): Promise<boolean> {
  for await (const object of store.list(key)) if (object.key === key) return true;
  return false;
}

async function currentState(
  started: DispatchResult,
  aws: FollowClients,
): Promise<{ label: string; failed?: string; succeeded?: string }> {
  if (started.executionArn) {
    const execution = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (execution.status === 'SUCCEEDED') return { label: 'succeeded', succeeded: 'snapshots taken' };
    if (execution.status && execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      return {
        label: execution.status,
        failed: `the snapshot run ${execution.status.toLowerCase()}${execution.cause ? `: ${execution.cause}` : ''}`,
      };
    }
    return { label: 'snapshots in progress' };
  }
  if (started.taskArn) {
    const [task] =
      (await aws.ecs.send(new DescribeTasksCommand({ tasks: [started.taskArn], cluster: clusterOfTask(started.taskArn) })))
        .tasks ?? [];
    const worker = task?.containers?.find((c) => c.name === WORKER_CONTAINER);
    if (task?.lastStatus === 'STOPPED' && worker?.exitCode !== undefined && worker.exitCode !== 0) {
      return { label: 'stopped', failed: `the dump task exited with code ${worker.exitCode}; its CloudWatch log says why` };
    }
    return { label: `task ${task?.lastStatus?.toLowerCase() ?? 'starting'}` };
  }
  return { label: 'running' };
}

/** A task ARN's resource is `task/<cluster>/<task id>`. */
function clusterOfTask(taskArn: string): string | undefined {
  return parseArn(taskArn).resource.split('/')[1];
}

function describeRecord(record: RunRecord): string {
  return [record.manifestKey ? `manifest ${record.manifestKey}` : undefined, record.bytes ? formatBytes(record.bytes) : undefined]
    .filter(Boolean)
    .join(', ');
}
