/**
 * Finding the PostgreSQL client tools. The newest installed major wins (pg_dump can dump older servers,
 * never newer ones); SAFEKEEP_PG_BIN overrides the search.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PreflightError } from '../../../contracts/errors.ts';
import { runTool } from '../../adapters/child-process.ts';

export type PgTool = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

export function pgToolPath(tool: PgTool, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.SAFEKEEP_PG_BIN) return join(env.SAFEKEEP_PG_BIN, tool);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', tool)))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin', tool);
  }
  return tool;
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> `15.18`. */
export function parseToolVersion(output: string): string | undefined {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}

export const majorOf = (version: string) => Number(version.split('.')[0]);

export async function toolVersion(tool: PgTool): Promise<{ path: string; version: string }> {
  const path = pgToolPath(tool);
  const { stdout, exit } = await runTool({ command: path, args: ['--version'], description: `${tool} --version` });
  const version = parseToolVersion(stdout);
  if (exit.code !== 0 || !version) {
    throw new PreflightError(
      `${tool} is not usable (${exit.stderrTail || stdout.trim() || 'no output'}); install the PostgreSQL client tools or set SAFEKEEP_PG_BIN`,
    );
  }
  return { path, version };
}
