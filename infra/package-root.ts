import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The directory holding Safekeep's package.json, functions/ and layers/: what the Lambda bundles and the worker
 * image are built from. Found by walking up, since this module runs from infra/ in the repository and from
 * dist/ in an installed package.
 */
export const PACKAGE_ROOT: string = findPackageRoot(import.meta.dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'functions'))) return dir;
    if (dirname(dir) === dir) throw new Error(`Safekeep: no package.json with functions/ above ${from}; reinstall safekeep`);
  }
}
