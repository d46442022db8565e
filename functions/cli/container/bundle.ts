/**
 * Bundles the `safekeep` CLI (the Fargate task's entry point) into one ESM file with its runtime
 * dependencies, so the image carries neither the CDK nor dev tooling. The Dockerfile runs this, and a test
 * runs the bundle against the local peers, so the image's entry point is exercised on every CI run.
 *
 *   node functions/cli/container/bundle.ts [outfile]   (default dist/worker/safekeep.mjs)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The image's ENTRYPOINT as the Dockerfile writes it (`node`, its flags, the bundle): tests and the bench start the bundle so. */
export function imageEntrypoint(): { readonly nodeFlags: string[]; readonly bundle: string } {
  const dockerfile = readFileSync(join(import.meta.dirname, 'Dockerfile'), 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
  return { nodeFlags: entrypoint.slice(1, -1), bundle: entrypoint.at(-1) ?? '' };
}

export async function bundleWorker(outfile = 'dist/worker/safekeep.mjs'): Promise<string> {
  await build({
    entryPoints: ['functions/cli/container/entry.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // The SDK's ES modules (as the Lambda bundles take them): esbuild drops what the CLI never calls.
    mainFields: ['module', 'main'],
    // Minified it parses faster and holds 17 MiB less; the linked map serves NODE_OPTIONS=--enable-source-maps.
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    // CommonJS dependencies (pg, mysql2) call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.main) {
  console.log(await bundleWorker(process.argv[2]));
}
