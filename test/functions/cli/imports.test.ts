/**
 * The CLI's hallways: no import cycle among its modules, type-only imports included (a command imports
 * the context and the definition helpers; main.ts imports the commands; nothing imports main.ts back).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../../functions/cli');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports, `import type` and `export type` included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm)];
  return specifiers.map((match) => resolve(dirname(file), match[1] ?? ''));
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue; // outside functions/cli
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('functions/cli imports', () => {
  it('form no cycle, type-only imports included', () => {
    // Prepare
    const files = sourceFiles(ROOT);
    const graph = new Map(files.map((file) => [file, importsOf(file)]));

    // Act
    const found = cycles(graph).map((cycle) => cycle.map((file) => relative(ROOT, file)).join(' -> '));

    // Assess
    expect(graph.get(join(ROOT, 'main.ts'))).toContain(join(ROOT, 'commands/dump.ts'));
    expect(found).toEqual([]);
  });
});
