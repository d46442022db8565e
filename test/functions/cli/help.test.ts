import { describe, expect, it } from 'vitest';
import { allFlags, parseArgsOptions } from '#functions/cli/command.ts';
import { COMMANDS, main } from '#functions/cli/main.ts';
import { captureTerminal, runCli } from '#test/support/worker.ts';

/** The CLI in-process, with a terminal that records what it was told; nothing here reaches AWS. */
async function cli(args: string[]) {
  const capture = captureTerminal();
  const code = await main(args, {
    env: {},
    terminal: capture.terminal,
    now: () => new Date('2026-11-21T12:00:00Z'),
    openStore: () => {
      throw new Error('--help must not open a store');
    },
    readSecret: () => Promise.reject(new Error('--help must not read a secret')),
  });
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

describe('safekeep <command> --help', () => {
  it.each(COMMANDS.map((command) => [command.name, command] as const))(
    '%s answers --help, -h and help <command> with its usage and every flag it parses',
    async (name, command) => {
      // Act
      const runs = await Promise.all([cli([name, '--help']), cli([name, '-h']), cli(['help', name])]);

      // Assess
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toBe('');
        expect(run.stdout).toBe(runs[0]?.stdout);
      }
      const help = runs[0]?.stdout ?? '';
      expect(help).toMatch(new RegExp(`^usage: safekeep ${name} `));
      expect(help).toContain(command.summary);
      const parsed = Object.keys(parseArgsOptions(command));
      expect(parsed).toEqual(Object.keys(allFlags(command)));
      for (const flag of parsed) expect(help).toMatch(new RegExp(`^  (-\\w, )?--${flag}( |$)`, 'm'));
      for (const positional of command.positionals ?? []) expect(help).toContain(`<${positional.name}>`);
    },
  );

  it('lists every command, with its summary, on safekeep --help and safekeep help', async () => {
    // Act
    const runs = await Promise.all([cli(['--help']), cli(['-h']), cli(['help'])]);

    // Assess
    for (const run of runs) {
      expect(run.code).toBe(0);
      for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command.name.padEnd(10)}${command.summary}\n`);
    }
  });

  it('prints the usage with exit 2 when no command is given', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^usage: safekeep <command> \[options\]/);
  });

  it.each(COMMANDS.map((command) => [command.name] as const))(
    '%s refuses an unknown flag in one line that names it and points at its help',
    async (name) => {
      const run = await cli([name, '--no-such-flag']);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`safekeep: Unknown option '--no-such-flag'; run safekeep ${name} --help\n`);
    },
  );

  it('refuses help about a command that does not exist', async () => {
    const run = await cli(['help', 'backup']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('safekeep: unknown command "backup"; run safekeep --help\n');
  });

  it('answers --help as a real process (bin/safekeep.js)', async () => {
    // Act
    const run = await runCli(['dump', '--help'], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^usage: safekeep dump --engine /);
    expect(run.stdout).toContain('--dolt-dynamodb-table TABLE');
  });
});
