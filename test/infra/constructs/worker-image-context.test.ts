/**
 * The worker image's build context holds what the image needs (package.json, package-lock.json, functions/)
 * and nothing else from the clone: CDK stages the context at synth, so what the staged asset holds is what a
 * deploy would send to Docker. Stray files (an untracked .env, a virtualenv, anything at the root) must not
 * reach it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthApp } from '#test/support/cdk.ts';

const marker = `deploy-context-${process.pid}-${Date.now().toString(36)}`;
const STRAYS = [
  `${marker}.txt`,
  `functions/.env.${marker}`,
  `functions/.env`,
  `functions/${marker}/.venv/bin/python`,
  `functions/${marker}/node_modules/x/index.js`,
];
const created = STRAYS.filter((path) => !existsSync(path));

afterAll(() => {
  for (const path of created) rmSync(path, { force: true });
  rmSync(`functions/${marker}`, { recursive: true, force: true });
});

describe('the worker image build context', () => {
  it('holds the npm manifests and functions/, and none of the stray files', () => {
    // Prepare: files that must never reach the image.
    for (const path of created) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'must not reach the image\n');
    }

    // Act
    const { app } = synthApp('safekeep.config.yaml');
    const assembly = app.synth();
    const contexts = assembly.stacks.flatMap((stack) => {
      const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8')) as {
        dockerImages?: Record<string, { source: { directory: string } }>;
      };
      return Object.values(manifest.dockerImages ?? {}).map((image) => join(assembly.directory, image.source.directory));
    });

    // Assess
    expect(contexts).toHaveLength(1);
    const context = contexts[0] as string;
    expect(readdirSync(context).sort()).toEqual(['functions', 'package-lock.json', 'package.json']);
    expect(existsSync(join(context, 'functions/cli/container/Dockerfile'))).toBe(true);
    expect(existsSync(join(context, 'functions/cli/container/bundle.ts'))).toBe(true);
    for (const path of STRAYS) expect(existsSync(join(context, path)), path).toBe(false);
  });
});
