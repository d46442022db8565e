/**
 * Cold start of every Lambda handler, as deployed: each is bundled the way SafekeepFunction bundles it
 * (infra/bundling/handler-bundle.ts), then imported in a fresh `node` process, which is what a cold Lambda
 * does before the first invocation. Beside it, the same handler with the AWS SDK left to the runtime
 * (`@aws-sdk/*` external, loaded from node_modules as the Lambda runtime loads its own copy), so the choice
 * in infra/bundling/handler-bundle.ts is measured rather than assumed. Medians of `--runs` imports each (default 7).
 *
 *   node bench/lambda-cold.ts               # every handler; results appended to bench/results/lambda-cold.md
 *   node bench/lambda-cold.ts --runs 11 dispatch freshness
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HANDLER_FILE } from '#infra/bundling/handler-bundle.ts';
import { bundleEntry, handlerEntries, REPOSITORY_ROOT } from '#test/support/handler-bundles.ts';

const SIZE_GOAL = 500_000;
const IMPORT_GOAL_MS = 150;
const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const entries = handlerEntries().filter(
  (entry) => positionals.length === 0 || positionals.some((name) => entry.includes(`/${name}/`)),
);
// Inside the repository, so that a bundle leaving the SDK external finds it in node_modules.
const scratch = join(REPOSITORY_ROOT, 'bench', 'results', 'raw', 'lambda-cold');
rmSync(scratch, { recursive: true, force: true });

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Median wall and CPU time of `import()` of the bundle, each run in a new process. */
function importTimes(file: string): Timing {
  const probe = `const t = performance.now(); const c = process.cpuUsage(); await import(${JSON.stringify(file)}); const u = process.cpuUsage(c); console.log(JSON.stringify({ wallMs: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }));`;
  const samples: Timing[] = [];
  for (let run = 0; run < runs; run++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'cold-start-bench' },
    });
    samples.push(JSON.parse(out.toString()) as Timing);
  }
  const median = (pick: (t: Timing) => number) => samples.map(pick).sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0;
  return { wallMs: median((t) => t.wallMs), cpuMs: median((t) => t.cpuMs) };
}

const started = new Date();
const loadAtStart = loadavg()
  .map((n) => n.toFixed(2))
  .join(' ');
const rows: string[] = [];
let sizeMisses = 0;
let importMisses = 0;
for (const entry of entries) {
  const name = entry
    .split('/')
    .slice(1, 4)
    .filter((part) => part !== 'handlers')
    .join('/');
  const dir = join(scratch, name.replaceAll('/', '-'));
  const { size } = await bundleEntry(entry, { outdir: join(dir, 'bundled') });
  const { size: externalSize } = await bundleEntry(entry, { outdir: join(dir, 'sdk-external'), sdkFromRuntime: true });
  const bundled = importTimes(join(dir, 'bundled', HANDLER_FILE));
  const external = importTimes(join(dir, 'sdk-external', HANDLER_FILE));
  if (size > SIZE_GOAL) sizeMisses++;
  if (bundled.wallMs > IMPORT_GOAL_MS) importMisses++;
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} KB`;
  const ms = (t: Timing) => `${t.wallMs.toFixed(0)} ms (${t.cpuMs.toFixed(0)} ms CPU)`;
  rows.push(`| ${name} | ${kb(size)} | ${ms(bundled)} | ${kb(externalSize)} | ${ms(external)} |`);
  console.error(`[lambda-cold] ${name}: ${kb(size)}, import ${ms(bundled)}; SDK external ${kb(externalSize)}, ${ms(external)}`);
}

const lines = [
  '',
  `## ${started.toISOString()} (node ${process.version}, ${cpus().length} cores, load average ${loadAtStart} at start; median of ${runs} imports, each in a new process)`,
  '',
  `Command: \`node bench/lambda-cold.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\`. Goals (issue 13): at most ${SIZE_GOAL / 1000} KB minified and ${IMPORT_GOAL_MS} ms of cold import.`,
  '',
  '| handler | bundle (as deployed) | cold import | bundle, SDK from the runtime | cold import, SDK from the runtime |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  `${entries.length - sizeMisses} of ${entries.length} bundles within ${SIZE_GOAL / 1000} KB; ${entries.length - importMisses} of ${entries.length} imports within ${IMPORT_GOAL_MS} ms (as deployed).`,
  '',
];
appendFileSync(join(REPOSITORY_ROOT, 'bench', 'results', 'lambda-cold.md'), lines.join('\n'));
console.error('[lambda-cold] appended to bench/results/lambda-cold.md');
