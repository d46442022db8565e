import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#functions/contracts/config/load.ts';
import { createSafekeepApp } from '#infra/safekeep-app.ts';

const dir = mkdtempSync(join(tmpdir(), 'safekeep-config-'));
const NETWORK = '{ vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }';
const SCHEDULE = '{ expression: "cron(0 3 * * ? *)" }';

function configFile(name: string, yaml: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

function synthErrors(path: string): string[] {
  try {
    createSafekeepApp({ configPath: path }).app.synth();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error(`synth of ${path} succeeded but should have failed`);
}

/** Each case: a config with one mistake, and what its message must name (target, field, value given, what is allowed). */
const CASES: { name: string; yaml: string; expected: RegExp }[] = [
  {
    name: 'duplicate target names',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: ${SCHEDULE}, source: { instanceId: orders } }
  - { name: orders, kind: rds-cluster, schedule: ${SCHEDULE}, source: { clusterId: orders } }`,
    expected: /^target "orders" \(targets\[1\]\) field name: got "orders"; duplicates targets\[0\]/,
  },
  {
    name: 'bad characters in a name',
    yaml: `targets:
  - { name: Orders_DB, kind: rds-instance, schedule: ${SCHEDULE}, source: { instanceId: orders } }`,
    expected:
      /^target "Orders_DB" \(targets\[0\]\) field name: got "Orders_DB"; must be 1-48 characters of lowercase letters, digits and "-"/,
  },
  {
    name: '".." in a name',
    yaml: `targets:
  - { name: "a..b", kind: rds-instance, schedule: ${SCHEDULE}, source: { instanceId: orders } }`,
    expected: /^target "a\.\.b" \(targets\[0\]\) field name: got "a\.\.b"; must be .*"\." and "\/" would escape the S3 prefix/,
  },
  {
    name: 'invalid cron',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: { expression: "cron(0 25 * * ? *)" }, source: { instanceId: orders } }`,
    expected:
      /^target "orders" \(targets\[0\]\) field schedule\.expression: got "cron\(0 25 \* \* \? \*\)"; cron hours field "25" is invalid: use 0-23/,
  },
  {
    name: 'unknown time zone',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: { expression: "rate(1 day)", timezone: Europe/Atlantis }, source: { instanceId: orders } }`,
    expected:
      /^target "orders" \(targets\[0\]\) field schedule\.timezone: got "Europe\/Atlantis"; must be an IANA time zone name/,
  },
  {
    name: 'retention floor above keep-last',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: ${SCHEDULE}, retention: { keepLast: 3, minimum: 5 }, source: { instanceId: orders } }`,
    expected: /^target "orders" \(targets\[0\]\) field retention\.minimum: got 5; the floor \(5\) must not exceed keepLast \(3\)/,
  },
  {
    name: 'dump target without a secret',
    yaml: `targets:
  - { name: meta, kind: postgres, schedule: ${SCHEDULE}, source: { host: db.internal }, network: ${NETWORK} }`,
    expected: /^target "meta" \(targets\[0\]\) field source\.secret: is missing; add name or ARN of the Secrets Manager secret/,
  },
  {
    name: 'dump target without a network',
    yaml: `targets:
  - { name: meta, kind: mysql, schedule: ${SCHEDULE}, source: { host: db.internal, secret: safekeep/meta } }`,
    expected: /^target "meta" \(targets\[0\]\) field network: is missing; add vpcId, subnetIds and securityGroupIds/,
  },
  {
    name: 'unknown kind',
    yaml: `targets:
  - { name: docs, kind: mongodb, schedule: ${SCHEDULE}, source: { host: db.internal } }`,
    expected:
      /^target "docs" \(targets\[0\]\) field kind: got "mongodb"; must be one of rds-instance, rds-cluster, ebs-volume, ec2-instance, postgres, mysql, dolt, doltgres/,
  },
  {
    name: 'EBS volume selected by both id and tags',
    yaml: `targets:
  - { name: vols, kind: ebs-volume, schedule: ${SCHEDULE}, source: { volumeId: vol-0a1b2c3d, tags: { app: dolt } } }`,
    expected: /^target "vols" \(targets\[0\]\) field source: got .*; give exactly one of volumeId or tags/,
  },
  {
    name: 'rate with the wrong unit form',
    yaml: `targets:
  - { name: orders, kind: rds-cluster, schedule: { expression: "rate(1 hours)" }, source: { clusterId: orders } }`,
    expected: /^target "orders" \(targets\[0\]\) field schedule\.expression: got "rate\(1 hours\)"; write rate\(1 hour\)/,
  },
  {
    name: 'cron that fires once, without a lateness limit',
    yaml: `targets:
  - { name: orders, kind: rds-cluster, schedule: { expression: "cron(0 3 1 1 ? 2030)" }, source: { clusterId: orders } }`,
    expected:
      /^target "orders" \(targets\[0\]\) field schedule\.expression: got "cron\(0 3 1 1 \? 2030\)"; .*runs fewer than twice.*set alerts\.maxAgeHours/,
  },
  {
    name: 'misspelled field',
    yaml: `defaults: { schedule: ${SCHEDULE} }
targets:
  - { name: orders, kind: rds-cluster, descripton: "the orders cluster", source: { clusterId: orders } }`,
    expected: /^target "orders" \(targets\[0\]\) field descripton: unknown field/,
  },
  {
    name: 'copy key in another region than the copy',
    yaml: `targets:
  - name: orders
    kind: rds-instance
    schedule: ${SCHEDULE}
    source: { instanceId: orders }
    copy: { region: eu-central-1, kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abc" }`,
    expected:
      /^target "orders" \(targets\[0\]\) field copy\.kmsKeyArn: got "arn:aws:kms:us-east-1:123456789012:key\/abc"; the key must live in the destination region eu-central-1/,
  },
  {
    name: 'GFS retention without a tier',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: ${SCHEDULE}, source: { instanceId: orders }, retention: { gfs: { daily: 0 } } }`,
    expected:
      /^target "orders" \(targets\[0\]\) field retention\.gfs: got \{"daily":0\}; give at least one of daily, weekly, monthly or yearly a count above 0/,
  },
  {
    name: 'invalid alert e-mail',
    yaml: `targets:
  - { name: orders, kind: rds-instance, schedule: ${SCHEDULE}, source: { instanceId: orders }, alerts: { emails: [oncall] } }`,
    expected: /^target "orders" \(targets\[0\]\) field alerts\.emails\[0\]: got "oncall"; must be an e-mail address/,
  },
];

describe('a bad config fails synth with one message per problem', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (name, { yaml, expected }) => {
    const problems = synthErrors(configFile(name.replace(/\W+/g, '-'), yaml));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('reports every problem of a config at once', () => {
    const problems = synthErrors(
      configFile(
        'many',
        CASES.map((c) => c.yaml.replace(/^[\s\S]*targets:\n/, ''))
          .join('\n')
          .replace(/^/, 'targets:\n'),
      ),
    );
    // One per case, plus the duplicates that combining them creates (several cases reuse the name "orders").
    expect(problems.length).toBeGreaterThanOrEqual(CASES.length);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(synthErrors(configFile('syntax', 'targets:\n  - name: a\n   kind: b\n'))).toEqual([
      expect.stringMatching(/^YAML syntax at line 3/),
    ]);
  });

  it('names a missing config file and how to point at another', () => {
    expect(synthErrors(join(dir, 'absent.yaml'))).toEqual([expect.stringMatching(/file not found.*-c config=PATH/)]);
  });

  it('`cdk synth` prints the problems without a stack trace and exits non-zero', async () => {
    const path = configFile('cli', CASES[0]?.yaml ?? '');
    const run = promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '-c', `config=${path}`, '-o', join(dir, 'cdk.out')], {
      env: { ...process.env, CI: 'true' },
    });
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toContain('is not a valid Safekeep config');
    expect(failure?.stderr).toContain('target "orders" (targets[1]) field name');
    expect(failure?.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
