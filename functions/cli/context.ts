/** What a command may touch, in one place that commands and main.ts both import (so neither imports the other). */
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { credentialsFromSecret } from '../dumps/adapters/secrets.ts';
import type { Credentials } from '../dumps/source.ts';
import { createS3Client, s3ArtifactStore } from '../platform/s3-artifact-store.ts';
import type { Terminal } from './output.ts';

/** Everything a command may touch, so tests can run the CLI in-process. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly terminal: Terminal;
  readonly now: () => Date;
  readonly openStore: (bucket: string, endpointUrl?: string) => ArtifactStore;
  readonly readSecret: (secretId: string) => Promise<Credentials & { host?: string; port?: number }>;
}

export function defaultContext(terminal: Terminal = { stdout: process.stdout, stderr: process.stderr }): CliContext {
  return {
    env: process.env,
    terminal,
    now: () => new Date(),
    openStore: (bucket, endpointUrl) => s3ArtifactStore(createS3Client(endpointUrl), bucket),
    readSecret: (secretId) => credentialsFromSecret(secretId),
  };
}
