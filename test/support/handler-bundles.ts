/**
 * Every Lambda handler of the repository, bundled exactly as SafekeepFunction bundles it at synth
 * (HANDLER_BUNDLING): the bundle-size test holds each to its budget, and bench/lambda-cold.ts times importing it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_BUNDLING } from '#infra/constructs/safekeep-function.ts';

export const REPOSITORY_ROOT = join(import.meta.dirname, '..', '..');

/** `functions/<feature>/handlers/<name>/handler.ts`, sorted. */
export function handlerEntries(): string[] {
  const entries: string[] = [];
  for (const feature of readdirSync(join(REPOSITORY_ROOT, 'functions'))) {
    const handlers = join(REPOSITORY_ROOT, 'functions', feature, 'handlers');
    if (!existsSync(handlers)) continue;
    for (const name of readdirSync(handlers)) {
      if (existsSync(join(handlers, name, 'handler.ts'))) entries.push(`functions/${feature}/handlers/${name}/handler.ts`);
    }
  }
  return entries.sort();
}

export interface HandlerBundle {
  /** Bytes of the minified index.mjs. */
  readonly size: number;
  /** The source files that put bytes into it (the metafile's top-level inputs also list files tree-shaking dropped). */
  readonly inputs: string[];
  /** The bundle's code (empty when it was written to `outfile`). */
  readonly code: string;
}

export interface BundleOptions {
  /** Write the bundle here (else it is kept in memory). */
  readonly outfile?: string;
  /** Leave `@aws-sdk/*` to the Lambda runtime whatever HANDLER_BUNDLING says (the bench compares both). */
  readonly sdkFromRuntime?: boolean;
}

export async function bundleHandler(entry: string, options: BundleOptions = {}): Promise<HandlerBundle> {
  const { outfile } = options;
  const result = await build({
    entryPoints: [join(REPOSITORY_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: HANDLER_BUNDLING.target,
    minify: HANDLER_BUNDLING.minify,
    mainFields: HANDLER_BUNDLING.mainFields,
    external: [
      ...(HANDLER_BUNDLING.externalModules ?? []),
      ...(HANDLER_BUNDLING.bundleAwsSDK && !options.sdkFromRuntime ? [] : ['@aws-sdk/*']),
    ],
    banner: { js: HANDLER_BUNDLING.banner ?? '' },
    outfile: outfile ?? 'index.mjs',
    write: outfile !== undefined,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  const inputs = Object.entries(output?.inputs ?? {}).flatMap(([path, input]) => (input.bytesInOutput > 0 ? [path] : []));
  const code = result.outputFiles?.find((file) => file.path.endsWith('.mjs'))?.text ?? '';
  return { size: output?.bytes ?? 0, inputs, code };
}
