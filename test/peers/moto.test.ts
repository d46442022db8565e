import { CreateDBInstanceCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { motoClientConfig } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';

const moto = await peer('moto');

describe.skipIf(!moto)('moto control-plane peer', () => {
  it('creates and describes an RDS instance', async () => {
    // Prepare
    const rds = new RDSClient(motoClientConfig(moto as NonNullable<typeof moto>, 'eu-west-3'));
    const id = `smoke-${Date.now().toString(36)}`;
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: id,
        DBInstanceClass: 'db.t4g.micro',
        Engine: 'postgres',
        AllocatedStorage: 20,
        MasterUsername: 'admin',
        MasterUserPassword: 'not-a-real-secret',
      }),
    );

    // Act
    const described = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));

    // Assess
    expect(described.DBInstances).toHaveLength(1);
    expect(described.DBInstances?.[0]).toMatchObject({ DBInstanceIdentifier: id, Engine: 'postgres' });
  });
});
