/** `--tls` and `--tls-ca`, for the commands that connect to a database (dump, restore). */
import { readFileSync } from 'node:fs';
import { UsageError } from '../contracts/errors.ts';
import { TLS_MODES, type TlsMode } from '../contracts/tls.ts';
import { parseTlsMode } from '../dumps/tls.ts';
import type { FlagDefinitions } from './command.ts';

export const TLS_FLAGS = {
  tls: {
    type: 'string',
    placeholder: TLS_MODES.join('|'),
    description:
      "TLS to the database (default verify-full for RDS and Aurora endpoints, disable for Dolt and Doltgres, else require; with --target, the target's)",
  },
  'tls-ca': {
    type: 'string',
    placeholder: 'FILE',
    description: 'the PEM CA that signed the database certificate, for verify-full (default: the RDS bundle or public CAs)',
  },
} as const satisfies FlagDefinitions;

export function tlsChoice(values: { tls?: string; 'tls-ca'?: string }): { mode?: TlsMode; ca?: string } {
  const mode = parseTlsMode(values.tls, '--tls');
  const path = values['tls-ca'];
  if (path === undefined) return { mode };
  if (mode !== undefined && mode !== 'verify-full') {
    throw new UsageError(`--tls-ca is only used by --tls verify-full; drop it or use --tls verify-full`);
  }
  let ca: string;
  try {
    ca = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --tls-ca ${path} (${(error as NodeJS.ErrnoException).code}); give a PEM file`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--tls-ca ${path} holds no PEM certificate`);
  return { mode: mode ?? 'verify-full', ca };
}
