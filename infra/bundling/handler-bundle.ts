/**
 * Builds one Lambda handler's bundle, the code SafekeepFunction deploys: an ESM file minified by esbuild with
 * its source map, the SDK's ES modules tree-shaken (with literalSdkSchemaKeys, so a client keeps only the
 * operations the handler calls). Synth runs
 * this as a child process (CDK's local bundling is synchronous; esbuild plugins are not); the bundle-size test
 * and bench/lambda-cold.ts call bundleHandler directly, so they measure exactly what is deployed.
 *
 *   node infra/bundling/handler-bundle.ts <entry> <outdir>
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { literalSdkSchemaKeys } from './sdk-schema-keys.ts';

/**
 * The credential providers the SDK's default chain imports lazily (`await import(...)`), after the
 * environment's credentials, which a Lambda function always has. They never load in Lambda, so they stay out
 * of the bundle (about 90 KB of it); were one ever needed, the runtime's own SDK has it.
 */
export const LAZY_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
];

/** The bundle's file name: the function's handler is `index.handler`. */
export const HANDLER_FILE = 'index.mjs';

export interface BundleOptions {
  /** Write index.mjs and its map here (else the bundle is only returned). */
  readonly outdir?: string;
  /** Leave `@aws-sdk/*` to the Lambda runtime (bench/lambda-cold.ts measures that alternative). */
  readonly sdkFromRuntime?: boolean;
}

export interface HandlerBundle {
  /** Bytes of the minified index.mjs. */
  readonly size: number;
  /** The source files that put bytes into it (the metafile's inputs also list files tree-shaking dropped). */
  readonly inputs: string[];
  /** The bundle's code. */
  readonly code: string;
}

/**
 * The AWS SDK is bundled although the Node.js runtime has one, for two reasons: the runtime's version is not
 * the one we test against, and it loads slower (bench/lambda-cold.ts: 52 ms bundled against 91 ms from the
 * SDK's own files for the freshness handler, 56 ms against 255 ms for the snapshot check).
 */
export async function bundleHandler(entry: string, options: BundleOptions = {}): Promise<HandlerBundle> {
  const { outdir } = options;
  const result = await build({
    entryPoints: [entry],
    outfile: join(outdir ?? '.', HANDLER_FILE),
    write: outdir !== undefined,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: outdir !== undefined,
    mainFields: ['module', 'main'],
    external: [...LAZY_CREDENTIAL_PROVIDERS, ...(options.sdkFromRuntime ? ['@aws-sdk/*'] : [])],
    // CommonJS dependencies (pg, mysql2) call require(); give the ESM bundle one.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    plugins: [literalSdkSchemaKeys],
    metafile: true,
    logLevel: 'warning',
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(HANDLER_FILE))?.[1];
  const inputs = Object.entries(output?.inputs ?? {}).flatMap(([path, input]) => (input.bytesInOutput > 0 ? [path] : []));
  const code = result.outputFiles?.find((file) => file.path.endsWith(HANDLER_FILE))?.text ?? '';
  return { size: output?.bytes ?? 0, inputs, code };
}

/** bundleHandler for CDK's synchronous local bundling: this module, run by the same Node. */
export function bundleHandlerSync(entry: string, outdir: string): void {
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), entry, outdir], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

if (import.meta.main) {
  const [entry, outdir] = process.argv.slice(2);
  if (!entry || !outdir) throw new Error('usage: node infra/bundling/handler-bundle.ts <entry> <outdir>');
  await bundleHandler(entry, { outdir });
}
