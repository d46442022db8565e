/**
 * IAM analysis over the synthesized templates of the example config and of a maximal one (every target kind and
 * option on): every policy statement in the template (role policies, trust policies, key, bucket, topic and queue
 * policies) is walked. Supersedes least-privilege.test.ts. The exceptions live in infra/iam-wildcards.ts.
 */
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { BUCKET_DESTRUCTIVE_ACTIONS, KEY_DESTRUCTIVE_ACTIONS } from '#infra/constructs/artifact-bucket.ts';
import {
  ALLOWED_ACTION_WILDCARDS,
  ALLOWED_MANAGED_POLICIES,
  FORBIDDEN_RUNTIME_ACTIONS,
  KEY_POLICY_ROOT,
  RESOURCE_WILDCARD_ACTIONS,
} from '#infra/iam-wildcards.ts';
import type { SafekeepStack } from '#infra/safekeep-stack.ts';
import { synthApp } from '#test/support/cdk.ts';
import { allows, allStatements, asList, SCANNED_CONFIGS as CONFIGS, type Located } from '#test/support/iam.ts';

const logicalId = (construct: IConstruct) => Stack.of(construct).getLogicalId(construct.node.defaultChild as never);

/** The role (logical id) of each dump target: Fargate task roles and Lambda worker roles. */
function dumpRoles(stack: SafekeepStack): Map<string, string> {
  const { dumps, lambdaRunner } = stack.safekeep;
  return new Map([
    ...[...dumps.taskDefinitions].map(([target, definition]) => [target, logicalId(definition.taskRole)] as const),
    ...[...lambdaRunner.workers].map(([target, fn]) => [target, logicalId(fn.role as never)] as const),
  ]);
}

const isRootPrincipal = (principal: unknown) => /":iam::",\{"Ref":"AWS::AccountId"\},":root"/.test(JSON.stringify(principal));

const synthesized = CONFIGS.map((config) => ({ config, ...synthApp(config) }));
let checked = 0;

afterAll(() => {
  console.log(`IAM analysis: ${checked} policy statements checked over ${CONFIGS.join(' and ')}`);
});

