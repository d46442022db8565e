/** What the Dolt and Doltgres round-trip tests share: the stored manifest, the remote's table, reading and damaging objects. */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { motoClientConfig } from '#test/support/aws.ts';
import type { MotoPeer } from '#test/support/peers.ts';

/** Every byte value once, so a binary column proves nothing is re-encoded on the way. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** The parts of a stored manifest these tests read. */
export interface StoredManifest {
  objects: { key: string; role: string; database?: string; storedBytes: number; sha256: string }[];
  dolt: {
    database: string;
    url: string;
    branches: { name: string }[];
    tags: { name: string; hash: string }[];
    dirtyBranches: string[];
  }[];
}

/** The DynamoDB table (on moto) that holds the manifests of aws://[table:bucket] remotes. */
export async function createRemoteTable(moto: MotoPeer, name: string): Promise<void> {
  await new DynamoDBClient(motoClientConfig(moto)).send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'db', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'db', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export async function readManifest(s3: S3Client, url: string): Promise<StoredManifest> {
  return JSON.parse(Buffer.from(await readObjectBytes(s3, url)).toString('utf8')) as StoredManifest;
}

/** Flips one byte in the middle of the object and writes it back as S3's newest version. */
export async function corruptObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  const body = Buffer.from(await readObjectBytes(s3, `s3://${bucket}/${key}`));
  const middle = Math.floor(body.length / 2);
  body.writeUInt8((body.readUInt8(middle) ^ 0xff) & 0xff, middle);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export function expectNoSecrets(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(output.includes(secret), 'a secret appeared in the output').toBe(false);
}

async function readObjectBytes(s3: S3Client, url: string): Promise<Uint8Array> {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
}
