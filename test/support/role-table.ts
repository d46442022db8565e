/** Each role of a synthesized Safekeep stack, named by its construct path with target names as <target>, and the actions it is allowed. */

import type { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { SafekeepStack } from '#infra/safekeep-stack.ts';
import { allStatements, asList } from './iam.ts';

export function roleActions(stack: SafekeepStack, template: Template): Map<string, Set<string>> {
  const targets = stack.safekeep.config.targets.map((t) => t.name).sort((a, b) => b.length - a.length);
  const writers = stack.safekeep.config.writers.map((w) => w.name);
  const statements = allStatements(template).filter((s) => s.kind === 'identity' && s.statement.Effect === 'Allow');
  const out = new Map<string, Set<string>>();
  for (const role of stack.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) {
    let name = role.node.path.replace(`${stack.node.path}/Safekeep/`, '');
    for (const writer of writers) name = name.replace(`Writers/${writer}/`, 'Writers/<writer>/');
    for (const target of targets) name = name.split(target).join('<target>');
    const id = stack.getLogicalId(role.node.defaultChild as never);
    const actions = out.get(name) ?? new Set<string>();
    for (const { roles, statement } of statements)
      if (roles.includes(id)) for (const a of asList(statement.Action)) actions.add(a);
    out.set(name, actions);
  }
  return out;
}

/** The role table of docs/SECURITY.md: `| \`role\` | \`a\`, \`b\` | ... |` rows between the ROLE-TABLE markers. */
export function documentedRoles(markdown: string): Map<string, Set<string>> {
  const section = markdown.split('<!-- ROLE-TABLE:START -->')[1]?.split('<!-- ROLE-TABLE:END -->')[0] ?? '';
  const rows = section.split('\n').filter((line) => /^\| `/.test(line));
  return new Map(
    rows.map((row) => {
      const [, role = '', actions = ''] = row.split('|').map((cell) => cell.trim());
      return [role.replace(/`/g, ''), new Set([...actions.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string))];
    }),
  );
}
