/**
 * The hallways, checked: every import in functions/ and infra/ (type-only ones included) runs one way, from a
 * feature down to the ground floor, and no file reaches itself again through its imports.
 *
 *   functions/contracts   the shared contracts: import nothing of ours but each other
 *   functions/platform    Lambda wiring, SDK adapters shared by features: contracts only
 *   functions/retention   the keep/delete decision: contracts only
 *   functions/{dumps,snapshots,runs}   features: the floors above, never each other
 *   functions/cli         the command line, which composes the features
 *   infra/                the CDK app: itself and functions/contracts (handlers are named by path, not imported)
 * No runtime code imports infra/ or the CDK.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const FLOORS: Record<string, readonly string[]> = {
  'functions/contracts': ['functions/contracts'],
  'functions/platform': ['functions/contracts', 'functions/platform'],
  'functions/retention': ['functions/contracts', 'functions/retention'],
  'functions/dumps': ['functions/contracts', 'functions/platform', 'functions/retention', 'functions/dumps'],
  'functions/snapshots': ['functions/contracts', 'functions/platform', 'functions/retention', 'functions/snapshots'],
  'functions/runs': ['functions/contracts', 'functions/platform', 'functions/retention', 'functions/runs'],
  'functions/cli': ['functions'],
  infra: ['infra', 'functions/contracts'],
};
const CDK_PACKAGES = /^(aws-cdk-lib|constructs|cdk-nag|aws-cdk)(\/|$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file names: static and type-only imports, re-exports, dynamic imports. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: string[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const match of text.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3]) as string);
  return found;
}

/** The repository file a specifier names, or undefined for a package. */
function resolved(file: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return normalize(join(dirname(file), specifier));
  const alias = /^#(functions|infra|test)\/(.+)$/.exec(specifier);
  return alias ? `${alias[1]}/${alias[2]}` : undefined;
}

const floorOf = (file: string) =>
  Object.keys(FLOORS)
    .filter((floor) => file === floor || file.startsWith(`${floor}/`))
    .sort((a, b) => b.length - a.length)[0];

const files = [...sourceFiles('functions'), ...sourceFiles('infra')];
const edges = new Map(files.map((file) => [file, specifiers(file).map((s) => ({ specifier: s, target: resolved(file, s) }))]));

describe('the import structure of functions/ and infra/', () => {
  it('sees every source file and its imports', () => {
    expect(files.length).toBeGreaterThan(80);
    expect([...edges.values()].flat().length).toBeGreaterThan(300);
  });

  it('runs every import downhill: features never import each other, the ground floor imports no feature', () => {
    const wrong: string[] = [];
    for (const [file, imports] of edges) {
      const floor = floorOf(file);
      if (!floor) {
        wrong.push(`${file} is on no floor; add its folder to FLOORS`);
        continue;
      }
      for (const { specifier, target } of imports) {
        if (target === undefined) {
          if (!file.startsWith('infra/') && CDK_PACKAGES.test(specifier)) wrong.push(`${file} imports the CDK (${specifier})`);
          continue;
        }
        const allowed = FLOORS[floor] ?? [];
        if (!allowed.some((up) => target === up || target.startsWith(`${up}/`))) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'visiting');
      path.push(file);
      for (const { target } of edges.get(file) ?? []) {
        if (!target || !edges.has(target)) continue;
        if (state.get(target) === 'visiting') cycles.push([...path.slice(path.indexOf(target)), target].join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('takes zod only through functions/contracts/zod.ts: zod/mini, which tree-shakes, with English messages', () => {
    const direct = [...edges].flatMap(([file, imports]) =>
      imports.flatMap(({ specifier }) =>
        /^zod(\/|$)/.test(specifier) && file !== 'functions/contracts/zod.ts' ? [`${file} -> ${specifier}`] : [],
      ),
    );
    expect(direct).toEqual([]);
  });

  it('resolves every relative import to a file that exists', () => {
    const missing = [...edges].flatMap(([file, imports]) =>
      imports.flatMap(({ target }) =>
        target && !edges.has(target) && !target.startsWith('test/') ? [`${file} -> ${target}`] : [],
      ),
    );
    expect(missing.map((line) => relative(ROOT, line))).toEqual([]);
  });
});
