/**
 * Dolt's own completeness check of a stored backup, on this machine: `dolt backup restore` into a scratch
 * directory (reading the files from S3 and the remote's manifest from DynamoDB, as a real restore would),
 * `dolt fsck` over everything restored, and the restored branch heads, tags and dirty branches against the
 * manifest.
 */
import { join } from 'node:path';
import { IntegrityError, PreflightError } from '../../../contracts/errors.ts';
import type { DoltDatabaseManifest } from '../../../contracts/manifest.ts';
import { runTool, type ToolRun } from '../../adapters/child-process.ts';
import type { VerifyRequest } from '../engine.ts';
import { assertRefsMatch, readRefs } from './refs.ts';
import type { DoltSession } from './session.ts';
import { awsToolEnvironment, doltBinary, scratchDirectory } from './tools.ts';

export async function checkWithDoltCli(entry: DoltDatabaseManifest, request: VerifyRequest): Promise<void> {
  const scratch = await scratchDirectory('dolt-verify');
  const aws = awsToolEnvironment(request.endpointUrl);
  const dolt = async (args: string[], cwd: string, description: string) => {
    const run: ToolRun = {
      command: doltBinary(),
      args,
      env: { ...aws.env, DOLT_ROOT_PATH: scratch.home },
      secrets: aws.secrets,
      timeoutMs: request.timeoutMs,
      cwd,
      description,
    };
    const { stdout, exit } = await runTool(run);
    if (exit.code === 127) throw new PreflightError(`${exit.stderrTail}; install Dolt or set SAFEKEEP_DOLT_BIN`);
    return { stdout, failed: exit.code !== 0 ? exit.stderrTail || `exit code ${exit.code}` : undefined };
  };
  try {
    const restored = join(scratch.path, 'restored');
    const restore = await dolt(
      ['backup', 'restore', entry.url, 'restored'],
      scratch.path,
      `dolt backup restore of ${entry.database}`,
    );
    if (restore.failed) {
      throw new IntegrityError(`the backup of "${entry.database}" at ${entry.url} cannot be restored (dolt: ${restore.failed})`);
    }
    const fsck = await dolt(['fsck', '--quiet'], restored, `dolt fsck of ${entry.database}`);
    if (fsck.failed) throw new IntegrityError(`the backup of "${entry.database}" is damaged (dolt fsck: ${fsck.failed})`);
    const session: DoltSession = {
      async rows<T extends object>(sql: string) {
        const query = await dolt(['sql', '--result-format', 'json', '--query', sql], restored, `dolt sql in ${entry.database}`);
        if (query.failed) throw new IntegrityError(`reading the restored "${entry.database}" failed (dolt: ${query.failed})`);
        // An empty result is "{}".
        return ((JSON.parse(query.stdout || '{}') as { rows?: T[] }).rows ?? []) as T[];
      },
      procedure: () => Promise.reject(new Error('not used on a scratch restore')),
    };
    assertRefsMatch(entry, await readRefs(session), `the scratch restore of "${entry.database}"`);
  } finally {
    await scratch.dispose();
  }
}
