import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#functions/contracts/config/load.ts';

const withWriters = (writers: unknown) =>
  parseConfig(
    {
      targets: [{ name: 'db', kind: 'rds-instance', schedule: { expression: 'rate(1 day)' }, source: { instanceId: 'db' } }],
      writers,
    },
    'test',
  );

/** The one-line messages a refused config gives, without the source header. */
function problems(writers: unknown): string[] {
  try {
    withWriters(writers);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('writers', () => {
  it('are none by default', () => {
    expect(withWriters(undefined).writers).toEqual([]);
  });

  it('take a role for a named principal, or an IAM user with static keys', () => {
    const writers = [
      { name: 'bytebase', staticKeys: true },
      { name: 'etl-exports', assumedBy: 'arn:aws:iam::210987654321:role/etl/exporter', description: 'nightly exports' },
      { name: 'partner', assumedBy: 'arn:aws:iam::210987654321:root' },
    ];
    expect(withWriters(writers).writers).toEqual(writers);
  });

  it('refuses a writer with both or neither of assumedBy and staticKeys', () => {
    const both = problems([{ name: 'bytebase', staticKeys: true, assumedBy: 'arn:aws:iam::123456789012:root' }]);
    expect(both).toEqual([
      expect.stringMatching(
        /^field writers\[0\]: got .*; give exactly one of assumedBy \(a principal ARN that assumes a role\) or staticKeys: true \(an IAM user\)$/,
      ),
    ]);
    expect(problems([{ name: 'bytebase' }])).toEqual([
      expect.stringMatching(/^field writers\[0\]: .*give exactly one of assumedBy/),
    ]);
    expect(problems([{ name: 'bytebase', staticKeys: false }])).toEqual([
      'field writers[0].staticKeys: got false; must be true (leave it out to use assumedBy)',
    ]);
  });

  it('refuses a duplicate name, naming the first', () => {
    expect(
      problems([
        { name: 'bytebase', staticKeys: true },
        { name: 'bytebase', staticKeys: true },
      ]),
    ).toEqual([
      'field writers[1].name: got "bytebase"; duplicates writers[0]; every writer needs its own name (it is its S3 prefix)',
    ]);
  });

  it.each(['../db', 'db/2026', 'Bytebase', '-x', 'x-', '', 'a'.repeat(33), '_writers'])(
    'refuses the name %j, whose prefix could escape or collide',
    (name) => {
      expect(problems([{ name, staticKeys: true }])).toEqual([
        expect.stringMatching(/^field writers\[0\]\.name: got .*; must be 1-32 characters of lowercase letters, digits and "-"/),
      ]);
    },
  );

  it.each(['arn:aws:iam::123456789012:role/*', 'arn:aws:iam::123:root', 'arn:aws:sts::123456789012:assumed-role/x/y', '*'])(
    'refuses the principal %j in one line',
    (assumedBy) => {
      expect(problems([{ name: 'app', assumedBy }])).toEqual([
        expect.stringMatching(/^field writers\[0\]\.assumedBy: got .*; must be an IAM principal ARN/),
      ]);
    },
  );
});
