/**
 * The deployment document: every fact Safekeep's deployed code needs about its own deployment, in one typed
 * document. infra/constructs/deployment-document.ts writes it once at synth; `parseDeployment` validates it
 * once when it is read, whoever reads it (the Lambda functions, the Fargate task, the CLI).
 *
 * Its two halves are known at different times, so they travel apart and are joined by the one loader:
 * - what synth knows (the validated targets, the stack): in each function's bundle as `deployment.json`;
 * - what only CloudFormation knows (bucket, table, state machine, cluster, function names): in
 *   SAFEKEEP_DEPLOYMENT as `{ "resources": ... }`.
 * A Fargate task gets the whole document (its own target only) in SAFEKEEP_DEPLOYMENT; the CLI assembles it
 * from the SSM parameters the stack publishes under /safekeep/<stack>/.
 */
import {
  type DumpTarget,
  isDumpTarget,
  isSnapshotTarget,
  type SnapshotTarget,
  type Target,
  targetSchema,
} from './config/schema.ts';
import { UsageError } from './errors.ts';
import * as z from './zod.ts';

/** The static half's file name in every function bundle. */
export const DEPLOYMENT_FILE = 'deployment.json';
/** The environment variable holding the deploy-time half (or, for a task, the whole document). */
export const DEPLOYMENT_VARIABLE = 'SAFEKEEP_DEPLOYMENT';
/** The dump container's name in every task definition (RunTask overrides name it). */
export const WORKER_CONTAINER = 'worker';

export const deploymentResourcesSchema = z.object({
  region: z.string().check(z.minLength(1)),
  /** The artifact bucket. */
  bucket: z.string().check(z.minLength(1)),
  /** The runs table (DynamoDB). */
  runsTable: z.string().check(z.minLength(1)),
  /** The snapshot state machine; absent without snapshot targets. */
  stateMachineArn: z.optional(z.string().check(z.minLength(1))),
  /** The ECS cluster of Fargate dump tasks. */
  cluster: z.optional(z.string().check(z.minLength(1))),
  /** DynamoDB table of Dolt's aws:// remotes; only with Dolt or Doltgres targets. */
  doltTable: z.optional(z.string().check(z.minLength(1))),
  /** The Lambda worker function of each target with runner "lambda". */
  workers: z._default(z.record(z.string(), z.string()), {}),
  /** The restore drill state machine of snapshot targets; absent without a snapshot target that drills. */
  snapshotDrillStateMachineArn: z.optional(z.string().check(z.minLength(1))),
  /** The security group of each dump target's drill task (no ingress, HTTPS egress only). */
  drillSecurityGroups: z._default(z.record(z.string(), z.string()), {}),
});

/**
 * A target as synth resolved it: the config schema's output, defaults applied. Parsing it again is
 * idempotent; the config-wide checks (unique names, schedule intervals) ran at synth and are not repeated.
 */
const deployedTargetSchema = targetSchema.check(
  z.superRefine((target, ctx) => {
    if (target.schedule === undefined || target.alerts === undefined) {
      ctx.addIssue({ code: 'custom', message: `target "${target.name}" lacks its resolved schedule or alerts` });
    }
  }),
) as unknown as z.ZodMiniType<Target>;

export const deploymentSchema = z.object({
  version: z.literal(1),
  stack: z.string().check(z.minLength(1)),
  /** Task definition family of a Fargate target: `<prefix>-<target>`. */
  taskFamilyPrefix: z.string().check(z.minLength(1)),
  targets: z.array(deployedTargetSchema),
  resources: deploymentResourcesSchema,
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type DeploymentResources = z.infer<typeof deploymentResourcesSchema>;

/** Validates a deployment document; one line naming every problem (a document synth did not write). */
export function parseDeployment(raw: unknown, source: string): Deployment {
  const result = deploymentSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'document'}: ${issue.message}`);
  throw new UsageError(`${source} is not a Safekeep deployment document (${problems.join('; ')}); redeploy the stack`);
}

/**
 * What stands in the bundled half for a value only CloudFormation knows (a target's secret ARN or subnet ids
 * given as references in a CDK app): the variable half's `deferred` maps each placeholder to its value.
 */
export const DEFERRED_PREFIX = 'safekeep-deferred:';

/**
 * Joins the halves: `variable` (SAFEKEEP_DEPLOYMENT's JSON) wins over `bundled` (deployment.json), field by
 * field, so a task's whole document needs no file and a function's resources need no targets; then every
 * deferred placeholder in it is replaced by its value.
 */
export function joinDeploymentHalves(bundled: unknown, variable: unknown): unknown {
  const asObject = (value: unknown) => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
  const { deferred, ...rest } = asObject(variable);
  const values = asObject(deferred);
  const resolve = (node: unknown): unknown => {
    if (typeof node === 'string' && node.startsWith(DEFERRED_PREFIX) && typeof values[node] === 'string') return values[node];
    if (Array.isArray(node)) return node.map(resolve);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
    return node;
  };
  return resolve({ ...asObject(bundled), ...rest });
}

/** The named target, or an error that lists the ones that exist (a typo in a console test event). */
export function deploymentTarget(deployment: Deployment, name: string): Target {
  const target = deployment.targets.find((t) => t.name === name);
  if (!target) {
    throw new UsageError(
      `no target named "${name}" in this deployment; targets: ${deployment.targets.map((t) => t.name).join(', ') || 'none'}`,
    );
  }
  return target;
}

export function deployedSnapshotTarget(deployment: Deployment, name: string): SnapshotTarget {
  const target = deploymentTarget(deployment, name);
  if (!isSnapshotTarget(target))
    throw new UsageError(`target "${name}" is a ${target.kind} dump; its runs go through the dump task, not snapshots`);
  return target;
}

export function deployedDumpTarget(deployment: Deployment, name: string): DumpTarget {
  const target = deploymentTarget(deployment, name);
  if (!isDumpTarget(target))
    throw new UsageError(`target "${name}" is a ${target.kind} snapshot target; only dump targets are dumped`);
  return target;
}

/** The task definition family of a Fargate dump target. */
export function taskFamilyOf(deployment: Pick<Deployment, 'taskFamilyPrefix'>, target: string): string {
  return `${deployment.taskFamilyPrefix}-${target}`;
}

/**
 * The task definition family of a dump target's restore drill. `_` cannot occur in a target name, so no
 * target's dump family (`<prefix>-<target>`) is ever another's drill family.
 */
export function drillTaskFamilyOf(deployment: Pick<Deployment, 'taskFamilyPrefix'>, target: string): string {
  return `${taskFamilyOf(deployment, target)}_drill`;
}

/**
 * Where the stack publishes its document for the CLI: `<prefix>/deployment` holds it without its targets,
 * `<prefix>/targets/<name>` each target (one parameter each, so no parameter outgrows SSM's size limit).
 */
export function publishedDeploymentPath(stack: string): { prefix: string; document: string; targets: string } {
  const prefix = `/safekeep/${stack}`;
  return { prefix, document: `${prefix}/deployment`, targets: `${prefix}/targets/` };
}
