/**
 * The Fargate image cannot be built here (no Docker engine), so we test what it runs: the bundled CLI
 * produced by the same script the Dockerfile calls, started with the same flags as its ENTRYPOINT, backing
 * up a real database. Static checks keep the Dockerfile's pins in step with the tested tools.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundleWorker, imageEntrypoint } from '#functions/cli/container/bundle.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, peerEnvironment, uniqueName } from '#test/support/worker.ts';

const DOCKERFILE = readFileSync('functions/cli/container/Dockerfile', 'utf8');
const VERSIONS = readFileSync('scripts/versions.sh', 'utf8');
const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

const pinned = (text: string, name: string) => new RegExp(`${name}=(\\S+)`).exec(text)?.[1];
/** The image's ENTRYPOINT flags, as the Dockerfile writes them: the test starts the bundle exactly so. */
const NODE_FLAGS = imageEntrypoint().nodeFlags;

describe('the Fargate image', () => {
  it('pins the same Dolt and Doltgres the tests run', () => {
    for (const name of ['DOLT_MODULE_VERSION', 'DOLTGRES_VERSION']) {
      expect(pinned(DOCKERFILE, `ARG ${name}`), name).toBe(pinned(VERSIONS, name));
    }
  });

  it('starts the bundle the bundle script writes, as a non-root user, with the flags the bench measured', () => {
    expect(DOCKERFILE).toMatch(/RUN node functions\/cli\/container\/bundle\.ts \/out\/safekeep\.mjs/);
    // The lock file is optional: npm never packs it, so an installed Safekeep's context has none.
    expect(DOCKERFILE).toMatch(/^COPY package\.json package-lock\.json\* \.\/$/m);
    expect(DOCKERFILE).toMatch(/ENTRYPOINT \["node", "--max-semi-space-size=4", "\/app\/safekeep\.mjs"\]/);
    expect(DOCKERFILE).toMatch(/^USER node$/m);
    expect(DOCKERFILE).toMatch(/postgresql-client-\$\{PG_MAJOR\}/);
    expect(DOCKERFILE).toMatch(/mysql-8\.4-lts/);
  });

  describe.skipIf(!postgres || !versitygw)('its entry point, run on this machine', () => {
    it('backs up and verifies a database with the bundled CLI, which carries no CDK code', async () => {
      // Prepare
      const pgPeer = postgres as NonNullable<typeof postgres>;
      const s3Peer = versitygw as NonNullable<typeof versitygw>;
      const bundle = await bundleWorker(join(mkdtempSync(join(tmpdir(), 'safekeep-bundle-')), 'safekeep.mjs'));
      expect(readFileSync(bundle, 'utf8')).not.toMatch(/aws-cdk-lib|cdk-nag/);
      const database = uniqueName('image_src');
      await createPostgresDatabase(pgPeer, database);
      const bucket = await createVersionedBucket(s3Client(s3Peer), 'image');
      // What ECS injects from Secrets Manager: the user and password, never in the command.
      const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_USER: pgPeer.user, SAFEKEEP_DB_PASSWORD: pgPeer.password });
      const run = (args: string[]) => promisify(execFile)(process.execPath, [...NODE_FLAGS, bundle, ...args], { env });

      // Act
      const dump = await run([
        'dump',
        '--engine',
        'postgres',
        '--source',
        `postgres://127.0.0.1:${pgPeer.port}/${database}`,
        '--to',
        `s3://${bucket}/image-test`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--json',
      ]);
      const manifest = JSON.parse(dump.stdout) as { manifest: string };
      const verify = await run(['verify', '--from', manifest.manifest, '--endpoint-url', s3Peer.endpoint]);

      // Assess
      expect(verify.stdout).toMatch(/all intact/);
      expect(dump.stdout + dump.stderr + verify.stdout + verify.stderr).not.toContain(pgPeer.password);
    });
  });
});
