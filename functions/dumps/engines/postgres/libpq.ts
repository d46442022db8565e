/** How the PostgreSQL tools are pointed at a server: libpq's environment and conninfo quoting. */
import { type DatabaseEndpoint, tlsOf } from '../../source.ts';
import { libpqTlsEnvironment } from '../../tls.ts';

/**
 * libpq settings for the tools; the password travels in PGPASSWORD, never argv. The database goes in
 * PGDATABASE, never `--dbname`: libpq reads a `--dbname` holding `=` or starting with postgresql:// as a whole
 * connection string, so a database named `host=evil dbname=x` would send the tool, and the password, there.
 * PGDATABASE is only ever a name.
 */
export function libpqEnvironment(endpoint: DatabaseEndpoint, database: string): Record<string, string> {
  return {
    PGDATABASE: database,
    PGHOST: endpoint.host,
    PGPORT: String(endpoint.port),
    PGUSER: endpoint.user,
    PGPASSWORD: endpoint.password,
    PGCONNECT_TIMEOUT: '10',
    PGAPPNAME: 'safekeep',
    ...libpqTlsEnvironment(tlsOf(endpoint)),
  };
}

/** A libpq conninfo value: single-quoted, with backslash and quote escaped. */
export function conninfoValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
