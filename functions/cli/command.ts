/**
 * One declarative definition per command: its name, summary, positionals, flags and examples. The
 * node:util parseArgs options and the `--help` text are both derived from it, so a flag cannot be parsed
 * without being documented, nor documented without being parsed.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from '../contracts/errors.ts';
import type { CliContext } from './context.ts';

export interface FlagDefinition {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Applied by parseArgs when the flag is absent; shown in the help. */
  readonly default?: string | boolean;
  /** How the value reads in the help: `URL`, `zstd|gzip|none`. String flags only. */
  readonly placeholder?: string;
  /** One line for the help. */
  readonly description: string;
  /**
   * Shown in the usage line. The command itself checks it (its error names an example value that may depend
   * on other flags, such as `--source postgres://...` for `--engine postgres`).
   */
  readonly required?: boolean;
}

export type FlagDefinitions = Readonly<Record<string, FlagDefinition>>;

export interface PositionalDefinition {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Takes any number of values. */
  readonly variadic?: boolean;
}

/** Flags every command takes. */
export const COMMON_FLAGS = {
  json: { type: 'boolean', description: 'machine output on stdout (errors too: {"ok": false, ...})' },
  verbose: { type: 'boolean', description: 'log what happens on stderr' },
  'endpoint-url': {
    type: 'string',
    placeholder: 'URL',
    description: 'send AWS requests here (an S3-compatible store, a local peer)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies FlagDefinitions;

type ValueOf<D extends FlagDefinition> = D['type'] extends 'boolean' ? boolean : string;

/** The parsed values: flags with a default are always present. */
export type FlagValues<F extends FlagDefinitions> = {
  -readonly [K in keyof F as F[K] extends { default: string | boolean } ? K : never]: ValueOf<F[K]>;
} & {
  -readonly [K in keyof F as F[K] extends { default: string | boolean } ? never : K]?: ValueOf<F[K]>;
};

export interface ParsedArgs<F extends FlagDefinitions> {
  readonly values: FlagValues<F> & FlagValues<typeof COMMON_FLAGS>;
  readonly positionals: string[];
}

export interface CommandDefinition<F extends FlagDefinitions = FlagDefinitions> {
  readonly name: string;
  /** One line, for `safekeep --help` and the top of the command's help. */
  readonly summary: string;
  readonly positionals?: readonly PositionalDefinition[];
  /**
   * Usage lines for a command with several forms (`safekeep dump --engine ...` and `safekeep dump --target ...`);
   * by default one line is built from the positionals and the required flags.
   */
  readonly usage?: readonly string[];
  /** The command's own flags; COMMON_FLAGS are added to every command. */
  readonly flags: F;
  /** Lines printed after the options (where secrets come from, what a flag implies). */
  readonly notes?: readonly string[];
  /** Complete command lines, `safekeep ...`. */
  readonly examples?: readonly string[];
  run(args: ParsedArgs<F>, context: CliContext): Promise<number>;
}

/** A defined command with its flag types erased, so commands with different flags share one list. */
export interface Command extends Omit<CommandDefinition, 'run'> {
  /** Parses `args` against the definition (UsageError on a mistake); the result runs with those values. */
  parse(args: string[]): { readonly help: boolean; run(context: CliContext): Promise<number> };
}

export function defineCommand<const F extends FlagDefinitions>(definition: CommandDefinition<F>): Command {
  const { run, ...described } = definition;
  return {
    ...described,
    parse(args) {
      const parsed = parseCommandArgs(definition, args);
      return { help: parsed.values.help ?? false, run: (context) => run(parsed, context) };
    },
  };
}

/** The command's flags and the common ones, in the order the help lists them. */
export function allFlags(definition: Pick<CommandDefinition, 'flags'>): FlagDefinitions {
  return { ...definition.flags, ...COMMON_FLAGS };
}

/** The parseArgs options a definition stands for. */
export function parseArgsOptions(definition: Pick<CommandDefinition, 'flags'>): ParseArgsOptionsConfig {
  return Object.fromEntries(
    Object.entries(allFlags(definition)).map(([name, flag]) => [
      name,
      {
        type: flag.type,
        ...(flag.short === undefined ? {} : { short: flag.short }),
        ...(flag.default === undefined ? {} : { default: flag.default }),
      },
    ]),
  ) as ParseArgsOptionsConfig;
}

/** parseArgs in strict mode over the definition; every mistake is one UsageError line that points at the help. */
export function parseCommandArgs<F extends FlagDefinitions>(definition: CommandDefinition<F>, args: string[]): ParsedArgs<F> {
  const options = parseArgsOptions(definition);
  const allowPositionals = (definition.positionals?.length ?? 0) > 0;
  const help = `run safekeep ${definition.name} --help`;
  // Named here rather than through parseArgs' message, which also explains positionals when a command takes them.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const unknown = tokens.find((token) => token.kind === 'option' && !Object.hasOwn(options, token.name));
  if (unknown?.kind === 'option') throw new UsageError(`Unknown option '${unknown.rawName}'; ${help}`);
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: values as ParsedArgs<F>['values'], positionals };
  } catch (error) {
    if (!(error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw error;
    const [firstLine] = (error as Error).message.split('\n');
    throw new UsageError(`${firstLine}; ${help}`);
  }
}
