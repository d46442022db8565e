/** The runs store over DynamoDB. */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { META_RUN_ID, type RunsStore, runRecordSchema } from '../run-record.ts';

export function dynamoRunsStore(tableName: string, client: DynamoDBClient = new DynamoDBClient({})): RunsStore {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const parse = (item: Record<string, unknown> | undefined) => (item ? runRecordSchema.parse(item) : undefined);

  async function query(target: string, limit: number, exclusiveStartKey?: Record<string, unknown>) {
    return documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#target = :target AND #runId > :meta',
        ExpressionAttributeNames: { '#target': 'target', '#runId': 'runId' },
        ExpressionAttributeValues: { ':target': target, ':meta': META_RUN_ID },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
  }

  return {
    async put(record) {
      await documents.send(new PutCommand({ TableName: tableName, Item: runRecordSchema.parse(record) }));
    },
    async get(target, runId) {
      return parse((await documents.send(new GetCommand({ TableName: tableName, Key: { target, runId } }))).Item);
    },
    async settle(target, runId, outcome) {
      const fields = Object.entries(outcome).filter(([, value]) => value !== undefined);
      try {
        const result = await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { target, runId },
            UpdateExpression: `SET ${fields.map(([name]) => `#${name} = :${name}`).join(', ')}`,
            // A late or repeated event must not flip a settled run.
            ConditionExpression: 'attribute_not_exists(#status) OR #status = :running',
            ExpressionAttributeNames: Object.fromEntries([...fields.map(([name]) => [`#${name}`, name]), ['#status', 'status']]),
            ExpressionAttributeValues: {
              ...Object.fromEntries(fields.map(([name, value]) => [`:${name}`, value])),
              ':running': 'running',
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return parse(result.Attributes);
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    },
    async recent(target, limit) {
      return ((await query(target, limit)).Items ?? []).flatMap((item) => {
        const parsed = runRecordSchema.safeParse(item);
        return parsed.success ? [parsed.data] : [];
      });
    },
    async lastSucceeded(target) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await query(target, 50, start);
        const found = (page.Items ?? []).find((item) => item.status === 'succeeded');
        if (found) return parse(found);
        start = page.LastEvaluatedKey;
      } while (start);
      return undefined;
    },
    async firstSeen(target, now) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { target, runId: META_RUN_ID, firstSeenAt: now.toISOString() },
            ConditionExpression: 'attribute_not_exists(runId)',
          }),
        );
        return now;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const meta = (await documents.send(new GetCommand({ TableName: tableName, Key: { target, runId: META_RUN_ID } }))).Item;
        return new Date(String(meta?.firstSeenAt ?? now.toISOString()));
      }
    },
  };
}
