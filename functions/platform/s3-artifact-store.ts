/**
 * The artifact bucket over the AWS SDK. Parts carry SHA-256 checksums that S3 verifies on receipt; the
 * manifest is written with If-None-Match: * so a backup can never be overwritten.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type {
  ArtifactStore,
  MultipartUpload,
  StoredObjectInfo,
  StoredVersionInfo,
  UploadedPart,
} from '../contracts/artifact-store.ts';
import { StoreError } from '../contracts/errors.ts';

export interface S3StoreOptions {
  /** How long to keep retrying an abort while S3 is unreachable. */
  readonly abortRetryMs?: number;
}

const sha256Base64 = (body: Buffer | string) => createHash('sha256').update(body).digest('base64');
/**
 * SigV4 signs a part's SHA-256 (x-amz-content-sha256); given none, the SDK hashes the body again. The part's
 * checksum is that same digest, so hand it over: one pass over each part instead of two, and S3 still
 * refuses a body that differs from what was signed.
 */
function signWithPayloadHash(command: UploadPartCommand, hex: string): void {
  command.middlewareStack.add(
    (next) => (args) => {
      const { headers } = args.request as { headers?: Record<string, string> };
      if (headers) headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'safekeepPayloadHash' },
  );
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The S3 client for an artifact store. Without `endpointUrl` (--endpoint-url) the SDK picks the endpoint
 * itself, from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL when set. Either way a custom endpoint is an
 * S3-compatible store (versitygw, MinIO), and those want path-style addressing.
 */
export function createS3Client(endpointUrl?: string): S3Client {
  const customEndpoint = endpointUrl ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return new S3Client({
    ...(endpointUrl ? { endpoint: endpointUrl } : {}),
    ...(customEndpoint ? { forcePathStyle: true } : {}),
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  });
}

export function s3ArtifactStore(client: S3Client, bucket: string, options: S3StoreOptions = {}): ArtifactStore {
  const abortRetryMs = options.abortRetryMs ?? 120_000;

  async function abortWithRetry(key: string, uploadId: string): Promise<void> {
    const deadline = Date.now() + abortRetryMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
        return;
      } catch (error) {
        if (error instanceof S3ServiceException && error.name === 'NoSuchUpload') return;
        if (Date.now() + delay > deadline) {
          throw new StoreError(
            `could not abort the unfinished upload of s3://${bucket}/${key} (${(error as Error).message}); the bucket's lifecycle rule removes it within a day`,
            { cause: error },
          );
        }
        await sleep(delay);
      }
    }
  }

  const getObject = (key: string, versionId: string | undefined) =>
    wrap(`reading s3://${bucket}/${key}`, () =>
      client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })),
    );

  /** A small text object, checksummed so S3 refuses a body damaged on the way; `condition` makes it create-only. */
  const putText = async (key: string, body: string, contentType: string, condition: { IfNoneMatch?: '*' } = {}) => {
    const result = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ...condition,
        ChecksumSHA256: sha256Base64(body),
      }),
    );
    return { versionId: result.VersionId };
  };

  return {
    bucket,

    async startUpload(key, contentType): Promise<MultipartUpload> {
      const created = await wrap(`starting an upload to s3://${bucket}/${key}`, () =>
        client.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, ChecksumAlgorithm: 'SHA256' }),
        ),
      );
      const uploadId = created.UploadId;
      if (!uploadId) throw new StoreError(`S3 returned no upload id for s3://${bucket}/${key}`);
      let settled = false;
      return {
        key,
        uploadId,
        async uploadPart(partNumber, body): Promise<UploadedPart> {
          const digest = createHash('sha256').update(body).digest();
          const checksum = digest.toString('base64');
          const command = new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ChecksumSHA256: checksum,
          });
          signWithPayloadHash(command, digest.toString('hex'));
          const result = await client.send(command);
          if (!result.ETag) throw new StoreError(`S3 returned no ETag for part ${partNumber} of s3://${bucket}/${key}`);
          return { PartNumber: partNumber, ETag: result.ETag, ChecksumSHA256: result.ChecksumSHA256 ?? checksum };
        },
        async complete(parts) {
          const result = await client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts.map((p) => ({ ...p })) },
            }),
          );
          settled = true;
          return { versionId: result.VersionId };
        },
        async abort() {
          if (settled) return;
          settled = true;
          await abortWithRetry(key, uploadId);
        },
      };
    },

    async putIfAbsent(key, body, contentType) {
      try {
        return { created: true, ...(await putText(key, body, contentType, { IfNoneMatch: '*' })) };
      } catch (error) {
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412) return { created: false };
        throw new StoreError(`writing s3://${bucket}/${key} failed: ${(error as Error).message}`, { cause: error });
      }
    },

    async put(key, body, contentType) {
      try {
        return await putText(key, body, contentType);
      } catch (error) {
        throw new StoreError(`writing s3://${bucket}/${key} failed: ${(error as Error).message}`, { cause: error });
      }
    },

    async read(key, versionId) {
      return (await getObject(key, versionId)).Body as Readable;
    },

    async readText(key, versionId) {
      return (await (await getObject(key, versionId)).Body?.transformToString('utf8')) ?? '';
    },

    async *list(prefix): AsyncIterable<StoredObjectInfo> {
      try {
        for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
          for (const object of page.Contents ?? []) {
            if (object.Key) yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified };
          }
        }
      } catch (error) {
        throw storeError(`listing s3://${bucket}/${prefix}`, error);
      }
    },

    async *listVersions(prefix): AsyncIterable<StoredVersionInfo> {
      try {
        // The SDK has no paginator for ListObjectVersions: it pages by key and version markers.
        let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
        for (;;) {
          const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...markers }));
          const entries = [
            ...(page.Versions ?? []).map((v) => ({ ...v, deleteMarker: false })),
            ...(page.DeleteMarkers ?? []).map((m) => ({ ...m, deleteMarker: true })),
          ];
          for (const entry of entries) {
            if (!entry.Key || !entry.VersionId) continue;
            yield {
              key: entry.Key,
              versionId: entry.VersionId,
              isLatest: entry.IsLatest ?? false,
              deleteMarker: entry.deleteMarker,
              lastModified: entry.LastModified,
            };
          }
          if (!page.IsTruncated) break;
          markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
        }
      } catch (error) {
        throw storeError(`listing the versions under s3://${bucket}/${prefix}`, error);
      }
    },

    async deleteCurrent(key) {
      // No VersionId, ever: a delete marker, not a deleted version (IAM denies s3:DeleteObjectVersion too).
      await wrap(`deleting s3://${bucket}/${key}`, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    },
  };
}

const CREDENTIALS_HINT = 'check the AWS credentials and the role';
const S3_ERROR_HINTS: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist; check --to/--from',
  NoSuchKey: 'no such object; check the path (safekeep list shows what exists)',
  AccessDenied: CREDENTIALS_HINT,
  InvalidAccessKeyId: CREDENTIALS_HINT,
  SignatureDoesNotMatch: CREDENTIALS_HINT,
};

async function wrap<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeError(what, error);
  }
}

function storeError(what: string, error: unknown): StoreError {
  const name = error instanceof S3ServiceException ? error.name : (error as Error).name;
  const hint = S3_ERROR_HINTS[name] ?? 'check --endpoint-url and that S3 is reachable';
  return new StoreError(`${what} failed (${name}: ${(error as Error).message}); ${hint}`, { cause: error });
}
