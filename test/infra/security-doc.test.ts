/** docs/SECURITY.md's role table must say exactly what the synthesized templates allow each role. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthApp } from '#test/support/cdk.ts';
import { SCANNED_CONFIGS } from '#test/support/iam.ts';
import { documentedRoles, roleActions } from '#test/support/role-table.ts';

describe('docs/SECURITY.md', () => {
  it('lists every role and exactly the actions the templates allow it (example and maximal config)', () => {
    const synthesized = new Map<string, Set<string>>();
    for (const config of SCANNED_CONFIGS) {
      const { stack, template } = synthApp(config);
      for (const [role, actions] of roleActions(stack, template)) {
        const all = synthesized.get(role) ?? new Set<string>();
        for (const action of actions) all.add(action);
        synthesized.set(role, all);
      }
    }
    const sorted = (map: Map<string, Set<string>>) =>
      Object.fromEntries([...map].map(([role, a]) => [role, [...a].sort()]).sort());
    expect(sorted(documentedRoles(readFileSync('docs/SECURITY.md', 'utf8')))).toEqual(sorted(synthesized));
  });
});
