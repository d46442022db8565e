#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: streaming churns through short-lived chunks, and V8's default young generation
// grows the heap by tens of MiB for them; capped, the worker's memory stays flat however large the dump.
// The `safekeep` command. Safekeep is TypeScript run directly by Node 24 (type stripping, built-in zstd);
// on an older Node this re-runs itself with the Node 24 that scripts/setup.sh installs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  const node24 = join(process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep'), 'bin', 'node');
  if (!existsSync(node24)) {
    process.stderr.write(`safekeep: needs Node 24 or newer (this is ${process.version}); run: bash scripts/setup.sh\n`);
    process.exit(2);
  }
  const child = spawnSync(node24, ['--max-semi-space-size=4', process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
