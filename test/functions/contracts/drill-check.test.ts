import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';

const drill = { schedule: { expression: 'cron(0 5 ? * SUN *)' }, check: { sql: 'SELECT 1' } };
const schedule = { expression: 'cron(0 3 * * ? *)' };

describe("a drill's SQL check", () => {
  it('is taken on RDS instance and Aurora cluster targets', () => {
    const config = parseConfig(
      {
        targets: [
          { name: 'db', kind: 'rds-instance', schedule, source: { instanceId: 'db-1' }, drill },
          { name: 'aurora', kind: 'rds-cluster', schedule, source: { clusterId: 'aurora-1' }, drill },
        ],
      },
      'test',
    );
    expect(config.targets.map((t) => t.drill?.check?.sql)).toEqual(['SELECT 1', 'SELECT 1']);
  });

  it.each([
    { name: 'vol', kind: 'ebs-volume', schedule, source: { volumeId: 'vol-0abc1234' } },
    { name: 'host', kind: 'ec2-instance', schedule, source: { instanceId: 'i-0abc1234' } },
    {
      name: 'app',
      kind: 'postgres',
      schedule,
      source: { host: 'db.internal', secret: 'app-db' },
      network: { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'], securityGroupIds: ['sg-0abc1234'] },
    },
  ])('is refused on a $kind target, in one line that says where it applies', (target) => {
    expect(() => parseConfig({ targets: [{ ...target, drill }] }, 'test')).toThrow(
      /drill\.check.*applies only to rds-instance and rds-cluster targets/,
    );
  });
});
