/**
 * Running the `safekeep` CLI against the local peers, and inspecting what a run left in the bucket.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Peer } from './peers.ts';

export const CLI = 'bin/safekeep.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment a CLI run needs to reach versitygw (S3) and moto (everything else) with test credentials. */
export function peerEnvironment(s3: S3Peer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:55000',
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    ...extra,
  };
}

/** Runs `safekeep <args>` as a real process (what users and the Fargate task run). */
export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 300_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function createVersionedBucket(s3: S3Client, prefix: string): Promise<string> {
  const bucket = `${prefix}-${randomBytes(4).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return bucket;
}

/** Every object version under a prefix (a failed run must add none; earlier backups must keep theirs). */
export async function objectVersions(s3: S3Client, bucket: string, prefix = ''): Promise<{ key: string; versionId?: string }[]> {
  const out: { key: string; versionId?: string }[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
    );
    for (const v of page.Versions ?? []) if (v.Key) out.push({ key: v.Key, versionId: v.VersionId });
    for (const m of page.DeleteMarkers ?? []) if (m.Key) out.push({ key: `${m.Key} (delete marker)`, versionId: m.VersionId });
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export async function openMultipartUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (page.Uploads ?? []).map((u) => u.Key ?? '');
}

/** The manifest URL a successful `safekeep dump --json` printed. */
export function manifestUrlOf(run: CliRun): string {
  const line = run.stdout.trim().split('\n').at(-1) ?? '{}';
  const parsed = JSON.parse(line) as { manifest?: string };
  if (!parsed.manifest) throw new Error(`no manifest in output: ${run.stdout}\n${run.stderr}`);
  return parsed.manifest;
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** A terminal that records what the CLI writes, for running it in-process. */
export function captureTerminal(): {
  terminal: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
  stdout: () => string;
  stderr: () => string;
} {
  const written = { stdout: '', stderr: '' };
  const sink = (stream: 'stdout' | 'stderr') =>
    ({
      write(text: string) {
        written[stream] += text;
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return {
    terminal: { stdout: sink('stdout'), stderr: sink('stderr') },
    stdout: () => written.stdout,
    stderr: () => written.stderr,
  };
}
