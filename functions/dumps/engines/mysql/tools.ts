/**
 * Finding mysqldump/mariadb-dump and the mysql client. SAFEKEEP_MYSQLDUMP and SAFEKEEP_MYSQL override the
 * search; the Fargate image ships MySQL 8.4's client (OpenMetadata asks for mysqldump 8.3 or newer).
 */

import { PreflightError } from '../../../contracts/errors.ts';
import { runTool } from '../../adapters/child-process.ts';

export interface DumpTool {
  readonly path: string;
  readonly version: string;
  readonly flavor: 'mysql' | 'mariadb';
}

/**
 * `mysqldump  Ver 8.4.3 for Linux on x86_64 (MySQL Community Server - GPL)` -> mysql 8.4.3
 * `mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu` -> mariadb 10.11.19
 * `mariadb-dump from 11.4.2-MariaDB, client 10.19 for Linux` -> mariadb 11.4.2
 */
export function parseDumpVersion(output: string): { version: string; flavor: DumpTool['flavor'] } | undefined {
  const maria = /(?:Distrib|from) (\d+\.\d+\.\d+)-MariaDB/.exec(output);
  if (maria?.[1]) return { version: maria[1], flavor: 'mariadb' };
  const mysql = /Ver (\d+\.\d+\.\d+)/.exec(output);
  return mysql?.[1] ? { version: mysql[1], flavor: 'mysql' } : undefined;
}

export async function dumpTool(env: Readonly<Record<string, string | undefined>> = process.env): Promise<DumpTool> {
  const candidates = env.SAFEKEEP_MYSQLDUMP ? [env.SAFEKEEP_MYSQLDUMP] : ['mysqldump', 'mariadb-dump'];
  for (const path of candidates) {
    const { stdout, exit } = await runTool({ command: path, args: ['--version'], description: `${path} --version` });
    const parsed = exit.code === 0 ? parseDumpVersion(stdout) : undefined;
    if (parsed) return { path, ...parsed };
  }
  throw new PreflightError(
    `no usable mysqldump or mariadb-dump found (tried ${candidates.join(', ')}); install the MySQL 8.4 client or set SAFEKEEP_MYSQLDUMP`,
  );
}

/** The mysql client and whose it is (their option files differ: ssl-mode against ssl-verify-server-cert). */
export async function mysqlClient(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ path: string; flavor: DumpTool['flavor'] }> {
  const candidates = env.SAFEKEEP_MYSQL ? [env.SAFEKEEP_MYSQL] : ['mysql', 'mariadb'];
  for (const path of candidates) {
    const { stdout, exit } = await runTool({ command: path, args: ['--version'], description: path });
    if (exit.code === 0) return { path, flavor: parseDumpVersion(stdout)?.flavor ?? 'mysql' };
  }
  throw new PreflightError(
    `no mysql or mariadb client found (tried ${candidates.join(', ')}); install the MySQL client or set SAFEKEEP_MYSQL`,
  );
}
