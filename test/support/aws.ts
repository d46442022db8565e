/**
 * AWS SDK clients for tests, pointed at the local peers with test credentials: moto for the control
 * plane, versitygw for S3. Nothing here can reach real AWS.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { MotoPeer, S3Peer } from './peers.ts';

export const TEST_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Config for any control-plane client (RDS, EC2, ECS, ...) talking to moto. */
export function motoClientConfig(moto: MotoPeer, region = TEST_REGION) {
  return { endpoint: moto.endpoint, region, credentials: MOTO_CREDENTIALS, maxAttempts: 2 };
}

export function s3Client(s3: S3Peer): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** A bucket name no other test uses. */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
