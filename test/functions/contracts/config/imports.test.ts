import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CONFIG_DIR = join(import.meta.dirname, '../../../../functions/contracts/config');

/** Each config module and the sibling modules it imports, type-only imports included. */
function siblingImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(CONFIG_DIR).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(join(CONFIG_DIR, file), 'utf8');
    const imported = [...source.matchAll(/(?:from|import)\s+'\.\/([^'/]+\.ts)'/g)].map((match) => match[1] ?? '');
    graph.set(file, imported);
  }
  return graph;
}

/** Every module `from` reaches through its imports. */
function reachable(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    for (const next of graph.get(file) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      visit(next);
    }
  };
  visit(from);
  return seen;
}

describe('config module imports', () => {
  const graph = siblingImports();

  it('form no cycle, type-only imports included', () => {
    const cyclic = [...graph.keys()].filter((file) => reachable(graph, file).has(file));
    expect(cyclic).toEqual([]);
  });

  it('keep the schedule modules below the schema: schema.ts imports them, never the other way round', () => {
    for (const file of ['cron-grammar.ts', 'schedule-expression.ts', 'schedule-interval.ts']) {
      expect(reachable(graph, file).has('schema.ts'), file).toBe(false);
    }
    expect(reachable(graph, 'schema.ts')).toContain('schedule-interval.ts');
  });
});
