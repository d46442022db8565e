import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '#functions/contracts/config/load.ts';
import { isDumpTarget } from '#functions/contracts/config/schema.ts';
import { policyStatements, synthApp } from '#test/support/cdk.ts';

/**
 * Actions no Safekeep runtime role may ever hold: they could destroy backups or the means to read them.
 * (s3:DeleteObject, which only adds a delete marker in the versioned bucket, is held by the dump roles that
 * prune, on their own prefix alone: see below.)
 */
const FORBIDDEN = [
  's3:DeleteObjectVersion',
  's3:DeleteObjectTagging',
  's3:DeleteObjectVersionTagging',
  's3:PutBucketPolicy',
  's3:BypassGovernanceRetention',
  'kms:ScheduleKeyDeletion',
];

/** IAM action patterns are case-insensitive globs. */
function allows(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value as string]);

describe('least privilege across the whole example stack', () => {
  const { template } = synthApp();
  const allowStatements = policyStatements(template).filter(({ statement }) => statement.Effect === 'Allow');

  it('scans the roles the stack creates', () => {
    // The matcher itself must catch wildcards, or this whole file proves nothing.
    expect(allows('s3:*', 's3:DeleteObject')).toBe(true);
    expect(allows('s3:Delete*', 's3:DeleteObjectVersion')).toBe(true);
    expect(allows('*', 'kms:ScheduleKeyDeletion')).toBe(true);
    expect(allows('s3:PutObject', 's3:PutBucketPolicy')).toBe(false);
  });

  it.each(FORBIDDEN)('no role may hold %s', (action) => {
    const holders = allowStatements
      .filter(({ statement }) => asList(statement.Action).some((pattern) => allows(pattern, action)))
      .map(({ resource }) => resource);
    expect(holders).toEqual([]);
  });

  it('no role is granted by NotAction (it would allow everything not listed)', () => {
    expect(allowStatements.filter(({ statement }) => statement.NotAction !== undefined)).toEqual([]);
  });

  it('lets only dump roles with retention s3:DeleteObject, on their own prefix, never a version', () => {
    // Prepare
    const statements = policyStatements(template);
    const config = loadConfigFile('safekeep.config.yaml');
    const pruning = config.targets.filter((t) => isDumpTarget(t) && t.retention !== undefined).map((t) => t.name);

    // Act
    const deleting = allowStatements.filter(({ statement }) =>
      asList(statement.Action).some((pattern) => allows(pattern, 's3:DeleteObject')),
    );

    // Assess
    expect(pruning.length).toBeGreaterThan(0);
    expect(deleting.map(({ statement }) => objectPrefixOf(statement.Resource)).sort()).toEqual(
      pruning.map((t) => `${t}/*`).sort(),
    );
    for (const { resource, statement } of deleting) {
      // Named exactly, never through a wildcard that could also mean DeleteObjectVersion.
      expect(asList(statement.Action).filter((a) => allows(a, 's3:DeleteObject'))).toEqual(['s3:DeleteObject']);
      const own = statements.filter((s) => s.resource === resource).map((s) => s.statement);
      const prefix = objectPrefixOf(statement.Resource);
      expect(own).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Condition: { StringLike: { 's3:prefix': [prefix] } },
        }),
      );
      expect(
        own.filter((s) => s.Effect === 'Deny' && s.Action === 's3:DeleteObjectVersion').map((s) => objectPrefixOf(s.Resource)),
      ).toEqual(['*']);
    }
  });
});

/** `<prefix>` of a `{ Fn::Join: ['', [<bucket>.Arn, '/<prefix>']] }` object ARN. */
function objectPrefixOf(resource: unknown): string {
  const joined = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const tail = joined?.[1].at(-1);
  return typeof tail === 'string' ? tail.replace(/^\//, '') : JSON.stringify(resource);
}
