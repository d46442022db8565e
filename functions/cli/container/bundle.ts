/**
 * Bundles the `safekeep` CLI (the Fargate task's entry point) into one ESM file with its runtime
 * dependencies, so the image carries neither the CDK nor dev tooling. The Dockerfile runs this, and a test
 * runs the bundle against the local peers, so the image's entry point is exercised on every CI run.
 *
 *   node functions/cli/container/bundle.ts [outfile]   (default dist/worker/safekeep.mjs)
 */
import { build } from 'esbuild';

export async function bundleWorker(outfile = 'dist/worker/safekeep.mjs'): Promise<string> {
  await build({
    entryPoints: ['functions/cli/container/entry.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: false,
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
