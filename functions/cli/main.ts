/**
 * `safekeep`: the command line. Each command is one definition (commands/*.ts) from which its flags are
 * parsed and its --help is written; it calls one flow of the worker and prints a result (human or --json)
 * on stdout. Every failure becomes one line on stderr and an exit code.
 */

import { EXIT, SafekeepError, UsageError } from '../contracts/errors.ts';
import type { Command } from './command.ts';
import { drillCommand } from './commands/drill.ts';
import { dumpCommand } from './commands/dump.ts';
import { listCommand } from './commands/list.ts';
import { pruneCommand } from './commands/prune.ts';
import { restoreCommand } from './commands/restore.ts';
import { runCommand } from './commands/run.ts';
import { snapshotCommand } from './commands/snapshot.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';
import { type CliContext, defaultContext } from './context.ts';
import { commandHelp, overviewHelp, PASSWORDS_NOTE } from './help.ts';

/** Every command, in the order `safekeep --help` lists them. */
export const COMMANDS: readonly Command[] = [
  dumpCommand,
  restoreCommand,
  verifyCommand,
  drillCommand,
  listCommand,
  snapshotCommand,
  pruneCommand,
  runCommand,
  statusCommand,
];

const commandNamed = (name: string) => COMMANDS.find((command) => command.name === name);

export async function main(argv: readonly string[], context: CliContext = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    context.terminal.stdout.write(overviewHelp(COMMANDS, [PASSWORDS_NOTE]));
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === 'help') {
    const [topic, ...extra] = rest;
    const command = commandNamed(topic ?? '');
    if (!command || extra.length > 0)
      return fail(context, new UsageError(`unknown command "${rest.join(' ')}"; run safekeep --help`), json);
    context.terminal.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  const command = commandNamed(name);
  if (!command) return fail(context, new UsageError(`unknown command "${name}"; run safekeep --help`), json);
  try {
    const parsed = command.parse(rest);
    if (parsed.help) {
      context.terminal.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    return await parsed.run(context);
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
  return new SafekeepError(`unexpected failure: ${message}`);
}
