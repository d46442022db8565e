/**
 * The Lambda dump worker's handler, run in-process from source exactly as the function bundles it: the
 * deployment document in SAFEKEEP_DEPLOYMENT, the password only in a Secrets Manager secret (moto), the backup in
 * versitygw, the source the local PostgreSQL peer. What Lambda adds (the layer at /opt, the VPC) is asserted
 * on the template in test/infra/lambda-runner.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manifestKeyOf, newRunId } from '#functions/contracts/artifact-layout.ts';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { loadManifest } from '#functions/contracts/manifest.ts';
import type { LambdaDumpResult } from '#functions/dumps/lambda-dump.ts';
import { createS3Client, s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { recordRunEnd } from '#functions/runs/recorder.ts';
import { lambdaDestination } from '#functions/runs/run-end-events.ts';
import { datapointsFromEmf } from '#test/support/alarms.ts';
import { motoClientConfig, s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import {
  createVersionedBucket,
  objectVersions,
  openMultipartUploads,
  peerEnvironment,
  runCli,
  uniqueName,
} from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

const TARGET = 'meta-lambda';
type Handler = (event: unknown, context: unknown) => Promise<LambdaDumpResult>;
const lambdaContext = {
  functionName: 'safekeep-worker-meta-lambda',
  awsRequestId: 'test',
  getRemainingTimeInMillis: () => 900_000,
};

describe.skipIf(!postgres || !versitygw || !moto)('the Lambda dump worker, run in-process', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const secrets = new SecretsManagerClient(motoClientConfig(motoPeer));
  const database = uniqueName('lambda_src');
  const secretName = uniqueName('safekeep/meta-lambda');
  const wrongSecretName = uniqueName('safekeep/meta-lambda-wrong');
  const wrongPassword = `wrong-${uniqueName('password')}`;
  const savedEnvironment = { ...process.env };
  const logged: string[] = [];
  let bucket: string;
  let handler: Handler;
  /** What the worker sent the recorder (a stand-in Lambda endpoint that takes async invokes, as Lambda does). */
  const reported: { functionName: string; invocationType: string; payload: unknown }[] = [];
  const lambdaEndpoint = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      reported.push({
        functionName: decodeURIComponent(/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? ''),
        invocationType: String(request.headers['x-amz-invocation-type']),
        payload: JSON.parse(body),
      });
      response.writeHead(202).end();
    });
  });

  /** The deployment: one postgres target on the Lambda runner (this function's), its password in `secret`. */
  const deploy = (secret: string) => {
    const config = parseConfig(
      {
        defaults: { schedule: { expression: 'rate(1 day)' } },
        targets: [
          {
            name: TARGET,
            kind: 'postgres',
            runner: 'lambda',
            timeoutMinutes: 5,
            source: { host: '127.0.0.1', port: pgPeer.port, databases: [database], secret },
            network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
          },
        ],
      },
      'test config',
    );
    const document = deploymentOf(config, { bucket, workers: { [TARGET]: lambdaContext.functionName } });
    Object.assign(process.env, deploymentEnvironment(document));
  };

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, database, [
      'CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)',
      "INSERT INTO items SELECT n, 'item ' || n FROM generate_series(1, 250) AS n",
    ]);
    const secret = (name: string, password: string) =>
      secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: pgPeer.user, password }) }));
    await secret(secretName, pgPeer.password);
    await secret(wrongSecretName, wrongPassword);
    bucket = await createVersionedBucket(s3, 'lambda-runner');

    await new Promise<void>((ready) => lambdaEndpoint.listen(0, '127.0.0.1', ready));
    // What the function's configuration and Lambda give it. moto takes any credentials; versitygw wants its own.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambdaEndpoint.address() as AddressInfo).port}`,
      SAFEKEEP_RECORDER: 'safekeep-recorder',
      AWS_ACCESS_KEY_ID: s3Peer.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3Peer.secretAccessKey,
      AWS_ENDPOINT_URL: motoPeer.endpoint,
      AWS_ENDPOINT_URL_S3: s3Peer.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: lambdaContext.functionName,
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    deploy(secretName);
    // Everything the function logs (Powertools writes JSON lines to stdout and stderr).
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });
    }
    // Imported only now: the handler builds its SDK clients and Powertools reads its settings at import.
    ({ handler } = (await import('#functions/dumps/handlers/lambda-worker/handler.ts')) as unknown as { handler: Handler });
  });

  afterAll(() => {
    lambdaEndpoint.close();
    vi.restoreAllMocks();
    for (const name of Object.keys(process.env)) if (!(name in savedEnvironment)) delete process.env[name];
    Object.assign(process.env, savedEnvironment);
  });

  it('writes a verified backup under the run id it was given and returns the manifest key, never the password', async () => {
    // Prepare
    const runId = newRunId(new Date(), 'lambda1');

    // Act
    const result = await handler({ target: TARGET, runId, dispatched: true }, lambdaContext);

    // Assess
    expect(result).toEqual({
      target: TARGET,
      runId,
      manifestKey: manifestKeyOf(TARGET, runId),
      rawBytes: expect.any(Number),
      storedBytes: expect.any(Number),
    });
    expect(result.rawBytes).toBeGreaterThan(0);
    const verify = await runCli(
      ['verify', '--from', `s3://${bucket}/${result.manifestKey}`, '--endpoint-url', s3Peer.endpoint, '--json'],
      peerEnvironment(s3Peer),
    );
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, engine: 'postgres' });
    const manifest = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: result.manifestKey }))
    ).Body?.transformToString();
    expect(JSON.parse(manifest ?? '{}')).toMatchObject({
      target: TARGET,
      runId,
      source: { databases: [database] },
      objects: expect.arrayContaining([expect.objectContaining({ database, rowCounts: { 'public.items': 250 } })]),
    });
    // The log capture works (or the next assertion would prove nothing), and holds no password.
    expect(logged.join('')).toContain('backup committed');
    expect(logged.join('')).not.toContain(pgPeer.password);
    expect(JSON.stringify(result)).not.toContain(pgPeer.password);
    expect(manifest).not.toContain(pgPeer.password);
  });

  it('fails preflight with a clear message when the secret holds a wrong password, and uploads nothing', async () => {
    // Prepare
    deploy(wrongSecretName);
    const runId = newRunId(new Date(), 'wrongpw');
    const before = await objectVersions(s3, bucket);

    // Act
    const run = handler({ target: TARGET, runId, dispatched: true }, lambdaContext);

    // Assess
    await expect(run).rejects.toThrow(
      `postgres at 127.0.0.1:${pgPeer.port} rejected the credentials of user "${pgPeer.user}"; check the password (SAFEKEEP_DB_PASSWORD or the secret)`,
    );
    await expect(run).rejects.toMatchObject({ name: 'PreflightError' });
    expect(await objectVersions(s3, bucket)).toEqual(before);
    expect(await openMultipartUploads(s3, bucket)).toEqual([]);
    expect(logged.join('')).not.toContain(wrongPassword);
    expect(logged.join('')).not.toContain(pgPeer.password);
  });

  it('names a secret that does not exist', async () => {
    deploy('safekeep/no-such-secret');
    await expect(
      handler({ target: TARGET, runId: newRunId(new Date(), 'nosecret'), dispatched: true }, lambdaContext),
    ).rejects.toThrow('reading secret "safekeep/no-such-secret" from Secrets Manager failed (ResourceNotFoundException)');
  });

  it('refuses a payload for another target before touching anything', async () => {
    deploy(secretName);
    await expect(
      handler({ target: 'orders', runId: newRunId(new Date(), 'other'), dispatched: true }, lambdaContext),
    ).rejects.toThrow(`this function runs target "${TARGET}" only, got "orders"`);
  });

  it('reports a console test (synchronous, no run id, not dispatched) to the recorder, which records it whole and counts it', async () => {
    // Prepare
    deploy(secretName);
    reported.length = 0;
    const runs = await motoRunsTable(motoPeer.endpoint);

    // Act: the console's test event, then the recorder on what the worker sent it
    const result = await handler({ target: TARGET }, lambdaContext);
    const [sent] = reported;
    const store = s3ArtifactStore(createS3Client(s3Peer.endpoint), bucket);
    const lines: string[] = [];
    const outcome = await recordRunEnd(lambdaDestination.parse(sent?.payload), {
      ports: { runs: runs.store, readManifest: async (key) => (await loadManifest(store, key)).manifest },
      now: () => new Date(),
      telemetry: {
        info: () => {},
        warn: () => {},
        metric: (name, value, unit, dimensions) =>
          lines.push(
            JSON.stringify({
              _aws: {
                Timestamp: Date.now(),
                CloudWatchMetrics: [
                  { Namespace: 'Safekeep', Dimensions: [Object.keys(dimensions ?? {})], Metrics: [{ Name: name, Unit: unit }] },
                ],
              },
              ...dimensions,
              [name]: value,
            }),
          ),
      },
    });

    // Assess: one asynchronous report, to the recorder; one complete manual record; one success counted
    expect(reported).toHaveLength(1);
    expect(sent).toMatchObject({ functionName: 'safekeep-recorder', invocationType: 'Event' });
    expect(outcome).toMatchObject({ target: TARGET, runId: result.runId, status: 'succeeded', manifestKey: result.manifestKey });
    expect(await runs.store.get(TARGET, result.runId)).toMatchObject({
      kind: 'dump',
      trigger: 'manual',
      status: 'succeeded',
      manifestKey: result.manifestKey,
      startedAt: expect.any(String),
    });
    expect(datapointsFromEmf(lines)).toContainEqual(
      expect.objectContaining({ name: 'BackupSucceeded', value: 1, dimensions: { Target: TARGET } }),
    );
  });

  it('reports a failed console test as failed, and a dispatched run not at all (its destination does)', async () => {
    deploy(wrongSecretName);
    reported.length = 0;
    await expect(handler({ target: TARGET }, lambdaContext)).rejects.toMatchObject({ name: 'PreflightError' });
    expect(reported).toHaveLength(1);
    expect(reported[0]?.payload).toMatchObject({
      requestContext: { condition: 'Error' },
      responsePayload: { errorMessage: expect.stringMatching(/rejected the credentials/) },
    });
    expect(JSON.stringify(reported)).not.toContain(wrongPassword);
    reported.length = 0;
    await expect(
      handler({ target: TARGET, runId: newRunId(new Date(), 'dispatched'), dispatched: true }, lambdaContext),
    ).rejects.toThrow();
    expect(reported).toHaveLength(0);
  });
});
