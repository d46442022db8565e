/**
 * `cdk deploy`, as a user runs it, into a moto server of the test's own (with the CloudFormation plugin in
 * test/support/deploy/moto_cfn_plugin.py): synth through the CLI with no Docker, bootstrap, the assets that
 * need Docker seeded where the CLI looks for them, deploy, every resource read back through the AWS APIs and
 * compared with the template, a second deploy that changes nothing, and `cdk destroy` leaving what the
 * template retains. Both the example config and a maximal one (every target kind and option), concurrently.
 *
 * What this proves and what only a real account can: README.md, "Deploy".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CdkRun,
  cdkEnvironment,
  DEPLOY_ACCOUNT,
  DEPLOY_REGION,
  runCdk,
  seedDockerAssets,
} from '#test/support/deploy/cdk-cli.ts';
import { type DeployMoto, deployMotoMissing, startDeployMoto } from '#test/support/deploy/moto.ts';
import type { CfnTemplate } from '#test/support/deploy/template.ts';
import {
  checkWiring,
  type DeployClients,
  deployClients,
  retainedAfterDestroy,
  type WiringReport,
} from '#test/support/deploy/wiring.ts';

const STACK = 'Safekeep';
const CONFIGS = {
  example: 'safekeep.config.yaml',
  maximal: 'test/fixtures/maximal.config.yaml',
} as const;
type ConfigName = keyof typeof CONFIGS;

interface Round {
  readonly config: ConfigName;
  readonly synth: CdkRun;
  readonly template: CfnTemplate;
  readonly bootstrap?: CdkRun;
  readonly seeded?: string[];
  readonly deploy?: CdkRun;
  readonly wiring?: WiringReport;
  readonly redeploy?: CdkRun;
  readonly destroy?: CdkRun;
  readonly stackAfterDeploy?: string;
  readonly stackAfterDestroy?: string;
  readonly retained?: { retained: string[]; missing: string[] };
  readonly moto?: string;
  /** What threw, if a step did (the steps' own failures are in their runs). */
  readonly error?: Error;
  readonly seconds: number;
}

const missing = deployMotoMissing();
if (missing && process.env.CI === 'true') throw new Error(`deploy test cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPED the deploy test: ${missing}`);

/** One whole round for one config; stops at the first step that fails, keeping what it saw. */
async function round(config: ConfigName, workDir: string): Promise<Round> {
  const started = performance.now();
  const out = join(workDir, config);
  const synth = await runCdk(['synth', '-c', `config=${CONFIGS[config]}`, '-o', out, '-q'], cdkEnvironment());
  if (synth.code !== 0) return { config, synth, template: { Resources: {} }, seconds: 0 };
  const template = JSON.parse(readFileSync(join(out, `${STACK}.template.json`), 'utf8')) as CfnTemplate;
  let moto: DeployMoto | undefined;
  const result: { -readonly [K in keyof Round]?: Round[K] } = { config, synth, template };
  try {
    moto = await startDeployMoto();
    const env = cdkEnvironment(moto);
    const app = ['--app', out];
    result.bootstrap = await runCdk(['bootstrap', `aws://${DEPLOY_ACCOUNT}/${DEPLOY_REGION}`, ...app], env);
    if (result.bootstrap.code !== 0) return result as Round;
    result.seeded = await seedDockerAssets(out, STACK, moto);
    result.deploy = await runCdk(['deploy', STACK, ...app, '--require-approval', 'never'], env);
    if (result.deploy.code !== 0) return result as Round;
    const clients = deployClients(moto.endpoint, DEPLOY_REGION);
    result.stackAfterDeploy = await stackStatus(clients);
    result.wiring = await checkWiring(template, STACK, clients, { account: DEPLOY_ACCOUNT, region: DEPLOY_REGION });
    result.redeploy = await runCdk(['deploy', STACK, ...app, '--require-approval', 'never'], env);
    result.destroy = await runCdk(['destroy', STACK, ...app, '--force'], env);
    result.stackAfterDestroy = await stackStatus(clients);
    result.retained = await retainedAfterDestroy(template, result.wiring.facts, clients);
    return result as Round;
  } catch (error) {
    result.error = error as Error;
    return result as Round;
  } finally {
    result.moto = moto?.log().slice(-4000);
    await moto?.stop();
    result.seconds = (performance.now() - started) / 1000;
  }
}

