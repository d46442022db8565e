/**
 * `safekeep`: the command line. Each command parses its own flags, calls one flow of the worker, and
 * prints a result (human or --json) on stdout. Every failure becomes one line on stderr and an exit code.
 */

import { EXIT, SafekeepError, UsageError } from '../contracts/errors.ts';
import { dumpCommand } from './commands/dump.ts';
import { listCommand } from './commands/list.ts';
import { restoreCommand } from './commands/restore.ts';
import { runCommand } from './commands/run.ts';
import { pruneCommand, snapshotCommand } from './commands/snapshot.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';
import { type CliContext, defaultContext } from './context.ts';

export type Command = (args: string[], context: CliContext) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  dump: { run: dumpCommand, summary: 'stream a database backup into S3 and record it once it is whole' },
  restore: { run: restoreCommand, summary: 'restore a backup into a new database, or swap it into place' },
  verify: { run: verifyCommand, summary: 'check a stored backup against its manifest and the engine' },
  list: { run: listCommand, summary: 'list the backups in a bucket' },
  snapshot: { run: snapshotCommand, summary: "take a snapshot target's snapshots now (and their copies)" },
  prune: { run: pruneCommand, summary: "apply a snapshot target's retention to the snapshots Safekeep made" },
  run: { run: runCommand, summary: 'start a run of a deployed target now (--wait follows it to the end)' },
  status: { run: statusCommand, summary: 'last good backup, its age and the last failure of deployed targets' },
};

const USAGE = `usage: safekeep <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(9)} ${summary}`)
  .join('\n')}

  safekeep dump --engine postgres|mysql|dolt|doltgres --source <url> --to s3://bucket/prefix
                [--endpoint-url U] [--compression zstd|gzip|none] [--secret ID] [--timeout 4h] [--json]
                [--part-size 64MiB] [--dolt-dynamodb-table T | --dolt-url file:///...]
  safekeep restore --from s3://.../manifest.json --target <url> [--database NAME] [--swap] [--force]
                [--with-globals] [--endpoint-url U] [--json]
  safekeep verify --from s3://.../manifest.json [--endpoint-url U] [--json]
  safekeep list --bucket B [--target T] [--endpoint-url U] [--json]
  safekeep snapshot --config F --target T [--region R] [--endpoint-url U] [--json]
  safekeep prune --config F --target T [--dry-run] [--region R] [--endpoint-url U] [--json]
  safekeep run <target> [--wait] [--stack Safekeep] [--region R] [--timeout 6h] [--json]
  safekeep status [<target> ...] [--stack Safekeep] [--region R] [--json]

Passwords come from SAFEKEEP_DB_PASSWORD (or PGPASSWORD / MYSQL_PWD) or a Secrets Manager secret (--secret),
never from the command line.
`;

export async function main(argv: readonly string[], context: CliContext = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    context.terminal.stdout.write(USAGE);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  const json = rest.includes('--json');
  if (!command) return fail(context, new UsageError(`unknown command "${name}"; run safekeep --help`), json);
  try {
    return await command.run(rest, context);
  } catch (error) {
    return fail(context, error, json, rest.includes('--verbose'));
  }
}

function fail(context: CliContext, error: unknown, json: boolean, verbose = false): number {
  const known = error instanceof SafekeepError ? error : toSafekeepError(error);
  context.terminal.stderr.write(`safekeep: ${known.message}\n`);
  if (verbose && !(error instanceof SafekeepError) && error instanceof Error && error.stack)
    context.terminal.stderr.write(`${error.stack}\n`);
  if (json) context.terminal.stdout.write(`${JSON.stringify({ ok: false, error: known.message, exitCode: known.exitCode })}\n`);
  return known.exitCode;
}

function toSafekeepError(error: unknown): SafekeepError {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs reports unknown or malformed flags as TypeErrors with a code.
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return new UsageError(`${message}; run safekeep --help`);
  return new SafekeepError(`unexpected failure: ${message}`);
}
