/**
 * Token-aware config validation. In a CDK app a field may hold a token (`secret.secretArn`, `vpc.vpcId`): a
 * value CloudFormation resolves at deploy time, which no regex can check at synth. The fields that may name
 * a resource this way take a token; every literal is validated exactly as `parseConfig` validates the YAML.
 * The schema stays CDK-free: each token is swapped for a placeholder its field accepts, the config is
 * parsed, and the token is put back at the same path of the result.
 */
import { Token } from 'aws-cdk-lib';
import { ConfigError, formatConfigIssues, parseConfig } from '#functions/contracts/config/load.ts';
import {
  configSchema,
  crossTargetIssues,
  type SafekeepConfig,
  type SafekeepConfigInput,
} from '#functions/contracts/config/schema.ts';

type Path = (string | number)[];

/** Where a token may stand, and a literal its field's rule accepts in its place while the rest is checked. */
const DEFERRABLE: readonly { pattern: RegExp; placeholder: (target: Record<string, unknown>) => string }[] = [
  { pattern: /^targets\.\d+\.source\.instanceId$/, placeholder: (t) => (t.kind === 'ec2-instance' ? 'i-00000000' : 'deferred') },
  { pattern: /^targets\.\d+\.source\.clusterId$/, placeholder: () => 'deferred' },
  { pattern: /^targets\.\d+\.source\.volumeId$/, placeholder: () => 'vol-00000000' },
  { pattern: /^targets\.\d+\.source\.host$/, placeholder: () => 'deferred.invalid' },
  { pattern: /^targets\.\d+\.source\.secret$/, placeholder: () => 'deferred' },
  { pattern: /^targets\.\d+\.network\.vpcId$/, placeholder: () => 'vpc-00000000' },
  { pattern: /^targets\.\d+\.network\.subnetIds\.\d+$/, placeholder: () => 'subnet-00000000' },
  { pattern: /^targets\.\d+\.network\.securityGroupIds\.\d+$/, placeholder: () => 'sg-00000000' },
  // In the copy's own region, so the schema's key-region check passes; a key whose region is known is checked in safekeep-props.ts.
  {
    pattern: /^targets\.\d+\.copy\.kmsKeyArn$/,
    placeholder: (t) => `arn:aws:kms:${regionOf(t.copy)}:000000000000:key/deferred`,
  },
  { pattern: /^bucket\.breakGlassRoleArn$/, placeholder: () => 'arn:aws:iam::000000000000:role/deferred' },
];

const DEPLOY_TIME_ONLY =
  'is known only at deploy time (a CDK token), and Safekeep needs this field at synth; give a literal value';

/**
 * `parseConfig` for the construct's props: tokens pass in the fields that name resources, and stay tokens in
 * the result; a token anywhere else, and every invalid literal, is a `ConfigError` line as for the YAML.
 */
export function parseConfigWithTokens(
  input: SafekeepConfigInput,
  source: string,
  placeholders: ReadonlyMap<string, string> = new Map(),
): SafekeepConfig {
  const tokens: { path: Path; value: unknown }[] = [];
  const misplaced: Path[] = [];
  const substituted = substitute(input, [], { root: input, tokens, misplaced, placeholders });
  if (misplaced.length > 0) {
    const issues = misplaced.map((path) => ({ code: 'custom' as const, path, message: DEPLOY_TIME_ONLY, input: undefined }));
    throw new ConfigError(source, formatConfigIssues(issues, input));
  }
  if (tokens.length === 0) return parseConfig(input, source);
  // As parseConfig, but the problems are worded against the input: a placeholder is never shown as the value given.
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    const crossTarget = crossTargetIssues(substituted).map((issue) => ({ code: 'custom' as const, input: undefined, ...issue }));
    throw new ConfigError(source, formatConfigIssues([...result.error.issues, ...crossTarget], input));
  }
  const config = result.data;
  for (const { path, value } of tokens) setAt(config, path, value);
  return config;
}

interface Walk {
  readonly root: unknown;
  readonly tokens: { path: Path; value: unknown }[];
  readonly misplaced: Path[];
  /** Placeholders by dotted path, where the caller knows better than the field's default (a key's region). */
  readonly placeholders: ReadonlyMap<string, string>;
}

function substitute(node: unknown, path: Path, walk: Walk): unknown {
  if (node === null || node === undefined || typeof node === 'boolean') return node;
  if (Token.isUnresolved(node)) {
    const dotted = path.join('.');
    const rule = typeof node === 'string' ? DEFERRABLE.find((r) => r.pattern.test(dotted)) : undefined;
    if (!rule) {
      walk.misplaced.push(path);
      return node;
    }
    walk.tokens.push({ path, value: node });
    const target = path[0] === 'targets' ? (valueAt(walk.root, path.slice(0, 2)) as Record<string, unknown>) : {};
    return walk.placeholders.get(dotted) ?? rule.placeholder(target ?? {});
  }
  if (Array.isArray(node)) return node.map((item, index) => substitute(item, [...path, index], walk));
  // Only plain data is walked: a construct or other object given where a field belongs is the schema's to reject.
  if (typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, substitute(value, [...path, key], walk)]));
  }
  return node;
}

function regionOf(copy: unknown): string {
  const region = (copy as { region?: unknown } | undefined)?.region;
  return typeof region === 'string' && !Token.isUnresolved(region) ? region : 'us-east-1';
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** The schema keeps the paths of these fields (it copies source, network and copy as given), so the token goes back where it was. */
function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = valueAt(root, path.slice(0, -1));
  const last = path.at(-1);
  if (parent === null || typeof parent !== 'object' || last === undefined) {
    throw new Error(`unreachable: the validated config lost the field ${path.join('.')}`);
  }
  (parent as Record<string | number, unknown>)[last] = value;
}