const stackStatus = (clients: DeployClients) =>
  clients.cloudformation
    .send(new DescribeStacksCommand({ StackName: STACK }))
    .then((r) => r.Stacks?.[0]?.StackStatus ?? 'gone')
    .catch(() => 'gone');

const failed = (run: CdkRun | undefined) => `cdk ${run?.args.join(' ')} exited ${run?.code}:\n${run?.output.slice(-6000)}`;

describe.skipIf(missing !== undefined)('cdk deploy into a moto server of its own', () => {
  const rounds = new Map<ConfigName, Round>();
  let workDir: string;
  let seconds = 0;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'safekeep-deploy-'));
    const started = performance.now();
    const results = await Promise.all((Object.keys(CONFIGS) as ConfigName[]).map((config) => round(config, workDir)));
    seconds = (performance.now() - started) / 1000;
    for (const result of results) rounds.set(result.config, result);
  }, 600_000);

  afterAll(() => {
    for (const r of rounds.values()) {
      const steps = [r.synth, r.bootstrap, r.deploy, r.redeploy, r.destroy]
        .filter((run): run is CdkRun => run !== undefined)
        .map((run) => `${run.args[0]} ${run.seconds.toFixed(1)} s`);
      console.log(`[deploy] ${r.config}: ${r.seconds.toFixed(1)} s (${steps.join(', ')})`);
      if (r.wiring) {
        const total = Object.values(r.wiring.checked).reduce((a, b) => a + b, 0);
        console.log(`[deploy] ${r.config}: ${total} resources read back and compared with the template, by type:`);
        for (const [type, count] of Object.entries(r.wiring.checked).sort()) {
          console.log(`[deploy]   ${String(count).padStart(3)} ${type} (${r.wiring.propertiesCompared[type]} properties)`);
        }
      }
    }
    console.log(`[deploy] both rounds, concurrently: ${seconds.toFixed(1)} s`);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const get = (config: ConfigName) => rounds.get(config) as Round;

  describe.each(Object.keys(CONFIGS) as ConfigName[])('the %s config', (config) => {
    it('synthesizes through the CLI with no Docker engine', () => {
      const { synth } = get(config);
      expect(synth.code, failed(synth)).toBe(0);
    });

    it('bootstraps and deploys, with the Docker-built assets seeded and nothing built', () => {
      const r = get(config);
      expect(r.error, `${r.error?.stack}\nmoto:\n${r.moto}`).toBeUndefined();
      expect(r.bootstrap?.code, failed(r.bootstrap)).toBe(0);
      expect(r.deploy?.code, `${failed(r.deploy)}\nmoto:\n${r.moto}`).toBe(0);
      // The CLI can report success after moto failed a change set halfway: the stack's own status decides.
      expect(r.stackAfterDeploy, r.moto).toBe('CREATE_COMPLETE');
      expect(r.seeded?.length).toBeGreaterThan(0);
      expect(r.deploy?.output).not.toMatch(/docker (build|run)/i);
    });

    it('holds every resource of the template, wired as the template says', () => {
      const { wiring, template } = get(config);
      expect(wiring, 'the deploy failed').toBeDefined();
      expect(wiring?.problems).toEqual([]);
      const types = new Set(Object.values(template.Resources).map((r) => r.Type));
      types.delete('AWS::CDK::Metadata');
      expect(Object.keys(wiring?.checked ?? {}).sort()).toEqual([...types].sort());
    });

    it('reports no changes on a second deploy', () => {
      const { redeploy } = get(config);
      expect(redeploy?.code, failed(redeploy)).toBe(0);
      expect(redeploy?.output).toMatch(/no changes/i);
    });

    it('destroys the stack and leaves what the template retains: the bucket, its key and the tables', () => {
      const { destroy, retained, template, stackAfterDestroy } = get(config);
      expect(destroy?.code, failed(destroy)).toBe(0);
      expect(stackAfterDestroy).toMatch(/gone|DELETE_COMPLETE/);
      expect(retained?.missing).toEqual([]);
      const retainedTypes = new Set(retained?.retained.map((label) => label.replace(/^.* \((.*)\)$/, '$1')));
      for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::DynamoDB::Table']) expect(retainedTypes).toContain(type);
      const expected = Object.values(template.Resources).filter((r) => r.DeletionPolicy === 'Retain').length;
      expect(retained?.retained.length).toBe(expected);
    });
  });
});
