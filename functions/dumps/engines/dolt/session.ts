/**
 * What the shared Dolt logic needs of a connection, whichever wire protocol the server speaks: Dolt talks
 * MySQL's, Doltgres PostgreSQL's.
 */

export interface DoltSession {
  /** Rows of a statement without parameters. */
  rows<T extends object>(sql: string): Promise<T[]>;
  /** Calls a Dolt procedure with string arguments: `CALL` on Dolt, `SELECT` on Doltgres. */
  procedure(name: string, args: readonly string[]): Promise<void>;
}

/** Only Dolt's own procedures are ever called; the name is checked because it cannot be a parameter. */
export function procedureName(name: string): string {
  if (!/^dolt_[a-z_]+$/.test(name)) throw new Error(`not a Dolt procedure: ${name}`);
  return name;
}
