#!/usr/bin/env node
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
  const child = spawnSync(node24, [process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
