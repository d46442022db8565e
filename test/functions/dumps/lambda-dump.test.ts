/**
 * The Lambda runner's pure parts: a deployed target becomes its request through the same `dumpRequestFor` the
 * Fargate task uses, only the function's own target with runner "lambda" runs, and the layer's tools come first.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { DumpTarget } from '#functions/contracts/config/schema.ts';
import { runRefSchema } from '#functions/contracts/run-payloads.ts';
import { layerToolEnvironment } from '#functions/dumps/adapters/layer-tools.ts';
import { lambdaRunnerTarget } from '#functions/dumps/lambda-dump.ts';
import { dumpRequestFor } from '#functions/dumps/request.ts';
import { parseEvent } from '#functions/platform/lambda-handler.ts';
import { deploymentOf } from '#test/support/deployment.ts';

const network = { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] };

function configOf(...targets: Record<string, unknown>[]) {
  return parseConfig({ defaults: { schedule: { expression: 'rate(1 day)' } }, targets }, 'test config');
}

const dumpTarget = (fields: Record<string, unknown>) =>
  configOf({ name: 'meta', kind: 'postgres', runner: 'lambda', timeoutMinutes: 10, network, ...fields }).targets[0] as DumpTarget;

describe('dumpRequestFor', () => {
  it.each([
    {
      kind: 'postgres',
      source: { host: 'db.internal', databases: ['metadb', 'other db'], secret: 's' },
      endpoint: { host: 'db.internal', port: 5432, databases: ['metadb', 'other db'], tls: { mode: 'require' } },
    },
    {
      kind: 'mysql',
      source: { host: '10.0.0.7', port: 3307, secret: 's' },
      endpoint: { host: '10.0.0.7', port: 3307, databases: [], tls: { mode: 'require' } },
    },
    {
      kind: 'doltgres',
      source: { host: '[fd00::7]', databases: ['analytics'], secret: 's' },
      endpoint: { host: 'fd00::7', port: 5432, databases: ['analytics'], tls: { mode: 'disable' } },
    },
    {
      kind: 'dolt',
      source: { host: 'dolt.internal', secret: 's' },
      endpoint: { host: 'dolt.internal', port: 3306, databases: [], tls: { mode: 'disable' } },
    },
    {
      kind: 'mysql',
      source: { host: 'db.abcdefghijkl.eu-west-1.rds.amazonaws.com', secret: 's', tls: 'disable' },
      endpoint: { host: 'db.abcdefghijkl.eu-west-1.rds.amazonaws.com', port: 3306, databases: [], tls: { mode: 'disable' } },
    },
  ])('gives a $kind target its source: the bare host, the default port, its databases', ({ endpoint, ...fields }) => {
    // Prepare
    const target = dumpTarget({ ...fields, timeoutMinutes: 12 });
    const credentials = { username: 'backup', password: 'not-a-real-password' };

    // Act
    const request = dumpRequestFor(target, { bucket: 'artifacts' }, credentials, '20261121T193000Z-a1b2c3');

    // Assess
    expect(request.source).toEqual({ engine: target.kind, user: 'backup', password: 'not-a-real-password', ...endpoint });
    expect(request).toMatchObject({
      destination: { bucket: 'artifacts', prefix: 'meta' },
      target: 'meta',
      compression: 'zstd',
      timeoutMs: 12 * 60_000,
      runId: '20261121T193000Z-a1b2c3',
    });
    expect(request.engine.engine).toBe(target.kind);
  });

  it('verifies an RDS endpoint against the RDS certificate bundle by default', () => {
    const target = dumpTarget({ source: { host: 'meta.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com', secret: 's' } });
    const request = dumpRequestFor(target, { bucket: 'artifacts' }, { password: 'p' });
    expect(request.source.tls).toEqual({ mode: 'verify-full', ca: expect.stringContaining('-----BEGIN CERTIFICATE-----') });
  });

  it("falls back to the engine's default user and hands Dolt the remote table", () => {
    const target = dumpTarget({ kind: 'dolt', source: { host: 'dolt.internal', secret: 's' }, compression: 'gzip' });
    const request = dumpRequestFor(target, { bucket: 'artifacts', doltTable: 'dolt-manifests' }, { password: 'p' });
    expect(request.source).toMatchObject({ user: 'root', port: 3306, databases: [] });
    expect(request.compression).toBe('gzip');
    expect(request.dolt).toEqual({ dynamoTable: 'dolt-manifests' });
  });

  it("carries the target's retention and its schedule's time zone, so the worker prunes after the run", () => {
    const target = dumpTarget({
      source: { host: 'db.internal', secret: 's' },
      schedule: { expression: 'cron(15 3 * * ? *)', timezone: 'Europe/Berlin' },
      retention: { keepLast: 14, maxAgeDays: 90 },
    });
    const request = dumpRequestFor(target, { bucket: 'artifacts' }, { password: 'p' });
    expect(request.retention).toEqual({ policy: { keepLast: 14, maxAgeDays: 90, minimum: 1 }, timeZone: 'Europe/Berlin' });
  });
});

describe('lambdaRunnerTarget', () => {
  const config = configOf(
    { name: 'meta', kind: 'postgres', runner: 'lambda', timeoutMinutes: 10, network, source: { host: 'db', secret: 's' } },
    { name: 'big', kind: 'postgres', network, source: { host: 'db', secret: 's' } },
    { name: 'orders', kind: 'rds-instance', source: { instanceId: 'orders' } },
  );
  const deployed = deploymentOf(config, { bucket: 'artifacts', workers: { meta: 'Test-meta-worker' } });

  it('returns the dump target with runner "lambda" that this function runs', () => {
    expect(lambdaRunnerTarget(deployed, 'meta', 'Test-meta-worker').name).toBe('meta');
  });

  it.each([
    ['big', 'some-function', /target "big" has runner "fargate"; only targets with runner "lambda" run here/],
    ['orders', 'some-function', /target "orders" is a rds-instance snapshot target/],
    ['nope', 'some-function', /no target named "nope" in this deployment; targets: meta, big, orders/],
    ['big', 'Test-meta-worker', /this function runs target "meta" only, got "big"; invoke the worker of "big" instead/],
  ])('refuses %s (in function %s)', (name, functionName, message) => {
    expect(() => lambdaRunnerTarget(deployed, name, functionName)).toThrow(message);
  });
});

describe('the worker event', () => {
  it('names a bad run id in one line', () => {
    expect(() => parseEvent(runRefSchema, { target: 'meta', runId: 'yesterday' })).toThrow(
      'invalid event: runId: must be a run id such as 20261121T193000Z-a1b2c3',
    );
  });
});

describe('layerToolEnvironment', () => {
  const layer = new Set(['/opt/bin/pg_dump', '/opt/bin/mariadb-dump', '/opt/bin/mysqldump', '/opt/bin/mariadb']);

  it("puts the layer's tools first, as the Fargate image's ENV does", () => {
    expect(layerToolEnvironment({ PATH: '/var/lang/bin:/usr/bin:/opt/bin' }, (path) => layer.has(path))).toEqual({
      PATH: '/opt/bin:/var/lang/bin:/usr/bin:/opt/bin',
      SAFEKEEP_PG_BIN: '/opt/bin',
      SAFEKEEP_MYSQLDUMP: '/opt/bin/mariadb-dump',
      SAFEKEEP_MYSQL: '/opt/bin/mariadb',
    });
  });

  it('leaves variables already set alone, and only touches PATH without the layer', () => {
    expect(layerToolEnvironment({ PATH: '/opt/bin:/usr/bin', SAFEKEEP_PG_BIN: '/custom' }, (path) => layer.has(path))).toEqual({
      PATH: '/opt/bin:/usr/bin',
      SAFEKEEP_MYSQLDUMP: '/opt/bin/mariadb-dump',
      SAFEKEEP_MYSQL: '/opt/bin/mariadb',
    });
    expect(layerToolEnvironment({ PATH: '/usr/bin' }, () => false)).toEqual({ PATH: '/opt/bin:/usr/bin' });
  });
});