describe.each(synthesized)('IAM analysis of $config', ({ template, stack }) => {
  const statements = allStatements(template);
  checked += statements.length;
  const allow = statements.filter(({ statement }) => statement.Effect === 'Allow');
  const identity = allow.filter((s) => s.kind === 'identity');

  it('the matcher catches wildcards (or nothing below proves anything)', () => {
    expect(allows('s3:*', 's3:DeleteObject')).toBe(true);
    expect(allows('s3:Delete*', 's3:DeleteObjectVersion')).toBe(true);
    expect(allows('*', 'kms:ScheduleKeyDeletion')).toBe(true);
    expect(allows('s3:PutObject', 's3:PutBucketPolicy')).toBe(false);
    expect(statements.length).toBeGreaterThan(50);
  });

  it('grants no action wildcard beyond the documented KMS patterns (kms:* only for the root, in key policies)', () => {
    const wildcards = allow.flatMap(({ kind, resource, statement }) =>
      asList(statement.Action)
        .filter((action) => action.includes('*') || action.includes('?'))
        .filter((action) => !(action in ALLOWED_ACTION_WILDCARDS))
        .filter((action) => !(kind === 'key' && action === KEY_POLICY_ROOT && isRootPrincipal(statement.Principal)))
        .map((action) => `${resource}: ${action}`),
    );
    expect(wildcards).toEqual([]);
  });

  it('names "*" as a resource only for actions without resource-level permissions, listed in infra/iam-wildcards.ts', () => {
    const unlisted = identity
      .filter(({ statement }) => asList(statement.Resource).includes('*'))
      .flatMap(({ resource, statement }) =>
        asList(statement.Action)
          .filter((action) => !(action in RESOURCE_WILDCARD_ACTIONS))
          .map((action) => `${resource}: ${action}`),
      );
    expect(unlisted).toEqual([]);
    for (const entry of Object.values(RESOURCE_WILDCARD_ACTIONS)) expect(entry.reason.length).toBeGreaterThan(20);
  });

  it('uses no NotAction or NotResource in an Allow (it would allow everything not listed)', () => {
    expect(allow.filter(({ statement }) => statement.NotAction !== undefined || statement.NotResource !== undefined)).toEqual([]);
  });

  it.each(FORBIDDEN_RUNTIME_ACTIONS)('no runtime role holds %s', (action) => {
    const holders = identity
      .filter(({ statement }) => asList(statement.Action).some((pattern) => allows(pattern, action)))
      .map(({ resource }) => resource);
    expect(holders).toEqual([]);
  });

  it('never passes a role on "*"', () => {
    const passRole = identity.filter(({ statement }) =>
      asList(statement.Action).some((pattern) => allows(pattern, 'iam:PassRole')),
    );
    for (const { statement } of passRole) expect(asList(statement.Resource)).not.toContain('*');
  });

  it('attaches only the AWS managed policies listed in infra/iam-wildcards.ts', () => {
    const roles = template.findResources('AWS::IAM::Role');
    const attached = Object.values(roles).flatMap((role: any) =>
      asList<any>(role.Properties.ManagedPolicyArns)
        // A Ref is a policy of this template (a writer's), analysed with the others; only AWS's need listing.
        .filter((arn) => !arn?.Ref)
        .map((arn) => JSON.stringify(arn).match(/policy\/([\w/-]+)/)?.[1]),
    );
    for (const name of attached) expect(Object.keys(ALLOWED_MANAGED_POLICIES)).toContain(name);
  });

  it('lets each dump role write only under its own target prefix', () => {
    const bucket = logicalId(stack.safekeep.artifacts.bucket);
    const roles = dumpRoles(stack);
    expect(roles.size).toBeGreaterThan(0);
    for (const [target, role] of roles) {
      const writes = identity
        .filter(({ roles: attached }) => attached.includes(role))
        .filter(({ statement }) => asList(statement.Action).some((pattern) => allows(pattern, 's3:PutObject')));
      expect(writes.length, target).toBeGreaterThan(0);
      for (const { statement } of writes) {
        expect(asList(statement.Resource), target).toEqual([
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${target}/*`]] },
        ]);
      }
      // Listing, where granted (Dolt), is held to the same prefix.
      const lists = identity
        .filter(({ roles: attached }) => attached.includes(role))
        .filter(({ statement }) => asList(statement.Action).includes('s3:ListBucket'));
      for (const { statement } of lists)
        expect(statement.Condition, target).toEqual({ StringLike: { 's3:prefix': [`${target}/*`] } });
    }
  });

  it('lets only the dump roles of targets with retention s3:DeleteObject (a delete marker), on their own prefix, never a version', () => {
    const bucket = logicalId(stack.safekeep.artifacts.bucket);
    const roles = dumpRoles(stack);
    const pruning = new Set(stack.safekeep.config.targets.filter((t) => roles.has(t.name) && t.retention).map((t) => t.name));
    const deleting = identity.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' && asList(statement.Action).some((pattern) => allows(pattern, 's3:DeleteObject')),
    );
    const holders = new Set(deleting.flatMap(({ roles: attached }) => attached));
    expect([...holders].sort()).toEqual([...pruning].map((target) => roles.get(target)).sort());
    for (const target of pruning) {
      const own = identity.filter(({ roles: attached }) => attached.includes(roles.get(target) ?? ''));
      const deletes = own.filter(({ statement }) => deleting.some((d) => d.statement === statement));
      for (const { statement } of deletes) {
        // Named exactly, never through a wildcard that could also mean DeleteObjectVersion.
        expect(
          asList(statement.Action).filter((a) => allows(a, 's3:DeleteObject')),
          target,
        ).toEqual(['s3:DeleteObject']);
        expect(asList(statement.Resource), target).toEqual([
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${target}/*`]] },
        ]);
      }
      const denies = statements.filter(
        ({ kind, roles: attached, statement }) =>
          kind === 'identity' && statement.Effect === 'Deny' && attached.includes(roles.get(target) ?? ''),
      );
      expect(
        denies.some(({ statement }) => asList(statement.Action).includes('s3:DeleteObjectVersion')),
        target,
      ).toBe(true);
    }
  });

  it('trusts services only from this account (aws:SourceAccount on every service trust)', () => {
    const services = statements.filter(
      ({ kind, statement }) => kind === 'trust' && (statement.Principal as { Service?: unknown })?.Service !== undefined,
    );
    expect(services.length).toBeGreaterThan(0);
    for (const { resource, statement } of services) {
      expect(JSON.stringify(statement.Condition ?? {}), resource).toMatch(/aws:SourceAccount/);
    }
  });

  it('denies, in the bucket and key policies, what would destroy backups to all but the break-glass role', () => {
    const deniedToAll = (kind: Located['kind'], action: string) =>
      statements.some(
        ({ kind: k, statement }) =>
          k === kind &&
          statement.Effect === 'Deny' &&
          JSON.stringify(statement.Principal) === '{"AWS":"*"}' &&
          asList(statement.Action).includes(action),
      );
    for (const action of BUCKET_DESTRUCTIVE_ACTIONS) expect(deniedToAll('resource', action), action).toBe(true);
    for (const action of [...KEY_DESTRUCTIVE_ACTIONS, 'kms:PutKeyPolicy']) expect(deniedToAll('key', action), action).toBe(true);
  });
});
