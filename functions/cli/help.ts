/** `--help` text, written from the same definitions the flags are parsed from. */
import { allFlags, type Command, type FlagDefinition } from './command.ts';

const COLUMN = 30;

export const PASSWORDS_NOTE =
  'Passwords come from SAFEKEEP_DB_PASSWORD (or PGPASSWORD / MYSQL_PWD) or a Secrets Manager secret (--secret),\nnever from the command line.';

/** `--engine postgres|mysql`, `--swap`, `-h, --help`. */
function flagLabel(name: string, flag: FlagDefinition): string {
  const long = flag.type === 'string' ? `--${name} ${flag.placeholder ?? 'VALUE'}` : `--${name}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

function positionalLabel({ name, required, variadic }: { name: string; required?: boolean; variadic?: boolean }): string {
  const label = `<${name}>${variadic ? ' ...' : ''}`;
  return required ? label : `[${label}]`;
}

/** `safekeep run <target> [options]`: positionals, then the required flags, then the rest as [options]. */
export function usageLine(definition: Command): string {
  if (definition.usage?.[0]) return definition.usage[0];
  const required = Object.entries(definition.flags)
    .filter(([, flag]) => flag.required)
    .map(([name, flag]) => flagLabel(name, flag));
  return ['safekeep', definition.name, ...(definition.positionals ?? []).map(positionalLabel), ...required, '[options]'].join(
    ' ',
  );
}

/** Two columns; a label too wide for the first puts its text on the next line. */
function rows(entries: readonly (readonly [string, string])[]): string[] {
  return entries.flatMap(([label, text]) =>
    label.length < COLUMN - 3 ? [`  ${label.padEnd(COLUMN - 2)}${text}`] : [`  ${label}`, `${' '.repeat(COLUMN)}${text}`],
  );
}

function describeFlag(flag: FlagDefinition): string {
  const facts = [
    ...(flag.required ? ['required'] : []),
    ...(typeof flag.default === 'string' ? [`default ${flag.default}`] : []),
    ...(flag.default === true ? ['on by default'] : []),
  ];
  return facts.length > 0 ? `${flag.description} (${facts.join(', ')})` : flag.description;
}

/** What `safekeep <command> --help` prints. */
export function commandHelp(definition: Command): string {
  const [first, ...others] = definition.usage ?? [usageLine(definition)];
  const sections = [[`usage: ${first}`, ...others.map((line) => `       ${line}`), '', definition.summary]];
  if (definition.positionals?.length) {
    sections.push(['arguments:', ...rows(definition.positionals.map((p) => [positionalLabel(p), p.description]))]);
  }
  sections.push([
    'options:',
    ...rows(Object.entries(allFlags(definition)).map(([name, flag]) => [flagLabel(name, flag), describeFlag(flag)])),
  ]);
  if (definition.notes?.length) sections.push([...definition.notes]);
  if (definition.examples?.length) sections.push(['examples:', ...definition.examples.map((example) => `  ${example}`)]);
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

/** What `safekeep --help` prints: every command with its summary. */
export function overviewHelp(definitions: readonly Command[], notes: readonly string[]): string {
  const width = Math.max(...definitions.map((d) => d.name.length)) + 2;
  return [
    'usage: safekeep <command> [options]',
    '',
    'commands:',
    ...definitions.map((d) => `  ${d.name.padEnd(width)}${d.summary}`),
    '',
    'Run safekeep <command> --help (or safekeep help <command>) for its arguments, options and examples.',
    '',
    ...notes,
    '',
  ].join('\n');
}
