/**
 * `safekeep drill` as users and the Fargate task run it (a real process): locally with --config and --bucket
 * it picks the target's newest backup, --from names another, a failed drill exits 3 (EXIT.integrity); inside
 * the task (SAFEKEEP_ACTION=drill on the target's own `dump --target` command) it drills the manifest the
 * dispatcher named in SAFEKEEP_DRILL_FROM, as the drill id SAFEKEEP_RUN_ID.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '#functions/contracts/config/load.ts';
import { drillResultSchema } from '#functions/contracts/drill.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const postgres18 = await peer('postgres18');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !postgres18 || !versitygw)('safekeep drill', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const s3 = s3Client(s3Peer);
  const env = peerEnvironment(s3Peer, {
    SAFEKEEP_DB_USER: pgPeer.user,
    SAFEKEEP_DB_PASSWORD: pgPeer.password,
    SAFEKEEP_PG_SERVER_BIN: join(RUN_DIR, 'postgres18', 'dist', 'bin'),
  });
  let bucket = '';
  let config = '';
  const manifests: string[] = [];
  const local = () => ['--config', config, '--bucket', bucket, '--endpoint-url', s3Peer.endpoint];
  const keyOf = (url: string) => url.replace(`s3://${bucket}/`, '');
  const read = async (key: string) =>
    (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString('utf8')) ?? '';

  beforeAll(async () => {
    const database = uniqueName('cli_drill');
    await createPostgresDatabase(pgPeer, database, [
      'CREATE TABLE t (id int PRIMARY KEY)',
      'INSERT INTO t SELECT generate_series(1, 42)',
    ]);
    bucket = await createVersionedBucket(s3, 'cli-drill');
    config = join(mkdtempSync(join(tmpdir(), 'safekeep-cfg-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      [
        'targets:',
        '  - name: meta-drill',
        '    kind: postgres',
        '    schedule: { expression: "rate(1 day)" }',
        '    drill: { schedule: { expression: "rate(7 days)" }, pick: latest }',
        `    source: { host: "127.0.0.1", port: ${pgPeer.port}, databases: [${database}], secret: safekeep/unused }`,
        '    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }',
        '',
      ].join('\n'),
    );
    for (let run = 0; run < 2; run++) {
      const dump = await runCli(['dump', ...local(), '--target', 'meta-drill', '--json'], env);
      expect(dump.code, dump.stderr).toBe(0);
      manifests.push(manifestUrlOf(dump));
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // run ids are per second
    }
  });

  it('drills the newest backup locally and writes its drill.json', async () => {
    const run = await runCli(['drill', 'meta-drill', ...local(), '--json'], env);

    expect(run.code, run.stderr).toBe(0);
    const result = drillResultSchema.parse(JSON.parse(run.stdout));
    expect(result).toMatchObject({ target: 'meta-drill', validationStatus: 'SUCCESSFUL', trigger: 'manual', pick: 'latest' });
    expect(result.restoredFrom.manifestKey).toBe(keyOf(manifests[1] as string));
    expect(JSON.parse(await read(keyOf(manifests[1] as string).replace(/manifest\.json$/, 'drill.json')))).toEqual(result);
  });

  it('drills the backup --from names, and exits 3 naming the object when it is corrupt', async () => {
    const from = manifests[0] as string;
    const good = await runCli(['drill', 'meta-drill', '--from', from, '--endpoint-url', s3Peer.endpoint], env);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(
      /^drill of meta-drill run \S+ passed in [\d.]+s: restored 1 database into a scratch PostgreSQL 18\.\S+ server: 1 table, 42 rows/,
    );

    // The archive's bytes change under a manifest that still records the old SHA-256.
    const manifest = JSON.parse(await read(keyOf(from))) as Manifest;
    const archive = manifest.objects.find((o) => o.role === 'database') as Manifest['objects'][number];
    const body = Buffer.from(`${archive.sha256}: not the archive`);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: archive.key, Body: body }));
    archive.versionId = put.VersionId;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(from), Body: JSON.stringify(manifest) }));
    const bad = await runCli(['drill', 'meta-drill', '--from', from, '--endpoint-url', s3Peer.endpoint], env);

    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`safekeep: drill of meta-drill run ${manifest.runId} FAILED`);
    expect(bad.stderr).toContain(
      `${archive.key} is corrupt: ${body.length} bytes with SHA-256 ${createHash('sha256').update(body).digest('hex').slice(0, 16)}`,
    );
  });

  it("drills inside the target's task what the dispatcher named, as the drill id it was given", async () => {
    const document = deploymentOf(loadConfigFile(config), { bucket });
    const from = keyOf(manifests[1] as string);
    const taskEnv = {
      ...env,
      ...deploymentEnvironment(document),
      SAFEKEEP_TARGET: 'meta-drill',
      SAFEKEEP_RUN_ID: '20261201T120000Z-drill1',
      SAFEKEEP_ACTION: 'drill',
      SAFEKEEP_DRILL_FROM: from,
    };

    const run = await runCli(['dump', '--target', 'meta-drill', '--json'], taskEnv);

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      drillId: '20261201T120000Z-drill1',
      trigger: 'schedule',
      validationStatus: 'SUCCESSFUL',
      restoredFrom: { manifestKey: from },
    });
  });
});
