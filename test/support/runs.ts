import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { dynamoRunsStore } from '#functions/runs/adapters/runs-table.ts';
import { MOTO_CREDENTIALS } from './aws.ts';
import { synthApp } from './cdk.ts';

type TableShape = Pick<ConstructorParameters<typeof CreateTableCommand>[0], 'KeySchema' | 'AttributeDefinitions'>;
let shape: TableShape | undefined;

/** The runs table's keys exactly as the stack synthesizes them (the example config's template, read once). */
function synthesizedRunsTable(): TableShape {
  if (!shape) {
    const { stack, template } = synthApp();
    const id = Stack.of(stack).getLogicalId(stack.safekeep.ledger.runsTable.node.defaultChild as never);
    const { KeySchema, AttributeDefinitions } = template.toJSON().Resources[id].Properties as TableShape;
    shape = { KeySchema, AttributeDefinitions };
  }
  return shape;
}

/** A fresh runs table in moto, with the key schema the construct creates. */
export async function motoRunsTable(endpoint: string, region = 'us-east-1') {
  const client = new DynamoDBClient({ endpoint, region, credentials: MOTO_CREDENTIALS });
  const tableName = `safekeep-runs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await client.send(new CreateTableCommand({ TableName: tableName, ...synthesizedRunsTable(), BillingMode: 'PAY_PER_REQUEST' }));
  return { tableName, client, store: dynamoRunsStore(tableName, client) };
}
