/**
 * Branch heads, tags and dirty branches: what the manifest records of a Dolt database, and what a restore
 * or a scratch restore must bring back exactly.
 */
import { IntegrityError } from '../../../contracts/errors.ts';
import type { DoltDatabaseManifest } from '../../../contracts/manifest.ts';
import type { DoltSession } from './session.ts';

export type DoltRefs = Pick<DoltDatabaseManifest, 'branches' | 'tags' | 'dirtyBranches'>;

export async function readRefs(session: DoltSession): Promise<DoltRefs> {
  const branches = await session.rows<{ name: string; hash: string; dirty: unknown }>(
    'SELECT name, hash, dirty FROM dolt_branches ORDER BY name',
  );
  const tags = await session.rows<{ tag_name: string; tag_hash: string }>(
    'SELECT tag_name, tag_hash FROM dolt_tags ORDER BY tag_name',
  );
  return {
    branches: branches.map(({ name, hash }) => ({ name, hash })),
    tags: tags.map((tag) => ({ name: tag.tag_name, hash: tag.tag_hash })),
    dirtyBranches: branches.filter((branch) => isTrue(branch.dirty)).map((branch) => branch.name),
  };
}

/** Dolt answers 1/0 over SQL and true/false in JSON, Doltgres a boolean. */
const isTrue = (value: unknown) => value === true || value === 1 || value === '1' || value === 't' || value === 'true';

/** Every way `actual` differs from `expected`, one line each ("branch main is at x, the manifest says y"). */
export function refsDifferences(expected: DoltRefs, actual: DoltRefs): string[] {
  const differences = [
    ...compareHeads('branch', expected.branches, actual.branches),
    ...compareHeads('tag', expected.tags, actual.tags),
  ];
  const dirty = new Set(actual.dirtyBranches);
  for (const name of expected.dirtyBranches) {
    if (!dirty.has(name)) differences.push(`branch ${name} lost its uncommitted changes`);
  }
  for (const name of dirty) {
    if (!expected.dirtyBranches.includes(name))
      differences.push(`branch ${name} has uncommitted changes the manifest does not record`);
  }
  return differences;
}

function compareHeads(kind: string, expected: DoltRefs['branches'], actual: DoltRefs['branches']): string[] {
  const found = new Map(actual.map((ref) => [ref.name, ref.hash]));
  const out: string[] = [];
  for (const { name, hash } of expected) {
    const got = found.get(name);
    if (got === undefined) out.push(`${kind} ${name} is missing`);
    else if (got !== hash) out.push(`${kind} ${name} is at ${got}, the manifest recorded ${hash}`);
    found.delete(name);
  }
  for (const name of found.keys()) out.push(`${kind} ${name} is not in the manifest`);
  return out;
}

export function assertRefsMatch(expected: DoltRefs, actual: DoltRefs, what: string): void {
  const differences = refsDifferences(expected, actual);
  if (differences.length > 0) {
    const more = differences.length > 5 ? `; and ${differences.length - 5} more` : '';
    throw new IntegrityError(`${what} does not match the manifest: ${differences.slice(0, 5).join('; ')}${more}`);
  }
}
