/**
 * AWS throttles bursts; moto never does. A proxy in front of moto answers 30% of all calls with the
 * throttling error each service really sends; every snapshot must still be taken, each throttled request
 * retried by the clients' retry strategy (platform/aws-retry.ts), and the retries are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '#functions/platform/concurrency.ts';
import { awsSnapshotPorts } from '#functions/snapshots/adapters/aws-clients.ts';
import { pruneTarget } from '#functions/snapshots/core/prune.ts';
import { type FlowContext, runSnapshotFlow } from '#functions/snapshots/core/snapshot-flow.ts';
import { startAwsProxy } from '#test/support/aws-proxy.ts';
import { peer } from '#test/support/peers.ts';
import {
  createClusters,
  createInstances,
  createVolumes,
  motoClients,
  privateMoto,
  recordingTelemetry,
  snapshotTargets,
} from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'us-east-2';
const THROTTLE_RATE = 0.3;
const throttledMoto = privateMoto(61098, 'throttle');

describe.skipIf(!moto)('snapshots under API throttling', () => {
  beforeAll(() => throttledMoto.start());
  afterAll(() => throttledMoto.stop());

  it('takes and prunes every snapshot when 30% of calls are throttled', { timeout: 300_000 }, async () => {
    // Prepare
    const { rds, ec2 } = motoClients(throttledMoto.endpoint, REGION);
    const instances = Array.from({ length: 40 }, (_, i) => `throttled-db-${i}`);
    const clusters = Array.from({ length: 10 }, (_, i) => `throttled-cl-${i}`);
    await createInstances(rds, instances);
    await createClusters(rds, clusters);
    await createVolumes(ec2, REGION, 60, { throttled: 'yes' });
    const targets = snapshotTargets(
      [
        ...instances.map((id) => ({ name: id, kind: 'rds-instance', source: { instanceId: id } })),
        ...clusters.map((id) => ({ name: id, kind: 'rds-cluster', source: { clusterId: id } })),
        { name: 'throttled-vols', kind: 'ebs-volume', source: { tags: { throttled: 'yes' } } },
      ],
      { keepLast: 1, minimum: 1 },
    );
    const proxy = await startAwsProxy(throttledMoto.endpoint, { throttleRate: THROTTLE_RATE, seed: 7 });
    let throttleRetries = 0;
    const ports = awsSnapshotPorts({ endpointUrl: proxy.endpoint, onThrottleRetry: () => throttleRetries++ });
    const context: FlowContext = { ports, region: REGION, now: () => new Date(), telemetry: recordingTelemetry().telemetry };
    const run = (target: (typeof targets)[number], round: number) =>
      runSnapshotFlow(target, `20261121T03000${round}Z-round${round}`, context, {
        pollMs: 10,
        timeoutMs: 120_000,
        sleep: async () => {},
      });

    // Act
    const first = await mapWithConcurrency(targets, 16, (target) => run(target, 1));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // distinct names for the second round
    const second = await mapWithConcurrency(targets, 16, (target) => run(target, 2));
    const pruned = await mapWithConcurrency(targets, 16, (target) => pruneTarget(target, context, { dryRun: false }));
    await proxy.close();

    // Assess
    const taken = [...first, ...second].flatMap((outcome) => outcome.snapshots);
    expect(taken).toHaveLength(2 * (40 + 10 + 60));
    expect(taken.every((s) => s.status === 'available')).toBe(true);
    expect(pruned.flatMap((r) => r.deleted)).toHaveLength(40 + 10 + 60);
    const share = proxy.stats.throttled / proxy.stats.requests;
    expect(share).toBeGreaterThan(0.25);
    // Every throttled call was retried by the strategy, and reported (the quota client's calls go uncounted).
    expect(throttleRetries).toBeGreaterThan(0.9 * proxy.stats.throttled);
    console.log(
      `throttling: ${proxy.stats.throttled} of ${proxy.stats.requests} calls throttled (${(100 * share).toFixed(0)}%), ${throttleRetries} retries reported; ${taken.length} snapshots taken, ${pruned.flatMap((r) => r.deleted).length} pruned`,
    );
  });
});
