/** Database credentials from a Secrets Manager secret (the JSON shape RDS and most tools use). */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PreflightError, UsageError } from '../../contracts/errors.ts';
import type { Credentials } from '../source.ts';

export interface SecretCredentials extends Credentials {
  readonly host?: string;
  readonly port?: number;
}

export async function credentialsFromSecret(secretId: string, client = new SecretsManagerClient({})): Promise<SecretCredentials> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new PreflightError(
      `reading secret "${secretId}" from Secrets Manager failed (${(error as Error).name}); check its name and that this role may read it`,
      4,
    );
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    // Never echo the secret's content: it may be the password itself.
    throw new UsageError(`secret "${secretId}" is not JSON; store {"username": "...", "password": "..."}`);
  }
  const username = typeof parsed.username === 'string' ? parsed.username : undefined;
  const password = typeof parsed.password === 'string' ? parsed.password : undefined;
  if (!password)
    throw new UsageError(`secret "${secretId}" has no "password" field; store {"username": "...", "password": "..."}`);
  return {
    username,
    password,
    host: typeof parsed.host === 'string' ? parsed.host : undefined,
    port: typeof parsed.port === 'number' ? parsed.port : typeof parsed.port === 'string' ? Number(parsed.port) : undefined,
  };
}
