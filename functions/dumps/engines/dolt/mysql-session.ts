/** A Dolt session over the MySQL protocol: Dolt's procedures are stored procedures there. */
import type mysql from 'mysql2/promise';
import { type DoltSession, procedureName } from './session.ts';

export function mysqlSession(db: mysql.Connection): DoltSession {
  return {
    async rows<T extends object>(sql: string) {
      const [rows] = await db.query(sql);
      return rows as T[];
    },
    async procedure(name, args) {
      await db.query(`CALL ${procedureName(name)}(${args.map(() => '?').join(', ')})`, [...args]);
    },
  };
}
