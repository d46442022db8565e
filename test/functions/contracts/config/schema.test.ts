import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '#functions/contracts/config/load.ts';
import { TARGET_NAME_PATTERN, targetName } from '#functions/contracts/config/schema.ts';

describe('the example config', () => {
  const config = loadConfigFile('safekeep.config.yaml');

  it('covers every target kind', () => {
    expect(new Set(config.targets.map((t) => t.kind))).toEqual(
      new Set(['postgres', 'mysql', 'rds-instance', 'rds-cluster', 'dolt', 'ebs-volume', 'doltgres', 'ec2-instance']),
    );
  });

  it("fills targets from defaults, and a target's own settings win", () => {
    const dolt = config.targets.find((t) => t.name === 'dolt-prod');
    expect(dolt?.schedule).toEqual({ expression: 'cron(0 3 * * ? *)', timezone: 'Etc/UTC', flexibleWindowMinutes: 15 });
    expect(dolt?.retention).toMatchObject({ keepLast: 7, minimum: 3 });
    const meta = config.targets.find((t) => t.name === 'bytebase-meta');
    expect(meta?.schedule).toEqual({ expression: 'cron(30 1 * * ? *)', timezone: 'Europe/Berlin' });
  });

  it('applies field defaults', () => {
    const mysql = config.targets.find((t) => t.name === 'openmetadata-mysql');
    expect(mysql).toMatchObject({ compression: 'zstd', runner: 'fargate', timeoutMinutes: 240 });
    expect(config.bucket).toEqual({ noncurrentVersionExpirationDays: 90, accessLogRetentionDays: 365 });
  });

  it('gives a runner "lambda" target a timeout Lambda can keep, and refuses a longer one', () => {
    const target = (extra: object) => ({
      name: 'small',
      kind: 'postgres',
      schedule: { expression: 'rate(1 day)' },
      source: { host: 'db.internal', secret: 'safekeep/small' },
      network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
      runner: 'lambda',
      ...extra,
    });
    expect(parseConfig({ targets: [target({})] }, 'test').targets[0]).toMatchObject({ timeoutMinutes: 14 });
    expect(() => parseConfig({ targets: [target({ timeoutMinutes: 30 })] }, 'test')).toThrow(
      /timeoutMinutes: got 30; with runner "lambda" it must be at most 14/,
    );
  });

  it('takes parallelism for a PostgreSQL target, and refuses it above 1 for the engines that cannot share a snapshot', () => {
    const target = (kind: string, parallelism: number) => ({
      name: 'big',
      kind,
      schedule: { expression: 'rate(1 day)' },
      source: { host: 'db.internal', secret: 'safekeep/big' },
      network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
      parallelism,
    });
    expect(parseConfig({ targets: [target('postgres', 4)] }, 'test').targets[0]).toMatchObject({ parallelism: 4 });
    expect(parseConfig({ targets: [target('mysql', 1)] }, 'test').targets[0]).toMatchObject({ parallelism: 1 });
    expect(() => parseConfig({ targets: [target('mysql', 4)] }, 'test')).toThrow(
      /parallelism: got 4; must be 1 for mysql targets: mysqldump and mariadb-dump cannot share one snapshot/,
    );
    expect(() => parseConfig({ targets: [target('postgres', 0)] }, 'test')).toThrow(/parallelism/);
  });
});

describe("a dump source's tls", () => {
  const withTls = (tls: unknown) => ({
    targets: [
      {
        name: 'meta',
        kind: 'postgres',
        schedule: { expression: 'rate(1 day)' },
        source: { host: 'db.internal', secret: 'safekeep/meta', tls },
        network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
      },
    ],
  });

  it.each(['verify-full', 'require', 'disable'])('accepts %s', (tls) => {
    expect(parseConfig(withTls(tls), 'test').targets[0]).toMatchObject({ source: { tls } });
  });

  it('refuses anything else, naming the choices', () => {
    expect(() => parseConfig(withTls('prefer'), 'test')).toThrow(/source\.tls.*verify-full.*require.*disable/s);
  });
});

describe('target names', () => {
  it('accept exactly the names that are safe as S3 prefixes and RDS snapshot identifiers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (name) => {
        const accepted = targetName.safeParse(name).success;
        if (accepted) {
          expect(name).toMatch(TARGET_NAME_PATTERN);
          expect(name).not.toMatch(/--|\.|\/|^-|-$/);
          expect(name.length).toBeLessThanOrEqual(48);
        }
      }),
    );
  });

  it.each(['a', 'orders-db', 'x1', 'a'.repeat(48)])('accepts %s', (name) =>
    expect(targetName.safeParse(name).success).toBe(true),
  );
  it.each(['', 'A', 'a_b', 'a..b', '../a', 'a/b', '-a', 'a-', 'a--b', 'a'.repeat(49), 'é'])('rejects %j', (name) =>
    expect(targetName.safeParse(name).success).toBe(false),
  );
});

describe('parseConfig', () => {
  it('throws a ConfigError with every problem, never a zod error', () => {
    expect(() => parseConfig({ targets: [{ name: 'x' }] }, 'inline')).toThrow(ConfigError);
    expect(() => parseConfig(undefined, 'inline')).toThrow(/field targets: is missing/);
  });
});

describe('bucket.breakGlassRoleArn', () => {
  const withRole = (breakGlassRoleArn: string) =>
    parseConfig(
      {
        bucket: { breakGlassRoleArn },
        targets: [{ name: 'db', kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: 'db' } }],
      },
      'test',
    );

  it('takes an IAM role ARN, path and all', () => {
    expect(withRole('arn:aws:iam::123456789012:role/ops/safekeep-break-glass').bucket.breakGlassRoleArn).toBe(
      'arn:aws:iam::123456789012:role/ops/safekeep-break-glass',
    );
  });

  it.each([
    'arn:aws:iam::123456789012:user/alice',
    'safekeep-break-glass',
    'arn:aws:iam::123:role/x',
    'arn:aws:iam::123456789012:role/*',
  ])('refuses %s in one line that says what it must be', (arn) => {
    expect(() => withRole(arn)).toThrow(ConfigError);
    expect(() => withRole(arn)).toThrow(/bucket\.breakGlassRoleArn: got .*; must be an IAM role ARN/);
  });
});
