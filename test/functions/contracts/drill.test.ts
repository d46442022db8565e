import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { drillKeyOf, pickDrillBackup } from '#functions/contracts/drill.ts';

const candidates = ['20261120T030000Z-a', '20261130T030000Z-c', '20261125T030000Z-b'].map((runId) => ({
  runId,
  manifestKey: `app/${runId}/manifest.json`,
}));
const now = new Date('2026-12-01T00:00:00Z');

describe('which backup a drill restores', () => {
  it('latest takes the newest, whatever order the listing came in', () => {
    expect(pickDrillBackup(candidates, 'latest', 7, now)?.runId).toBe('20261130T030000Z-c');
  });

  it('random reaches every backup of the window and none older', () => {
    const picked = new Set([0, 0.49, 0.51, 0.99].map((r) => pickDrillBackup(candidates, 'random', 7, now, () => r)?.runId));
    expect([...picked].sort()).toEqual(['20261125T030000Z-b', '20261130T030000Z-c']);
  });

  it('random falls back to the newest when nothing is that recent, and nothing is picked from nothing', () => {
    expect(pickDrillBackup(candidates, 'random', 1, now, () => 0)?.runId).toBe('20261130T030000Z-c');
    expect(pickDrillBackup([], 'latest', 7, now)).toBeUndefined();
  });

  it('puts drill.json beside the manifest', () => {
    expect(drillKeyOf('app/2026/11/30/20261130T030000Z-c/manifest.json')).toBe('app/2026/11/30/20261130T030000Z-c/drill.json');
    expect(() => drillKeyOf('app/x.dump')).toThrow(/not a manifest key/);
  });
});

describe('the drill config', () => {
  const target = {
    name: 'app',
    kind: 'postgres',
    schedule: { expression: 'cron(0 3 * * ? *)' },
    source: { host: 'db.internal', secret: 'app-db' },
    network: { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'], securityGroupIds: ['sg-0abc1234'] },
  };

  it('defaults to the latest backup of the last 7 days', () => {
    const config = parseConfig({ targets: [{ ...target, drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' } } }] }, 'test');
    expect(config.targets[0]?.drill).toMatchObject({ pick: 'latest', window: 7, schedule: { timezone: 'Etc/UTC' } });
  });

  it('refuses an unknown pick with a line that names the choices', () => {
    expect(() =>
      parseConfig({ targets: [{ ...target, drill: { schedule: { expression: 'rate(1 day)' }, pick: 'oldest' } }] }, 'test'),
    ).toThrow(/drill\.pick.*latest.*random/s);
  });
});
