/**
 * The Dolt and Doltgres binaries `verify` runs on this machine, and what they need: AWS credentials and
 * endpoints from our own environment (to read the backup back) and a private, throwaway home and data
 * directory, so nothing of a real installation is read or changed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch-server.ts';

type Environment = Readonly<Record<string, string | undefined>>;

export const doltBinary = (env: Environment = process.env) => env.SAFEKEEP_DOLT_BIN ?? 'dolt';
export const doltgresBinary = (env: Environment = process.env) => env.SAFEKEEP_DOLTGRES_BIN ?? 'doltgres';

/** Credentials (keys, a task role, web identity), region, CA bundle and service endpoints, as the AWS SDKs read them. */
const AWS_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_CA_BUNDLE',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
];
const AWS_SECRETS = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'];

/** The AWS part of a tool's environment; `endpointUrl` (--endpoint-url) wins for S3. */
export function awsToolEnvironment(
  endpointUrl: string | undefined,
  env: Environment = process.env,
): { env: Record<string, string>; secrets: string[] } {
  const out: Record<string, string> = {};
  for (const name of AWS_VARIABLES) {
    const value = env[name];
    if (value) out[name] = value;
  }
  if (endpointUrl) out.AWS_ENDPOINT_URL_S3 = endpointUrl;
  return { env: out, secrets: AWS_SECRETS.flatMap((name) => (env[name] ? [env[name] as string] : [])) };
}

/** A temporary directory with a Dolt home (DOLT_ROOT_PATH) that has an identity and no metrics. */
export async function scratchDirectory(purpose: string): Promise<{ path: string; home: string; dispose: () => Promise<void> }> {
  const { path, dispose } = await scratchDir(purpose);
  const home = join(path, 'home');
  await mkdir(join(home, '.dolt'), { recursive: true });
  await writeFile(
    join(home, '.dolt', 'config_global.json'),
    JSON.stringify({ 'user.name': 'Safekeep verify', 'user.email': 'safekeep@localhost', 'metrics.disabled': 'true' }),
  );
  return { path, home, dispose };
}
