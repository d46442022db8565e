import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { motoClientConfig } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances } from '#test/support/snapshots.ts';

const moto = await peer('moto');

describe.skipIf(!moto)('moto control-plane peer', () => {
  it('creates and describes an RDS instance', async () => {
    // Prepare
    const rds = new RDSClient(motoClientConfig(moto as NonNullable<typeof moto>, 'eu-west-3'));
    const id = `smoke-${Date.now().toString(36)}`;
    await createInstances(rds, [id]);

    // Act
    const described = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));

    // Assess
    expect(described.DBInstances).toHaveLength(1);
    expect(described.DBInstances?.[0]).toMatchObject({ DBInstanceIdentifier: id, Engine: 'postgres' });
  });
});
