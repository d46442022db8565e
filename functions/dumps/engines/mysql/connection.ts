/** SQL access to MySQL-protocol servers (MySQL, MariaDB, Dolt) with errors that say what to do. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { EXIT, PreflightError } from '../../../contracts/errors.ts';
import { type DatabaseEndpoint, tlsOf } from '../../source.ts';
import { mysqlTlsOptions, type TlsSettings, tlsFailure } from '../../tls.ts';

/** mysql2's `ssl` for `tls`: with TLS required, mysql2 refuses a server without it before authenticating. */
export function mysqlSslOptions(tls: TlsSettings): mysql.ConnectionOptions['ssl'] {
  if (tls.mode === 'disable') return undefined;
  return tls.mode === 'verify-full'
    ? { ca: tls.ca, rejectUnauthorized: true, verifyIdentity: true }
    : { rejectUnauthorized: false };
}

export async function withMysql<T>(
  endpoint: DatabaseEndpoint,
  database: string | undefined,
  use: (db: mysql.Connection) => Promise<T>,
): Promise<T> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      database,
      connectTimeout: 10_000,
      multipleStatements: false,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      ssl: mysqlSslOptions(tlsOf(endpoint)),
    });
  } catch (error) {
    throw mysqlConnectionError(endpoint, database, error);
  }
  try {
    return await use(connection);
  } finally {
    await connection.end().catch(() => {});
  }
}

export function mysqlConnectionError(endpoint: DatabaseEndpoint, database: string | undefined, error: unknown): PreflightError {
  const where = `${endpoint.engine} at ${endpoint.host}:${endpoint.port}`;
  const code = (error as { code?: string }).code;
  const tls = tlsFailure(where, tlsOf(endpoint), error);
  if (tls) return new PreflightError(tls, EXIT.unavailable);
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new PreflightError(
      `${where} rejected the credentials of user "${endpoint.user}"; check the password (SAFEKEEP_DB_PASSWORD or the secret)`,
      EXIT.unavailable,
    );
  }
  if (code === 'ER_BAD_DB_ERROR')
    return new PreflightError(`${where} has no database "${database}"; check the URL's database list`, EXIT.unavailable);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return new PreflightError(
      `cannot reach ${where} (${code}); check the host, port, network and security group`,
      EXIT.unavailable,
    );
  }
  return new PreflightError(`connecting to ${where} failed: ${(error as Error).message}`, EXIT.unavailable);
}

export const quoteName = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/**
 * A private 0600 option file holding the connection settings, so the password reaches mysqldump and
 * mysql without appearing in argv or the environment. Remove it with `dispose`.
 */
export async function clientOptionsFile(
  endpoint: DatabaseEndpoint,
  flavor: 'mysql' | 'mariadb',
): Promise<{ path: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'safekeep-my-'));
  const path = join(dir, 'client.cnf');
  const quoted = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
  await writeFile(
    path,
    `[client]\nhost="${quoted(endpoint.host)}"\nport=${endpoint.port}\nuser="${quoted(endpoint.user)}"\npassword="${quoted(endpoint.password)}"\nprotocol=TCP\n${mysqlTlsOptions(tlsOf(endpoint), flavor).join('\n')}\n`,
    { mode: 0o600 },
  );
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}
