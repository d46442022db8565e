/** Fixtures for snapshot tests: resources in moto, targets as the config schema makes them. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBClusterCommand, CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import type { Telemetry } from '#functions/contracts/telemetry.ts';
import { mapWithConcurrency } from '#functions/platform/concurrency.ts';
import { MOTO_CREDENTIALS } from './aws.ts';

/**
 * A moto of the test's own on `port`, without moto's ~1,300 public AMI snapshots (foreign.test.ts keeps
 * those on the shared peer): moto filters tags by scanning everything, so on the shared, long-lived server
 * a large test slows by minutes and its timing skews. Start it in beforeAll, stop it in afterAll. Give it a
 * port above Linux's ephemeral range (32768-60999), so no outgoing connection can be holding it at start.
 */
export function privateMoto(port: number, name: string) {
  const env = {
    ...process.env,
    SAFEKEEP_RUN: mkdtempSync(join(tmpdir(), `safekeep-${name}-`)),
    SAFEKEEP_MOTO_PORT: String(port),
    MOTO_EC2_LOAD_DEFAULT_AMIS: 'false',
  };
  const peers = (command: 'start' | 'stop') => promisify(execFile)('bash', ['scripts/peers.sh', command, 'moto'], { env });
  return { endpoint: `http://127.0.0.1:${port}`, start: () => peers('start'), stop: () => peers('stop') };
}

export function motoClients(endpoint: string, region: string) {
  const config = { endpoint, region, credentials: MOTO_CREDENTIALS };
  return { rds: new RDSClient(config), ec2: new EC2Client(config) };
}

export async function createInstances(
  rds: RDSClient,
  ids: readonly string[],
  options: { encrypted?: boolean } = {},
): Promise<void> {
  await mapWithConcurrency(ids, 8, (id) =>
    rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: id,
        DBInstanceClass: 'db.t4g.micro',
        Engine: 'postgres',
        AllocatedStorage: 20,
        MasterUsername: 'admin',
        MasterUserPassword: 'not-a-real-secret',
        ...(options.encrypted ? { StorageEncrypted: true, KmsKeyId: 'alias/aws/rds' } : {}),
      }),
    ),
  );
}

export async function createClusters(rds: RDSClient, ids: readonly string[]): Promise<void> {
  await mapWithConcurrency(ids, 8, (id) =>
    rds.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: id,
        Engine: 'aurora-postgresql',
        MasterUsername: 'admin',
        MasterUserPassword: 'not-a-real-secret',
      }),
    ),
  );
}

export async function createVolumes(
  ec2: EC2Client,
  region: string,
  count: number,
  tags: Record<string, string>,
): Promise<string[]> {
  return mapWithConcurrency(Array.from({ length: count }), 8, async () => {
    const volume = await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: `${region}a`,
        Size: 8,
        TagSpecifications: [{ ResourceType: 'volume', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
      }),
    );
    return volume.VolumeId ?? '';
  });
}

/** Targets validated by the real config schema, so tests use exactly what users configure. */
export function snapshotTargets(
  targets: readonly Record<string, unknown>[],
  retention?: Record<string, unknown>,
): SnapshotTarget[] {
  const config = parseConfig(
    { defaults: { schedule: { expression: 'cron(0 3 * * ? *)' }, ...(retention ? { retention } : {}) }, targets },
    'test config',
  );
  return config.targets as SnapshotTarget[];
}

export function recordingTelemetry() {
  const events: { level: string; message: string; fields?: unknown }[] = [];
  const metrics: { name: string; value: number; dimensions?: Record<string, string> }[] = [];
  const telemetry: Telemetry = {
    info: (message, fields) => events.push({ level: 'info', message, fields }),
    warn: (message, fields) => events.push({ level: 'warn', message, fields }),
    metric: (name, value, _unit, dimensions) => metrics.push({ name, value, dimensions }),
  };
  return { telemetry, events, metrics };
}
