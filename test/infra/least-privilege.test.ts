import { describe, expect, it } from 'vitest';
import { policyStatements, synthApp } from '#test/support/cdk.ts';

/** Actions no Safekeep runtime role may ever hold: they could destroy backups or the means to read them. */
const FORBIDDEN = [
  's3:DeleteObject',
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
});
