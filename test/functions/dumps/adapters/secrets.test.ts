import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { motoClientConfig, s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

describe.skipIf(!postgres || !versitygw || !moto)('credentials from Secrets Manager (--secret)', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const secrets = new SecretsManagerClient(motoClientConfig(moto as NonNullable<typeof moto>));
  // No SAFEKEEP_DB_PASSWORD: the secret is the only source of the password.
  const env = peerEnvironment(s3Peer);
  /** `safekeep dump` of the postgres peer with credentials from `secret` only. */
  const dumpWithSecret = (secret: string, to: string, ...extra: string[]) =>
    runCli(
      [
        'dump',
        '--engine',
        'postgres',
        '--source',
        `postgres://127.0.0.1:${pgPeer.port}/postgres`,
        '--secret',
        secret,
        '--to',
        to,
        ...extra,
      ],
      env,
    );

  it('dumps with the username and password the secret holds, and never prints them', async () => {
    // Prepare
    const name = uniqueName('safekeep/meta');
    await secrets.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ username: pgPeer.user, password: pgPeer.password, engine: 'postgres' }),
      }),
    );
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'secrets');

    // Act
    const run = await dumpWithSecret(name, `s3://${bucket}/meta`, '--endpoint-url', s3Peer.endpoint, '--json');

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(pgPeer.password);
  });

  it('refuses a secret that is not JSON without echoing it', async () => {
    const name = uniqueName('safekeep/plain');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'just-the-password-xyz' }));
    const run = await dumpWithSecret(name, 's3://unused/meta', '--endpoint-url', s3Peer.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is not JSON; store \{"username": "\.\.\.", "password": "\.\.\."\}/);
    expect(run.stderr).not.toContain('just-the-password-xyz');
  });

  it('names a secret that does not exist', async () => {
    const run = await dumpWithSecret('safekeep/missing', 's3://unused/meta');
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/reading secret "safekeep\/missing" from Secrets Manager failed \(ResourceNotFoundException\)/);
  });
});
