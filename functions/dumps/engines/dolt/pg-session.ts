/** A Doltgres session over the PostgreSQL wire protocol: Dolt's procedures are SQL functions there. */
import type pg from 'pg';
import { type DoltSession, procedureName } from './session.ts';

export function pgSession(db: pg.Client): DoltSession {
  return {
    async rows<T extends object>(sql: string) {
      return (await db.query(sql)).rows as T[];
    },
    async procedure(name, args) {
      await db.query(`SELECT ${procedureName(name)}(${args.map((_, i) => `$${i + 1}`).join(', ')})`, [...args]);
    },
  };
}
