/** The runs store over DynamoDB. */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '../../contracts/telemetry.ts';
import {
  type DrillRecord,
  drillPartitionOf,
  drillRecordSchema,
  META_RUN_ID,
  type RunRecord,
  type RunsStore,
  runRecordSchema,
} from '../run-record.ts';

/** Says so on stderr when no logger is given: a skipped row must never pass unseen. */
const stderrLogger: Pick<Logger, 'warn'> = {
  warn: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`),
};

export function dynamoRunsStore(
  tableName: string,
  client: DynamoDBClient = new DynamoDBClient({}),
  log: Pick<Logger, 'warn'> = stderrLogger,
): RunsStore {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

  /**
   * A row that is not a run record (written by hand, or by an older version) is skipped and logged: one bad
   * row must not fail `status`, the recorder or the freshness check of any target.
   */
  function parse(item: Record<string, unknown> | undefined): RunRecord | undefined {
    if (!item) return undefined;
    const parsed = runRecordSchema.safeParse(item);
    if (parsed.success) return parsed.data;
    log.warn('skipped a malformed row of the runs table', {
      target: item.target,
      runId: item.runId,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    });
    return undefined;
  }

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

  /** Creates the record when no row has this key; false when one does. */
  async function create(item: Record<string, unknown>): Promise<boolean> {
    try {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(runId)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Settles the running row at the key: its new attributes, or null when no running row is there. */
  async function settleRunning(
    partition: string,
    sortKey: string,
    outcome: Record<string, unknown>,
  ): Promise<Record<string, unknown> | undefined | null> {
    const fields = Object.entries(outcome).filter(([, value]) => value !== undefined);
    try {
      const result = await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { target: partition, runId: sortKey },
          UpdateExpression: `SET ${fields.map(([name]) => `#${name} = :${name}`).join(', ')}`,
          // Only a running record settles: a late or repeated event must not flip a settled run, and an
          // update must never create a row (UpdateItem would upsert one without kind, trigger or start).
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: Object.fromEntries([...fields.map(([name]) => [`#${name}`, name]), ['#status', 'status']]),
          ExpressionAttributeValues: {
            ...Object.fromEntries(fields.map(([name, value]) => [`:${name}`, value])),
            ':running': 'running',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  async function firstSeenIn(partition: string, now: Date): Promise<Date> {
    try {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: { target: partition, runId: META_RUN_ID, firstSeenAt: now.toISOString() },
          ConditionExpression: 'attribute_not_exists(runId)',
        }),
      );
      return now;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const meta = (
        await documents.send(new GetCommand({ TableName: tableName, Key: { target: partition, runId: META_RUN_ID } }))
      ).Item;
      return new Date(String(meta?.firstSeenAt ?? now.toISOString()));
    }
  }

  /** A drill as its row is stored: in the target's drill partition, the drill id as sort key. */
  function drillItem(record: DrillRecord): Record<string, unknown> {
    const { target, drillId, ...rest } = drillRecordSchema.parse(record);
    return { ...rest, target: drillPartitionOf(target), runId: drillId };
  }

  function parseDrill(target: string, item: Record<string, unknown> | undefined): DrillRecord | undefined {
    if (!item) return undefined;
    const { target: _partition, runId, ...rest } = item;
    const parsed = drillRecordSchema.safeParse({ ...rest, target, drillId: runId });
    if (parsed.success) return parsed.data;
    log.warn('skipped a malformed drill row of the runs table', {
      target,
      drillId: runId,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    });
    return undefined;
  }

  return {
    async putDrill(record) {
      await documents.send(new PutCommand({ TableName: tableName, Item: drillItem(record) }));
    },
    async getDrill(target, drillId) {
      const key = { target: drillPartitionOf(target), runId: drillId };
      return parseDrill(target, (await documents.send(new GetCommand({ TableName: tableName, Key: key }))).Item);
    },
    async settleDrill(target, drillId, outcome, origin) {
      const updated = await settleRunning(drillPartitionOf(target), drillId, outcome);
      if (updated !== null) return parseDrill(target, updated);
      if (!origin) return undefined;
      const record: DrillRecord = { target, drillId, ...origin, ...outcome };
      return (await create(drillItem(record))) ? record : undefined;
    },
    async recentDrills(target, limit) {
      return ((await query(drillPartitionOf(target), limit)).Items ?? []).flatMap((item) => parseDrill(target, item) ?? []);
    },
    async lastGoodDrill(target) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await query(drillPartitionOf(target), 50, start);
        for (const item of page.Items ?? []) {
          if (item.status !== 'succeeded') continue;
          const drill = parseDrill(target, item);
          if (drill) return drill;
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return undefined;
    },
    async drillsFirstSeen(target, now) {
      return firstSeenIn(drillPartitionOf(target), now);
    },
    async put(record) {
      await documents.send(new PutCommand({ TableName: tableName, Item: runRecordSchema.parse(record) }));
    },
    async get(target, runId) {
      return parse((await documents.send(new GetCommand({ TableName: tableName, Key: { target, runId } }))).Item);
    },
    async settle(target, runId, outcome, origin) {
      const updated = await settleRunning(target, runId, outcome);
      if (updated !== null) return parse(updated);
      // Not running: settled already, or never recorded as started (a run started by hand).
      if (!origin) return undefined;
      const record: RunRecord = { target, runId, ...origin, ...outcome };
      return (await create(runRecordSchema.parse(record))) ? record : undefined;
    },
    async recent(target, limit) {
      return ((await query(target, limit)).Items ?? []).flatMap((item) => parse(item) ?? []);
    },
    async lastSucceeded(target) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await query(target, 50, start);
        for (const item of page.Items ?? []) {
          if (item.status !== 'succeeded') continue;
          const run = parse(item);
          if (run) return run;
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return undefined;
    },
    async markLate(target, late, now) {
      const key = { target, runId: META_RUN_ID };
      if (!late) {
        await documents
          .send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: 'REMOVE lateSince',
              ConditionExpression: 'attribute_exists(runId)',
            }),
          )
          .catch((error) => {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          });
        return false;
      }
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET lateSince = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)',
            // Only the turn: a target late at the last check as well is not news.
            ConditionExpression: 'attribute_not_exists(lateSince)',
            ExpressionAttributeValues: { ':now': now.toISOString() },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async firstSeen(target, now) {
      return firstSeenIn(target, now);
    },
  };
}
