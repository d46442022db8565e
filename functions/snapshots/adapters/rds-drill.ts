/** The RDS side of a restore drill: the source's network and engine, the temporary resources, their deletion. */
import {
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { DrillDatabase, DrillRdsPort, DrillSource } from '../core/drill-ports.ts';
import { fromTags } from './aws-tags.ts';

const notFound = (error: unknown) => /^DB(Instance|Cluster)NotFound/.test((error as Error).name);

export function rdsDrill(client: RDSClient): DrillRdsPort {
  async function instance(id: string) {
    try {
      return (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }
  async function cluster(id: string) {
    try {
      return (await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }
  return {
    async source(kind, id): Promise<DrillSource | undefined> {
      if (kind === 'rds-cluster') {
        const found = await cluster(id);
        if (!found?.Engine) return undefined;
        return {
          engine: found.Engine,
          masterUsername: found.MasterUsername,
          databaseName: found.DatabaseName,
          subnetGroup: found.DBSubnetGroup,
          securityGroupIds: (found.VpcSecurityGroups ?? []).flatMap((g) => (g.VpcSecurityGroupId ? [g.VpcSecurityGroupId] : [])),
        };
      }
      const found = await instance(id);
      if (!found?.Engine) return undefined;
      return {
        engine: found.Engine,
        masterUsername: found.MasterUsername,
        databaseName: found.DBName,
        subnetGroup: found.DBSubnetGroup?.DBSubnetGroupName,
        securityGroupIds: (found.VpcSecurityGroups ?? []).flatMap((g) => (g.VpcSecurityGroupId ? [g.VpcSecurityGroupId] : [])),
      };
    },
    async describe(kind, id): Promise<DrillDatabase | undefined> {
      if (kind === 'rds-cluster') {
        const found = await cluster(id);
        if (!found) return undefined;
        return {
          status: found.Status ?? 'unknown',
          endpoint: found.Endpoint && found.Port ? { host: found.Endpoint, port: found.Port } : undefined,
          members: (found.DBClusterMembers ?? []).flatMap((m) => (m.DBInstanceIdentifier ? [m.DBInstanceIdentifier] : [])),
          tags: fromTags(found.TagList),
        };
      }
      const found = await instance(id);
      if (!found) return undefined;
      const endpoint = found.Endpoint;
      return {
        status: found.DBInstanceStatus ?? 'unknown',
        endpoint: endpoint?.Address && endpoint.Port ? { host: endpoint.Address, port: endpoint.Port } : undefined,
        members: [],
        tags: fromTags(found.TagList),
      };
    },
    async delete(kind, id) {
      try {
        if (kind === 'rds-cluster') {
          await client.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true }));
        } else {
          await client.send(
            new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }),
          );
        }
      } catch (error) {
        if (!notFound(error)) throw error;
      }
    },
    async resetMasterPassword(kind, id, password) {
      if (kind === 'rds-cluster') {
        await client.send(
          new ModifyDBClusterCommand({ DBClusterIdentifier: id, MasterUserPassword: password, ApplyImmediately: true }),
        );
      } else {
        await client.send(
          new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, MasterUserPassword: password, ApplyImmediately: true }),
        );
      }
    },
  };
}
