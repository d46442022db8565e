/**
 * The database client tools of the db-clients layer (`layers/db-clients`), which Lambda mounts at /opt.
 * The Fargate image points the worker at its tools with environment variables; this does the same for the
 * layer, so the worker never picks up a tool of the runtime's own instead.
 */
import { join } from 'node:path';

export const LAYER_ROOT = '/opt';

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The variables to set so the worker uses the layer's tools: the layer's bin directory first on PATH, and
 * SAFEKEEP_PG_BIN, SAFEKEEP_MYSQLDUMP, SAFEKEEP_MYSQL for the tools the layer has. A variable already set
 * (say in the function's configuration) wins; without the layer only PATH changes.
 */
export function layerToolEnvironment(
  env: Environment,
  exists: (path: string) => boolean,
  root: string = LAYER_ROOT,
): Record<string, string> {
  const bin = join(root, 'bin');
  const path = env.PATH ?? '';
  const out: Record<string, string> = {
    PATH: path.split(':')[0] === bin ? path : [bin, path].filter(Boolean).join(':'),
  };
  const firstOf = (...names: string[]) => names.map((name) => join(bin, name)).find(exists);
  const pgDump = firstOf('pg_dump');
  if (!env.SAFEKEEP_PG_BIN && pgDump) out.SAFEKEEP_PG_BIN = bin;
  const dump = firstOf('mariadb-dump', 'mysqldump');
  if (!env.SAFEKEEP_MYSQLDUMP && dump) out.SAFEKEEP_MYSQLDUMP = dump;
  const client = firstOf('mariadb', 'mysql');
  if (!env.SAFEKEEP_MYSQL && client) out.SAFEKEEP_MYSQL = client;
  return out;
}
