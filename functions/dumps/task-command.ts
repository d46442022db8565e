/**
 * The command the dump task runs, built from the validated target alone: the same in the task definition
 * (synth) and in tests that run the task on this machine. Credentials are never part of it: ECS injects
 * SAFEKEEP_DB_USER and SAFEKEEP_DB_PASSWORD from the target's secret; the run id comes as SAFEKEEP_RUN_ID.
 */
import type { DumpTarget } from '../contracts/config/schema.ts';
import { DEFAULT_PORTS } from './source.ts';

export interface WorkerCommandOptions {
  /** The artifact bucket's name (a CloudFormation token at synth). */
  readonly bucket: string;
  /** DynamoDB table for Dolt's aws:// remotes, for dolt and doltgres targets. */
  readonly doltTable?: string;
}

export function sourceUrl(target: DumpTarget): string {
  const { host, port, databases } = target.source;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${target.kind}://${hostPart}:${port ?? DEFAULT_PORTS[target.kind]}/${(databases ?? []).map(encodeURIComponent).join(',')}`;
}

export function workerCommand(target: DumpTarget, options: WorkerCommandOptions): string[] {
  const command = [
    'dump',
    '--engine',
    target.kind,
    '--source',
    sourceUrl(target),
    '--to',
    `s3://${options.bucket}/${target.name}`,
    '--compression',
    target.compression,
    '--timeout',
    `${target.timeoutMinutes}m`,
    '--json',
  ];
  if ((target.kind === 'dolt' || target.kind === 'doltgres') && options.doltTable)
    command.push('--dolt-dynamodb-table', options.doltTable);
  return command;
}
