/**
 * Builds Safekeep as a construct library (`npm pack` runs it as prepack): tsc compiles infra/index.ts and
 * what it imports (infra/, functions/contracts/) to dist/ as JavaScript with declarations, since Node does
 * not strip types under node_modules. tsc rewrites relative `.ts` imports in the JavaScript only; this turns
 * the rest (the `#functions/*` subpath imports, and every `.ts` specifier of the declarations) into relative
 * `.js` paths inside dist/, so the package resolves without its own subpath imports, which point at sources.
 * The Lambda handlers and the worker image are still built from functions/ sources, which the package ships.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
compile();

for (const file of emitted(DIST)) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(
    /(from\s+|import\s*\(\s*)(['"])([^'"]+)\2/g,
    (whole, lead: string, quote: string, specifier: string) => {
      const target = specifierIn(file, specifier);
      return target === undefined ? whole : `${lead}${quote}${target}${quote}`;
    },
  );
  if (rewritten !== text) writeFileSync(file, rewritten);
}

/**
 * tsc, failing on any error but TS2877 ("will not be rewritten during emit because it is not a relative
 * path"): that one names each `#functions/*.ts` import, which the rewrite below handles; tsc emits regardless.
 */
function compile(): void {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], {
    encoding: 'utf8',
  });
  const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line) && !line.includes('error TS2877'));
  if (result.error || errors.length > 0 || !existsSync(join(DIST, 'infra', 'index.js'))) {
    process.stderr.write(
      `${errors.join('\n') || result.stderr || String(result.error)}\nbuild-lib: tsc failed; fix the errors above\n`,
    );
    process.exit(1);
  }
}

/** `#functions/x.ts` -> `../../functions/x.js` (relative to `file` in dist/), `./y.ts` -> `./y.js`; packages unchanged. */
function specifierIn(file: string, specifier: string): string | undefined {
  const subpath = /^#(functions|infra)\/(.+)\.ts$/.exec(specifier);
  if (subpath) {
    const path = relative(dirname(file), join(DIST, subpath[1] as string, `${subpath[2]}.js`));
    return path.startsWith('.') ? path : `./${path}`;
  }
  if (specifier.startsWith('.') && specifier.endsWith('.ts')) return `${specifier.slice(0, -3)}.js`;
  return undefined;
}

function emitted(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return emitted(path);
    return entry.name.endsWith('.js') || entry.name.endsWith('.d.ts') ? [path] : [];
  });
}
