/**
 * The CDK CLI as a user runs it, pointed at the deploy test's own moto server: synth, bootstrap, deploy and
 * destroy, each a child process with test credentials, no notices, no telemetry and no version check (none
 * of which may reach the internet). Also seeds the assets that would need Docker to publish.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DeployMoto } from './moto.ts';

export const DEPLOY_ACCOUNT = '123456789012';
export const DEPLOY_REGION = 'us-east-1';
const REPOSITORY_ROOT = join(import.meta.dirname, '..', '..', '..');
const CDK_BIN = join(REPOSITORY_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');

export interface CdkRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
}

/** The environment of a CDK CLI child: every AWS endpoint is `moto` (or none, for synth). */
export function cdkEnvironment(moto?: DeployMoto): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: DEPLOY_REGION,
    AWS_DEFAULT_REGION: DEPLOY_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CI: 'true',
    FORCE_COLOR: '0',
  };
  for (const name of Object.keys(env)) if (name.startsWith('AWS_ENDPOINT_URL')) delete env[name];
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  if (moto) {
    env.AWS_ENDPOINT_URL = moto.endpoint;
    env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
    // The template URL CloudFormation is given: moto reads a host of 127.0.0.1 as a bucket named "127".
    env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION = `http://localhost:${moto.port}`;
  }
  return env;
}

export function runCdk(args: string[], env: NodeJS.ProcessEnv): Promise<CdkRun> {
  const started = performance.now();
  const all = [...args, '--no-notices'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CDK_BIN, ...all], { cwd: REPOSITORY_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ args: all, code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

interface AssetManifest {
  files?: Record<
    string,
    { source: { executable?: string[] }; destinations: Record<string, { bucketName: string; objectKey: string }> }
  >;
  dockerImages?: Record<string, { destinations: Record<string, { repositoryName: string; imageTag: string }> }>;
}

/** The asset manifest's `${AWS::AccountId}` and `${AWS::Region}` placeholders, filled in. */
const placeholders = (text: string) =>
  text.replace(/\$\{AWS::AccountId\}/g, DEPLOY_ACCOUNT).replace(/\$\{AWS::Region\}/g, DEPLOY_REGION);

/**
 * A stand-in for a layer built in Docker: an empty zip archive (only its end-of-central-directory record) with
 * a comment, since the CLI takes an object of the empty archive's 22 bytes for no asset at all.
 */
const STAND_IN_ZIP = (() => {
  const comment = Buffer.from('safekeep deploy test: stands in for an asset built in Docker');
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(comment.length, 20);
  return Buffer.concat([record, comment]);
})();

/**
 * Puts every asset that needs Docker to build where `cdk deploy` looks before building it: each container
 * image into its ECR repository under its tag, each file asset built by a command (the db-clients layer) into
 * the bootstrap bucket under its key. The CLI then finds them published and builds nothing. Returns what it seeded.
 */
export async function seedDockerAssets(assemblyDir: string, stackName: string, moto: DeployMoto): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(join(assemblyDir, `${stackName}.assets.json`), 'utf8')) as AssetManifest;
  const config = {
    endpoint: moto.endpoint,
    region: DEPLOY_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const ecr = new ECRClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const seeded: string[] = [];
  for (const image of Object.values(manifest.dockerImages ?? {})) {
    for (const destination of Object.values(image.destinations)) {
      const repositoryName = placeholders(destination.repositoryName);
      const imageManifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 2, digest: `sha256:${'0'.repeat(64)}` },
        layers: [],
      };
      await ecr.send(
        new PutImageCommand({ repositoryName, imageTag: destination.imageTag, imageManifest: JSON.stringify(imageManifest) }),
      );
      seeded.push(`ecr:${repositoryName}:${destination.imageTag}`);
    }
  }
  for (const file of Object.values(manifest.files ?? {})) {
    if (!file.source.executable) continue;
    for (const destination of Object.values(file.destinations)) {
      const Bucket = placeholders(destination.bucketName);
      await s3.send(new PutObjectCommand({ Bucket, Key: destination.objectKey, Body: STAND_IN_ZIP }));
      seeded.push(`s3://${Bucket}/${destination.objectKey}`);
    }
  }
  return seeded;
}
