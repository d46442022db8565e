import type { Engine } from '../core/manifest.ts';
import { doltEngine } from './dolt/dolt-engine.ts';
import { doltgresEngine } from './dolt/doltgres-engine.ts';
import type { DatabaseEngine } from './engine.ts';
import { mysqlEngine } from './mysql/mysql-engine.ts';
import { postgresEngine } from './postgres/postgres-engine.ts';

const ENGINES: Partial<Record<Engine, DatabaseEngine>> = {
  postgres: postgresEngine,
  mysql: mysqlEngine,
  dolt: doltEngine,
  doltgres: doltgresEngine,
};

export function engineFor(engine: Engine): DatabaseEngine {
  const found = ENGINES[engine];
  if (!found) throw new Error(`engine ${engine} is not available in this build`);
  return found;
}
