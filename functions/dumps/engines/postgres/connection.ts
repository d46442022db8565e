/** SQL access to PostgreSQL-protocol servers (PostgreSQL and Doltgres) with errors that say what to do. */
import pg from 'pg';
import { EXIT, PreflightError } from '../../../contracts/errors.ts';
import { type DatabaseEndpoint, tlsOf } from '../../source.ts';
import { type TlsSettings, tlsFailure } from '../../tls.ts';

/** node-pg's `ssl` for `tls`: with TLS required, pg refuses a server that declines it before any password. */
export function pgSslOptions(tls: TlsSettings): pg.ClientConfig['ssl'] {
  if (tls.mode === 'disable') return false;
  return tls.mode === 'verify-full' ? { ca: tls.ca, rejectUnauthorized: true } : { rejectUnauthorized: false };
}

export async function withPostgres<T>(
  endpoint: DatabaseEndpoint,
  database: string,
  use: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database,
    connectionTimeoutMillis: 10_000,
    application_name: 'safekeep',
    ssl: pgSslOptions(tlsOf(endpoint)),
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw connectionError(endpoint, database, error);
  }
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function connectionError(endpoint: DatabaseEndpoint, database: string, error: unknown): PreflightError {
  const where = `${endpoint.engine} at ${endpoint.host}:${endpoint.port}`;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  const tls = tlsFailure(where, tlsOf(endpoint), error);
  if (tls) return new PreflightError(tls, EXIT.unavailable);
  if (code === '28P01' || code === '28000' || /password authentication failed/.test(message)) {
    return new PreflightError(
      `${where} rejected the credentials of user "${endpoint.user}"; check the password (SAFEKEEP_DB_PASSWORD or the secret)`,
      EXIT.unavailable,
    );
  }
  if (code === '3D000')
    return new PreflightError(`${where} has no database "${database}"; check the URL's database list`, EXIT.unavailable);
  if (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    /timeout/i.test(message)
  ) {
    return new PreflightError(
      `cannot reach ${where} (${code ?? message}); check the host, port, network and security group`,
      EXIT.unavailable,
    );
  }
  return new PreflightError(`connecting to ${where} failed: ${message}`, EXIT.unavailable);
}
