import type { Engine } from '../../contracts/manifest.ts';
import { doltEngine } from './dolt/dolt-engine.ts';
import { doltgresEngine } from './dolt/doltgres-engine.ts';
import type { DatabaseEngine } from './engine.ts';
import { mysqlEngine } from './mysql/mysql-engine.ts';
import { postgresEngine } from './postgres/postgres-engine.ts';

/** Every engine the manifest schema names; the type makes a missing one a compile error, not a runtime one. */
const REGISTRY: Record<Engine, DatabaseEngine> = {
  postgres: postgresEngine,
  mysql: mysqlEngine,
  dolt: doltEngine,
  doltgres: doltgresEngine,
};

export function engineFor(engine: Engine): DatabaseEngine {
  return REGISTRY[engine];
}
