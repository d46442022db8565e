/**
 * `safekeep dump --target`: a configured target backed up through the same `dumpRequestFor` the Fargate task and
 * the Lambda worker use, here from a config file on this machine. Its engine, source, compression and timeout
 * come from the config; the flags that would contradict it are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !versitygw)('safekeep dump --config --bucket --target', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;

  it('backs up the configured target with its own compression, under its name, and verifies', async () => {
    // Prepare
    const database = uniqueName('cfg_target');
    await createPostgresDatabase(pgPeer, database, [
      'CREATE TABLE t (id int PRIMARY KEY)',
      'INSERT INTO t SELECT generate_series(1, 42)',
    ]);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'cfg-target');
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-cfg-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      [
        'targets:',
        '  - name: meta-local',
        '    kind: postgres',
        '    compression: gzip',
        '    schedule: { expression: "rate(1 day)" }',
        `    source: { host: "127.0.0.1", port: ${pgPeer.port}, databases: [${database}], secret: safekeep/unused }`,
        '    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }',
        '',
      ].join('\n'),
    );
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_USER: pgPeer.user, SAFEKEEP_DB_PASSWORD: pgPeer.password });
    const flags = ['--config', config, '--bucket', bucket, '--target', 'meta-local', '--endpoint-url', s3Peer.endpoint];

    // Act
    const dump = await runCli(['dump', ...flags, '--json'], env);
    const refused = await runCli(['dump', ...flags, '--compression', 'zstd'], env);

    // Assess
    expect(dump.code, dump.stderr).toBe(0);
    const manifest = manifestUrlOf(dump);
    expect(manifest).toMatch(new RegExp(`^s3://${bucket}/meta-local/\\d{4}/\\d{2}/\\d{2}/`));
    expect(JSON.parse(dump.stdout.trim())).toMatchObject({
      target: 'meta-local',
      compression: 'gzip',
      source: { databases: [database] },
    });
    const verify = await runCli(['verify', '--from', manifest, '--endpoint-url', s3Peer.endpoint], env);
    expect(verify.stdout).toMatch(/all intact/);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe("safekeep: --compression comes from the target's config with --target; drop it");
  });

  it('names the targets the config has when the name is wrong', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-cfg-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      'targets:\n  - { name: orders, kind: rds-instance, schedule: { expression: "rate(1 day)" }, source: { instanceId: orders } }\n',
    );
    const run = await runCli(['dump', '--config', config, '--bucket', 'b', '--target', 'nope'], peerEnvironment(s3Peer));
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(`safekeep: ${config} has no target "nope"; it has orders`);
  });
});
