/**
 * Sends a few requests through the EC2, RDS and S3 clients to a handler that records them and answers with
 * canned responses, and returns what was sent and what the clients parsed: EC2 and RDS (query protocols),
 * S3 (REST-XML), Lambda (REST-JSON) and DynamoDB (JSON). The commands carry the traits the SDK's schemas
 * write as object keys (query and XML names, flattened lists, HTTP headers, prefix headers, payloads), so two
 * builds of the SDK that disagree about a schema disagree here.
 */
import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSnapshotCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly query: unknown;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const STARTED = '2026-01-02T03:04:05.000Z';
const RESPONSES: Record<string, string> = {
  CreateSnapshot: `<CreateSnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId><snapshotId>snap-2</snapshotId><volumeId>vol-1</volumeId><status>pending</status><startTime>${STARTED}</startTime><tagSet><item><key>safekeep:target</key><value>orders</value></item></tagSet></CreateSnapshotResponse>`,
  DescribeSnapshots: `<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2</requestId><snapshotSet><item><snapshotId>snap-1</snapshotId><volumeId>vol-1</volumeId><status>completed</status><startTime>${STARTED}</startTime><progress>100%</progress><volumeSize>8</volumeSize><encrypted>true</encrypted><tagSet><item><key>safekeep:target</key><value>orders</value></item></tagSet></item></snapshotSet><nextToken>more</nextToken></DescribeSnapshotsResponse>`,
  CreateDBSnapshot: `<CreateDBSnapshotResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><CreateDBSnapshotResult><DBSnapshot><DBSnapshotIdentifier>s2</DBSnapshotIdentifier><DBInstanceIdentifier>db</DBInstanceIdentifier><Status>creating</Status><TagList><Tag><Key>safekeep:target</Key><Value>orders</Value></Tag></TagList></DBSnapshot></CreateDBSnapshotResult></CreateDBSnapshotResponse>`,
  DescribeDBSnapshots: `<DescribeDBSnapshotsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBSnapshotsResult><DBSnapshots><DBSnapshot><DBSnapshotIdentifier>s1</DBSnapshotIdentifier><DBInstanceIdentifier>db</DBInstanceIdentifier><SnapshotCreateTime>${STARTED}</SnapshotCreateTime><Status>available</Status><Encrypted>true</Encrypted><AllocatedStorage>20</AllocatedStorage><TagList><Tag><Key>safekeep:target</Key><Value>orders</Value></Tag></TagList></DBSnapshot></DBSnapshots><Marker>m</Marker></DescribeDBSnapshotsResult></DescribeDBSnapshotsResponse>`,
  ListObjectsV2: `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>orders/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>orders/a</Key><LastModified>${STARTED}</LastModified><ETag>"e1"</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass><ChecksumAlgorithm>SHA256</ChecksumAlgorithm></Contents><Contents><Key>orders/b</Key><Size>20</Size></Contents><CommonPrefixes><Prefix>orders/x/</Prefix></CommonPrefixes></ListBucketResult>`,
  PutObject: '',
  Invoke: '{"ok":true}',
  GetItem: '{"Item":{"pk":{"S":"orders"},"runs":{"N":"3"},"tags":{"SS":["a","b"]},"at":{"M":{"day":{"S":"2026-01-02"}}}}}',
};
/** Response headers beyond the XML protocols' defaults. */
const RESPONSE_HEADERS: Record<string, Record<string, string>> = {
  Invoke: { 'content-type': 'application/json', 'x-amz-executed-version': '7', 'x-amz-function-error': 'Unhandled' },
  GetItem: { 'content-type': 'application/x-amz-json-1.0' },
};

/** A request body as text (the SDK sends strings, bytes, or a stream for uploads it does not buffer). */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return body === undefined ? '' : 'stream';
}

/** Every request sent and every output parsed, in order, as plain JSON. */
export async function probeSdk(): Promise<unknown> {
  const sent: SentRequest[] = [];
  let answering = '';
  const requestHandler = {
    async handle(request: Omit<SentRequest, 'body'> & { body?: unknown }) {
      const body = bodyText(request.body);
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(
          ([name]) => !/^(authorization|x-amz-date|amz-sdk-|x-amz-user-agent|user-agent)/i.test(name),
        ),
      );
      sent.push({ method: request.method, path: request.path, query: request.query, headers, body });
      const response = {
        statusCode: 200,
        headers: RESPONSE_HEADERS[answering] ?? { 'content-type': 'text/xml', etag: '"e2"', 'x-amz-version-id': 'v1' },
        body: Readable.from([Buffer.from(RESPONSES[answering] ?? '')]),
      };
      return { response };
    },
  };
  const config = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    requestHandler,
    maxAttempts: 1,
  };
  const ec2 = new EC2Client(config);
  const rds = new RDSClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const lambda = new LambdaClient(config);
  const dynamodb = new DynamoDBClient(config);
  const outputs: unknown[] = [];
  const tags = [
    { Key: 'safekeep:target', Value: 'orders' },
    { Key: 'safekeep:run', Value: 'r-1' },
  ];
  const calls: [string, () => Promise<unknown>][] = [
    [
      'CreateSnapshot',
      () =>
        ec2.send(
          new CreateSnapshotCommand({
            VolumeId: 'vol-1',
            Description: 'd',
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
          }),
        ),
    ],
    [
      'DescribeSnapshots',
      () =>
        ec2.send(
          new DescribeSnapshotsCommand({
            OwnerIds: ['self'],
            Filters: [{ Name: 'tag:safekeep:target', Values: ['orders'] }],
            MaxResults: 5,
          }),
        ),
    ],
    [
      'CreateDBSnapshot',
      () => rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'db', DBSnapshotIdentifier: 's2', Tags: tags })),
    ],
    [
      'DescribeDBSnapshots',
      () =>
        rds.send(
          new DescribeDBSnapshotsCommand({
            DBInstanceIdentifier: 'db',
            Filters: [{ Name: 'snapshot-type', Values: ['manual'] }],
          }),
        ),
    ],
    [
      'ListObjectsV2',
      () => s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'orders/', ContinuationToken: 'c', MaxKeys: 1000 })),
    ],
    [
      'PutObject',
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: 'b',
            Key: 'orders/a',
            Body: 'hello',
            ChecksumSHA256: 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=',
            Metadata: { 'safekeep-run': 'r-1' },
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'k',
            IfNoneMatch: '*',
          }),
        ),
    ],
    [
      'Invoke',
      () =>
        lambda.send(
          new InvokeCommand({
            FunctionName: 'runner',
            InvocationType: 'RequestResponse',
            LogType: 'Tail',
            Payload: Buffer.from('{"target":"orders"}'),
          }),
        ),
    ],
    [
      'GetItem',
      () =>
        dynamodb.send(
          new GetItemCommand({
            TableName: 'runs',
            Key: { pk: { S: 'orders' } },
            ConsistentRead: true,
            ProjectionExpression: '#r',
            ExpressionAttributeNames: { '#r': 'runs' },
          }),
        ),
    ],
  ];
  for (const [name, call] of calls) {
    answering = name;
    const { $metadata: _, ...output } = (await call()) as { $metadata: unknown };
    outputs.push({ name, output });
  }
  return JSON.parse(JSON.stringify({ sent, outputs }));
}
