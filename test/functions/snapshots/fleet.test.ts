/**
 * One run over a fleet: 200 RDS instances, 50 Aurora clusters and 500 EBS volumes (5 tag selectors of 100),
 * each snapshotted twice, then pruned by a GFS policy. Every resource must end with exactly its newest
 * Safekeep snapshot, correctly tagged. Wall time and API calls are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '#functions/contracts/artifact-layout.ts';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { TAG } from '#functions/contracts/snapshot-naming.ts';
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
const REGION = 'ap-southeast-2';
const fleetMoto = privateMoto(61099, 'fleet');
const TARGETS_AT_ONCE = 16;

describe.skipIf(!moto)('a fleet-wide snapshot run', () => {
  beforeAll(() => fleetMoto.start());
  afterAll(() => fleetMoto.stop());

  it('snapshots, tags and prunes 200 instances, 50 clusters and 500 volumes', { timeout: 600_000 }, async () => {
    // Prepare
    const { rds, ec2 } = motoClients(fleetMoto.endpoint, REGION);
    const suffix = Date.now().toString(36);
    const instances = Array.from({ length: 200 }, (_, i) => `fleet-db-${suffix}-${i}`);
    const clusters = Array.from({ length: 50 }, (_, i) => `fleet-cl-${suffix}-${i}`);
    await createInstances(rds, instances);
    await createClusters(rds, clusters);
    const volumeGroups = await Promise.all(
      Array.from({ length: 5 }, (_, group) => createVolumes(ec2, REGION, 100, { fleet: suffix, group: String(group) })),
    );
    const targets = snapshotTargets(
      [
        ...instances.map((id, i) => ({ name: `db-${suffix}-${i}`, kind: 'rds-instance', source: { instanceId: id } })),
        ...clusters.map((id, i) => ({ name: `cl-${suffix}-${i}`, kind: 'rds-cluster', source: { clusterId: id } })),
        ...volumeGroups.map((_, group) => ({
          name: `vols-${suffix}-${group}`,
          kind: 'ebs-volume',
          source: { tags: { fleet: suffix, group: String(group) } },
        })),
      ],
      { keepLast: 1, gfs: { daily: 1, weekly: 1 }, minimum: 1 },
    );
    const proxy = await startAwsProxy(fleetMoto.endpoint);
    const { telemetry } = recordingTelemetry();
    const context: FlowContext = {
      ports: awsSnapshotPorts({ endpointUrl: proxy.endpoint }),
      region: REGION,
      now: () => new Date(),
      telemetry,
    };
    const run = (target: SnapshotTarget) =>
      runSnapshotFlow(target, newRunId(new Date(), Math.random().toString(16).slice(2, 8)), context, {
        pollMs: 10,
        timeoutMs: 60_000,
        sleep: async () => {},
      });

    // Act: two runs of every target (the first becomes history), then prune
    const started = performance.now();
    const lap = (() => {
      let last = started;
      return () => {
        const now = performance.now();
        const seconds = (now - last) / 1000;
        last = now;
        return seconds.toFixed(1);
      };
    })();
    const first = await mapWithConcurrency(targets, TARGETS_AT_ONCE, run);
    const firstSeconds = lap();
    const second = await mapWithConcurrency(targets, TARGETS_AT_ONCE, run);
    const secondSeconds = lap();
    const pruned = await mapWithConcurrency(targets, TARGETS_AT_ONCE, (target) =>
      pruneTarget(target, context, { dryRun: false }),
    );
    const pruneSeconds = lap();
    const seconds = (performance.now() - started) / 1000;
    const calls = proxy.stats.requests;

    // Assess
    const taken = [...first, ...second].flatMap((outcome) => outcome.snapshots);
    expect([...first, ...second].every((outcome) => outcome.state === 'complete')).toBe(true);
    expect(taken).toHaveLength(2 * (200 + 50 + 500));
    expect(new Set(taken.map((s) => s.source)).size).toBe(750);
    for (const snapshot of taken) {
      expect(snapshot.tags[TAG.target]).toBeTruthy();
      expect(snapshot.tags[TAG.runId]).toMatch(/^\d{8}T\d{6}Z-\w+$/);
      // No UTC tier tag: retention computes GFS periods in the schedule's time zone (one source of truth).
      expect(
        Object.keys(snapshot.tags)
          .filter((k) => k.startsWith('safekeep:'))
          .sort(),
      ).toEqual([TAG.runId, TAG.target]);
    }
    const deleted = pruned.flatMap((result) => result.deleted.map((d) => d.snapshot.id));
    const secondIds = new Set(second.flatMap((outcome) => outcome.snapshots.map((s) => s.id)));
    expect(deleted).toHaveLength(750);
    expect(deleted.some((id) => secondIds.has(id))).toBe(false);
    const remaining = await mapWithConcurrency(targets, TARGETS_AT_ONCE, async (target) =>
      target.kind === 'ebs-volume'
        ? context.ports.ec2(REGION).listTargetSnapshots(target.name)
        : target.kind === 'rds-instance'
          ? context.ports.rds(REGION).listTargetSnapshots(target.kind, target.name, target.source.instanceId)
          : context.ports
              .rds(REGION)
              .listTargetSnapshots('rds-cluster', target.name, (target.source as { clusterId: string }).clusterId),
    );
    expect(
      remaining
        .flat()
        .map((s) => s.id)
        .sort(),
    ).toEqual([...secondIds].sort());
    await proxy.close();
    console.log(
      `fleet run: 750 resources snapshotted twice and pruned in ${seconds.toFixed(1)} s (runs ${firstSeconds} s + ${secondSeconds} s, prune ${pruneSeconds} s) with ${calls} API calls (${JSON.stringify(proxy.stats.byService)})`,
    );
  });
});
