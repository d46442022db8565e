import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { SafekeepConfig, Target } from '#functions/contracts/config/schema.ts';
import {
  DEFERRED_PREFIX,
  DEPLOYMENT_VARIABLE,
  type Deployment,
  type DeploymentResources,
  publishedDeploymentPath,
} from '#functions/contracts/deployment.ts';

export interface DeploymentDocumentProps {
  /** The validated config: its targets are the document's. */
  readonly config: SafekeepConfig;
  /** Task definition family prefix of the Fargate dump targets (`<prefix>-<target>`). */
  readonly taskFamilyPrefix: string;
}

/** Resources only the dispatcher reads; naming them in other functions would make CloudFormation cycles. */
type RunnerResources = 'stateMachineArn' | 'workers' | 'snapshotDrillStateMachineArn' | 'drillSecurityGroups';

/** What a function or task gets of the document. */
export interface DeploymentSlice {
  /**
   * Which targets it carries.
   * @default - every target
   */
  readonly targets?: (target: Target) => boolean;
  /**
   * Whether it names the runners (state machine, Lambda workers): only the dispatcher needs them.
   * @default false
   */
  readonly runners?: boolean;
}

/**
 * The deployment document (`functions/contracts/deployment.ts`), written once at synth: the validated targets
 * from the config and the resources the other constructs register as they are created. Functions receive it
 * as a bundled `deployment.json` plus SAFEKEEP_DEPLOYMENT (its deploy-time half), a Fargate task whole in
 * SAFEKEEP_DEPLOYMENT, the CLI from the SSM parameters under /safekeep/<stack>/.
 */
export class DeploymentDocument extends Construct {
  /** Targets and stack, known at synth. */
  readonly config: SafekeepConfig;
  readonly taskFamilyPrefix: string;
  private readonly resources: Partial<DeploymentResources> = {};
  /** The targets as bundled at synth: each token (a value CloudFormation resolves) replaced by a placeholder. */
  private readonly bundledTargets: readonly Target[];
  /** Each placeholder's token, for the deploy-time half of whoever bundles it. */
  private readonly deferred = new Map<string, string>();

  constructor(scope: Construct, id: string, props: DeploymentDocumentProps) {
    super(scope, id);
    this.config = props.config;
    this.taskFamilyPrefix = props.taskFamilyPrefix;
    this.resources.region = Stack.of(this).region;
    this.bundledTargets = this.config.targets.map((target) => this.deferTokens(target) as Target);
  }

  /** Records where a resource is (tokens are fine: they resolve at deploy time). */
  register(resources: Partial<Omit<DeploymentResources, 'region'>>): void {
    Object.assign(this.resources, resources);
  }

  /** The synth-time half for a function's bundle, staged as a file named by its hash (for the bundler to copy). */
  stageBundledHalf(slice: DeploymentSlice = {}): string {
    const half = {
      version: 1,
      stack: Stack.of(this).stackName,
      taskFamilyPrefix: this.taskFamilyPrefix,
      targets: this.bundledTargets.filter(slice.targets ?? (() => true)),
    };
    const text = `${JSON.stringify(half)}\n`;
    const dir = join(tmpdir(), 'safekeep-deployment');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`);
    writeFileSync(path, text);
    return path;
  }

  /** SAFEKEEP_DEPLOYMENT for a function whose bundle holds the other half: the resources, resolved at deploy time. */
  functionEnvironment(slice: DeploymentSlice = {}): Record<string, string> {
    return {
      [DEPLOYMENT_VARIABLE]: Lazy.string({
        produce: () => Stack.of(this).toJsonString({ resources: this.resourcesFor(slice), ...this.deferredFor(slice) }),
      }),
    };
  }

  /** SAFEKEEP_DEPLOYMENT for a Fargate task: the whole document, holding its own target only. */
  taskEnvironment(target: Target): Record<string, string> {
    return {
      [DEPLOYMENT_VARIABLE]: Lazy.string({
        produce: () => Stack.of(this).toJsonString(this.documentFor({ targets: (t) => t.name === target.name })),
      }),
    };
  }

  /** Publishes the whole document for the CLI, one parameter for the rest and one per target. */
  publish(): void {
    const path = publishedDeploymentPath(Stack.of(this).stackName);
    const { targets: _targets, ...rest } = this.documentFor({ runners: true });
    new ssm.StringParameter(this, 'Parameter', {
      parameterName: path.document,
      description: 'Safekeep: where this deployment runs things (read by safekeep run and status)',
      stringValue: Lazy.string({ produce: () => Stack.of(this).toJsonString(rest) }),
    });
    for (const target of this.config.targets) {
      new ssm.StringParameter(this, `Target-${target.name}`, {
        parameterName: `${path.targets}${target.name}`,
        description: `Safekeep: the validated config of target ${target.name}`,
        // A target holding tokens is JSON only once CloudFormation resolves them.
        stringValue: Token.isUnresolved(JSON.stringify(target)) ? Stack.of(this).toJsonString(target) : JSON.stringify(target),
      });
    }
  }

  /** Replaces every token in `node` by a placeholder the loader swaps back for its value (joinDeploymentHalves). */
  private deferTokens(node: unknown): unknown {
    if (typeof node === 'string' && Token.isUnresolved(node)) {
      const placeholder = `${DEFERRED_PREFIX}${this.deferred.size}`;
      this.deferred.set(placeholder, node);
      return placeholder;
    }
    if (Array.isArray(node)) return node.map((item) => this.deferTokens(item));
    if (node && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, this.deferTokens(value)]));
    }
    return node;
  }

  /** The values of the placeholders in the slice's bundled targets (none without tokens: the half stays as it was). */
  private deferredFor(slice: DeploymentSlice): { deferred?: Record<string, string> } {
    const bundled = JSON.stringify(this.bundledTargets.filter(slice.targets ?? (() => true)));
    const used = [...this.deferred].filter(([placeholder]) => bundled.includes(`"${placeholder}"`));
    return used.length > 0 ? { deferred: Object.fromEntries(used) } : {};
  }

  private documentFor(slice: DeploymentSlice): Deployment {
    return {
      version: 1,
      stack: Stack.of(this).stackName,
      taskFamilyPrefix: this.taskFamilyPrefix,
      targets: this.config.targets.filter(slice.targets ?? (() => true)),
      resources: this.resourcesFor(slice),
    };
  }

  private resourcesFor(slice: DeploymentSlice): DeploymentResources {
    const { region, bucket, runsTable } = this.resources;
    if (!region || !bucket || !runsTable) {
      throw new Error('DeploymentDocument: the artifact bucket and the runs table must be registered before synth');
    }
    const runners: RunnerResources[] = ['stateMachineArn', 'workers', 'snapshotDrillStateMachineArn', 'drillSecurityGroups'];
    const picked = Object.fromEntries(
      Object.entries(this.resources).filter(([key]) => slice.runners || !runners.includes(key as RunnerResources)),
    );
    return { workers: {}, drillSecurityGroups: {}, ...picked, region, bucket, runsTable } as DeploymentResources;
  }
}
