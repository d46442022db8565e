/**
 * cfn-lint (PyPI, pinned in scripts/versions.sh, installed by scripts/setup.sh) over the template of every
 * config the repository ships: the example and the deploy test's maximal fixture. moto's CloudFormation
 * accepts any property value (BillingMode: SOMETIMES deploys there); cfn-lint knows CloudFormation's schemas.
 * The rules it ignores, each with its reason, are in .cfnlintrc.yaml; anything else it reports fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { synthApp } from '#test/support/cdk.ts';

const CFN_LINT = join(process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep'), 'bin', 'cfn-lint');
const CONFIGS = ['safekeep.config.yaml', 'test/fixtures/maximal.config.yaml'];

const missing = existsSync(CFN_LINT) ? undefined : `no cfn-lint at ${CFN_LINT}: run scripts/setup.sh`;
if (missing && process.env.CI === 'true') throw new Error(`cfn-lint test cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPED the cfn-lint test: ${missing}`);

interface Finding {
  Rule: { Id: string; Description: string };
  Filename: string;
  Location: { Path: (string | number)[] };
  Message: string;
}

describe.skipIf(missing !== undefined)('cfn-lint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safekeep-cfn-lint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports nothing on the template of any config, beyond the rules .cfnlintrc.yaml ignores with a reason', async () => {
    // Prepare
    const files = CONFIGS.map((config, i) => {
      const file = join(dir, `${i}-${config.replaceAll('/', '_')}.template.json`);
      writeFileSync(file, JSON.stringify(synthApp(config).template.toJSON(), null, 1));
      return file;
    });

    // Act: exit code 0 means no findings; 2, 4, 8 are errors, warnings, informational (cfn-lint adds them up).
    const { stdout } = await promisify(execFile)(CFN_LINT, ['--format', 'json', '--', ...files], {
      cwd: process.cwd(),
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout?: string; code?: number }) => {
      if (typeof error.code === 'number' && error.code < 32 && error.stdout !== undefined) return { stdout: error.stdout };
      throw error;
    });
    const findings = JSON.parse(stdout || '[]') as Finding[];

    // Assess
    expect(findings.map((f) => `${f.Rule.Id} ${f.Filename.split('/').pop()} ${f.Location.Path.join('/')}: ${f.Message}`)).toEqual(
      [],
    );
  }, 300_000);
});
