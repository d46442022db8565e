import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoRunsStore } from '#functions/runs/adapters/runs-table.ts';
import { MOTO_CREDENTIALS } from './aws.ts';

/** A fresh runs table in moto, with the key schema the construct creates. */
export async function motoRunsTable(endpoint: string, region = 'us-east-1') {
  const client = new DynamoDBClient({ endpoint, region, credentials: MOTO_CREDENTIALS });
  const tableName = `safekeep-runs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'target', AttributeType: 'S' },
        { AttributeName: 'runId', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'target', KeyType: 'HASH' },
        { AttributeName: 'runId', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return { tableName, client, store: dynamoRunsStore(tableName, client) };
}
