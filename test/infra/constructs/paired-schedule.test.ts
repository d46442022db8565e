import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Safekeep } from '#infra/safekeep.ts';
import { CDK_CONTEXT } from '#test/support/cdk.ts';

describe('a dump target paired with a volume target', () => {
  it('gets one schedule, for the dump target: the paired volume runs only with it', () => {
    const app = new App({ context: CDK_CONTEXT });
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
    const safekeep = new Safekeep(stack, 'Safekeep', {
      defaults: { schedule: { expression: 'cron(0 3 * * ? *)' } },
      targets: [
        {
          name: 'dolt-prod',
          kind: 'dolt',
          pairedWith: 'dolt-data',
          source: { host: 'dolt.internal', secret: 'safekeep/dolt' },
          network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
        },
        { name: 'dolt-data', kind: 'ebs-volume', source: { volumeId: 'vol-0a1b2c3d4e5f67890' } },
        { name: 'other-volume', kind: 'ebs-volume', source: { volumeId: 'vol-0a1b2c3d4e5f67891' } },
      ],
    });
    expect([...safekeep.dispatch.schedules.keys()].sort()).toEqual(['dolt-prod', 'other-volume']);
    const inputs = Object.values(Template.fromStack(stack).findResources('AWS::Scheduler::Schedule')).map(
      (s) => JSON.parse(s.Properties.Target.Input).target,
    );
    expect(inputs.sort()).toEqual(['dolt-prod', 'other-volume']);
    // The snapshot flow exists (the dispatcher starts it for the paired volume).
    expect(safekeep.snapshots).toBeDefined();
  });
});
