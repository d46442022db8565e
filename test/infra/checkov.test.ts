/**
 * checkov over the synthesized templates of the example config and the maximal one: 0 failed checks, with the
 * checks it skips (and why) in test/fixtures/checkov-skips.yaml. checkov comes from scripts/setup.sh.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { synthApp } from '#test/support/cdk.ts';
import { SCANNED_CONFIGS } from '#test/support/iam.ts';

const CHECKOV = join(process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep'), 'checkov-venv', 'bin', 'checkov');
const SKIPS = parse(readFileSync('test/fixtures/checkov-skips.yaml', 'utf8')) as { id: string; reason: string }[];

interface CheckovReport {
  summary: { passed: number; failed: number; skipped: number };
  results: { failed_checks: { check_id: string; resource: string; file_path: string }[] };
}

describe('checkov', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safekeep-checkov-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('justifies every skip in one file', () => {
    expect(SKIPS.length).toBeGreaterThan(0);
    for (const skip of SKIPS) expect(skip.reason.length, skip.id).toBeGreaterThan(60);
  });

  it('finds 0 failed checks in the templates of the example and the maximal config', async () => {
    expect(existsSync(CHECKOV), `no checkov at ${CHECKOV}; run scripts/setup.sh`).toBe(true);
    SCANNED_CONFIGS.forEach((config, index) => {
      writeFileSync(join(dir, `config${index}.template.json`), JSON.stringify(synthApp(config).template.toJSON()));
    });
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      CHECKOV,
      [
        '-d',
        dir,
        '--framework',
        'cloudformation',
        '--quiet',
        '--compact',
        '--skip-download',
        '-o',
        'json',
        '--skip-check',
        SKIPS.map((s) => s.id).join(','),
      ],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' } },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const reports = [JSON.parse(stdout)].flat() as CheckovReport[];
    const failed = reports.flatMap((r) => r.results.failed_checks.map((c) => `${c.check_id} ${c.resource} (${c.file_path})`));
    console.log(
      `checkov: ${reports.reduce((n, r) => n + r.summary.passed, 0)} passed, ${failed.length} failed, ${SKIPS.length} checks skipped, in ${Math.round((Date.now() - started) / 1000)}s`,
    );
    expect(failed).toEqual([]);
  });
});
