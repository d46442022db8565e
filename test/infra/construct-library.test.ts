/**
 * Safekeep as a construct library in someone else's app: `npm pack` the project (prepack builds dist/), unpack
 * the tarball into a fresh app's node_modules as npm would, and run that app (construct-library/app.ts), which
 * composes `Safekeep` with its own VPC, security group, secret, database and key and synthesizes through the
 * compliance gate. No registry: the app's other packages are this repository's, linked.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CDK_CONTEXT } from '#test/support/cdk.ts';

const run = promisify(execFile);
const ROOT = process.cwd();
const work = mkdtempSync(join(tmpdir(), 'safekeep-library-'));
const appDir = join(work, 'app');
const outdir = join(work, 'cdk.out');

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
let shop: Template;
let packed: string[];

beforeAll(async () => {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [pack] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  if (!pack) throw new Error('npm pack reported no tarball');
  packed = pack.files.map((f) => f.path);
  const modules = join(appDir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  await run('tar', ['-xzf', join(work, pack.filename), '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'safekeep'));
  // Everything else the app and safekeep import: this repository's packages, one link each.
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== 'safekeep' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({ name: 'shop-infra', private: true, type: 'module', dependencies: { safekeep: `file:../${pack.filename}` } }),
  );
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        lib: ['es2024', 'esnext.disposable'],
        module: 'nodenext',
        strict: true,
        noEmit: true,
        types: ['node'],
        skipLibCheck: false,
      },
      files: ['app.ts'],
    }),
  );
  copyFileSync(join(ROOT, 'test/infra/construct-library/app.ts'), join(appDir, 'app.ts'));
  await run(process.execPath, ['app.ts', outdir], {
    cwd: appDir,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(CDK_CONTEXT) },
    maxBuffer: 64 * 1024 * 1024,
  });
  shop = JSON.parse(readFileSync(join(outdir, 'Shop.template.json'), 'utf8'));
}, 600_000);

/** The logical id of the app's own resource of `type` (there is one of each here). */
function idOf(type: string): string {
  const ids = Object.entries(shop.Resources).filter(([id, r]) => r.Type === type && !id.startsWith('Backups'));
  if (ids.length !== 1) throw new Error(`expected one ${type} of the app's own, found ${ids.length}`);
  return ids[0]?.[0] as string;
}

describe('Safekeep installed from its tarball into a fresh CDK app', () => {
  it('ships the compiled library and the sources its assets are built from, no tests', () => {
    expect(packed).toEqual(
      expect.arrayContaining(['dist/infra/index.js', 'dist/infra/index.d.ts', 'functions/cli/container/Dockerfile']),
    );
    expect(packed.filter((p) => p.startsWith('test/') || p.endsWith('.test.ts'))).toEqual([]);
  });

  it("bundles a handler with the package's own bundler, as synth does outside this test", async () => {
    const safekeep = join(appDir, 'node_modules', 'safekeep');
    const bundled = join(work, 'freshness');
    await run(process.execPath, [
      join(safekeep, 'dist/infra/bundling/handler-bundle.js'),
      join(safekeep, 'functions/runs/handlers/freshness/handler.ts'),
      bundled,
    ]);
    expect(readdirSync(bundled).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect(readFileSync(join(bundled, 'index.mjs'), 'utf8')).toMatch(/export\s*\{[^}]*\bhandler\b/);
  });

  it("type-checks the app against the package's declarations", async () => {
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', appDir], { cwd: appDir });
  });

  it("synthesizes through the compliance gate, granting on and placing workers with the app's resources", () => {
    const text = JSON.stringify(shop);
    const secret = idOf('AWS::SecretsManager::Secret');
    const group = idOf('AWS::EC2::SecurityGroup');
    const worker = Object.entries(shop.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.includes('sessions'),
    )?.[1];
    const subnets = Object.keys(shop.Resources).filter((id) => shop.Resources[id]?.Type === 'AWS::EC2::Subnet');
    expect(worker?.Properties?.VpcConfig).toEqual({
      SecurityGroupIds: [{ 'Fn::GetAtt': [group, 'GroupId'] }],
      SubnetIds: subnets.map((id) => ({ Ref: id })),
    });
    const task = Object.values(shop.Resources).find((r) => r.Type === 'AWS::ECS::TaskDefinition');
    expect(JSON.stringify(task?.Properties?.ContainerDefinitions)).toContain(`{"Ref":"${secret}"}`);
    // The secret's key lets the task's execution role decrypt it, granted by the secret itself.
    expect(JSON.stringify(shop.Resources[idOf('AWS::KMS::Key')]?.Properties?.KeyPolicy)).toContain('ExecutionRolecatalog');
    // The copy key from the app's us-west-2 stack, by its output (CDK's cross-region reference).
    expect(text).toMatch(/"StackName":"CopyKeys","Region":"us-west-2","OutputName":"[^"]*CopyKey/);
    expect(text).toContain(':db:orders"');
  });
});
