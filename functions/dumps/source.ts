/**
 * The database a dump reads from or a restore writes to: `--source`/`--target` URLs plus credentials from
 * the environment or a Secrets Manager secret. A password in a URL is refused: URLs end up in argv,
 * shell history and logs.
 */
import { UsageError } from '../contracts/errors.ts';
import type { Engine } from '../contracts/manifest.ts';
import type { TlsMode } from '../contracts/tls.ts';
import { resolveTls, type TlsSettings } from './tls.ts';

export interface DatabaseEndpoint {
  readonly engine: Engine;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Databases named in the URL path (comma-separated); empty means "all" for a dump. */
  readonly databases: readonly string[];
  /** Unset: the default for the engine and host (see tls.ts). */
  readonly tls?: TlsSettings;
}

/** The TLS a connection to `endpoint` uses. */
export const tlsOf = (endpoint: DatabaseEndpoint): TlsSettings => endpoint.tls ?? resolveTls(endpoint.engine, endpoint.host);

/** `endpoint` with TLS `mode` (or the default) and, for verify-full, the CA in `caPem` (or the default CAs). */
export function withTls(endpoint: DatabaseEndpoint, mode?: TlsMode, caPem?: string): DatabaseEndpoint {
  return { ...endpoint, tls: resolveTls(endpoint.engine, endpoint.host, mode, caPem) };
}

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

const SCHEMES: Record<Engine, readonly string[]> = {
  postgres: ['postgres', 'postgresql'],
  doltgres: ['doltgres', 'postgres', 'postgresql'],
  mysql: ['mysql', 'mariadb'],
  dolt: ['dolt', 'mysql'],
};

export const DEFAULT_PORTS: Record<Engine, number> = { postgres: 5432, doltgres: 5432, mysql: 3306, dolt: 3306 };
export const DEFAULT_USERS: Record<Engine, string> = { postgres: 'postgres', doltgres: 'postgres', mysql: 'root', dolt: 'root' };

/**
 * Credentials from the environment, most specific first: SAFEKEEP_DB_USER / SAFEKEEP_DB_PASSWORD (what the
 * Fargate task gets from Secrets Manager), then the tools' own PGUSER/PGPASSWORD or MYSQL_PWD.
 */
export function credentialsFromEnvironment(engine: Engine, env: Readonly<Record<string, string | undefined>>): Credentials {
  const pg = engine === 'postgres' || engine === 'doltgres';
  return {
    username: env.SAFEKEEP_DB_USER ?? (pg ? env.PGUSER : env.MYSQL_USER),
    password: env.SAFEKEEP_DB_PASSWORD ?? (pg ? env.PGPASSWORD : env.MYSQL_PWD),
  };
}

export function parseDatabaseUrl(url: string, engine: Engine, flag: string, credentials: Credentials): DatabaseEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `${flag} must be a URL such as ${SCHEMES[engine][0]}://user@host:${DEFAULT_PORTS[engine]}/database, got "${url}"`,
    );
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!SCHEMES[engine].includes(scheme)) {
    throw new UsageError(
      `${flag} for --engine ${engine} must start with ${SCHEMES[engine].map((s) => `${s}://`).join(' or ')}, got "${scheme}://"`,
    );
  }
  if (parsed.password) {
    throw new UsageError(
      `${flag} contains a password; remove it and pass it in SAFEKEEP_DB_PASSWORD (or --secret), never on the command line`,
    );
  }
  if (!parsed.hostname) throw new UsageError(`${flag} has no host, got "${url}"`);
  // Split before decoding: a comma inside a name arrives encoded (%2C) and stays part of that name.
  const databases = parsed.pathname
    .replace(/^\//, '')
    .split(',')
    .map((name) => decodeURIComponent(name).trim())
    .filter(Boolean);
  return {
    engine,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[engine],
    user: decodeURIComponent(parsed.username) || credentials.username || DEFAULT_USERS[engine],
    password: credentials.password ?? '',
    databases,
  };
}
