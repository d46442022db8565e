/**
 * Reading and validating `safekeep.config.yaml`. A bad config becomes a `ConfigError` holding one line per
 * problem, each naming the target, the field, the value given and what is allowed, so `cdk synth`
 * can print them all at once instead of a stack trace.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type * as z from '../zod.ts';
import { configSchema, crossTargetIssues, type SafekeepConfig, TARGET_KINDS } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source} is not a valid Safekeep config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.source = source;
    this.problems = problems;
  }
}

/** Shown after "is missing" for fields whose purpose is not obvious from their name. */
const MISSING_HINTS: Record<string, string> = {
  secret: 'name or ARN of the Secrets Manager secret holding username and password',
  network: 'vpcId, subnetIds and securityGroupIds the dump task runs in',
  source: 'what to back up (see the example config for each kind)',
  host: 'the database server host name',
  kind: `one of ${TARGET_KINDS.join(', ')}`,
  name: 'a unique target name',
  expression: 'cron(...) or rate(...)',
  targets: 'a list of targets',
};

export function loadConfigFile(path: string): SafekeepConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [
      `cannot read the config (${reason}); copy safekeep.config.yaml and pass its path with -c config=PATH or SAFEKEEP_CONFIG`,
    ]);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, source: string): SafekeepConfig {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((e) => {
        const at = e.linePos?.[0];
        const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `YAML syntax${at ? ` at line ${at.line} column ${at.col}` : ''}: ${what}`;
      }),
    );
  }
  return parseConfig(document.toJS(), source);
}

/** Validates an already-parsed config object (the L3 construct's props take this path too). */
export function parseConfig(raw: unknown, source: string): SafekeepConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  // zod skips the cross-target refinement when a field failed; run it here so every problem is reported at once.
  const crossTarget = crossTargetIssues(raw).map((issue) => ({ code: 'custom' as const, input: undefined, ...issue }));
  throw new ConfigError(source, formatConfigIssues([...result.error.issues, ...crossTarget], raw));
}

export function formatConfigIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string[] {
  const lines = issues.flatMap((issue) => expand(issue)).map((issue) => describe(issue, raw));
  return [...new Set(lines)];
}

/** Unknown keys are reported once per object by zod; we want one line per key. */
function expand(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ ...issue, keys: [key], path: [...issue.path, key] }));
  }
  return [issue];
}

function describe(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? p.toString() : p));
  const where = location(path, raw);
  const given = valueAt(raw, path);
  const field = path.at(-1);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field; remove it or check its spelling against the example config`;
  }
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return `${where}: got ${show(given)}; must be one of ${TARGET_KINDS.join(', ')}`;
  }
  if (given === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    const hint = typeof field === 'string' ? MISSING_HINTS[field] : undefined;
    return `${where}: is missing; add ${hint ?? `a value (${issue.code === 'invalid_type' ? issue.expected : 'see the example config'})`}`;
  }
  if (issue.code === 'custom' && path.length > 0 && issue.message.startsWith('is required')) {
    return `${where}: ${issue.message}`;
  }
  if (issue.code === 'custom' && given === undefined && path.length > 0) {
    return `${where}: not set, and its default does not fit; ${issue.message}`;
  }
  return `${where}: got ${show(given)}; ${allowed(issue)}`;
}

function allowed(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array'
        ? customOr(issue, `list at least ${issue.minimum}`)
        : customOr(issue, `must be at least ${issue.minimum}`);
    case 'too_big':
      return issue.origin === 'array' ? `list at most ${issue.maximum}` : `must be at most ${issue.maximum}`;
    default:
      return issue.message;
  }
}

/** zod's default messages are generic; keep ours when the schema gave one. */
function customOr(issue: z.core.$ZodIssue, fallback: string): string {
  return issue.message.startsWith('Too small') || issue.message.startsWith('Invalid') ? fallback : issue.message;
}

/** `target "orders-db" field schedule.expression`, or a top-level path when the problem is outside targets. */
function location(path: readonly PropertyKey[], raw: unknown): string {
  if (path[0] === 'targets' && typeof path[1] === 'number') {
    const name = valueAt(raw, ['targets', path[1], 'name']);
    const label = typeof name === 'string' && name !== '' ? `target "${name}"` : `target #${path[1] + 1}`;
    const rest = path.slice(2);
    return rest.length > 0 ? `${label} (targets[${path[1]}]) field ${dotted(rest)}` : `${label} (targets[${path[1]}])`;
  }
  return path.length > 0 ? `field ${dotted(path)}` : 'config';
}

function dotted(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out === '' ? String(part) : `${out}.${String(part)}`;
  }, '');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
