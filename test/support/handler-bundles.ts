/**
 * Every Lambda handler of the repository, and its bundle exactly as SafekeepFunction deploys it
 * (infra/bundling/handler-bundle.ts): the bundle-size test holds each to its budget, and bench/lambda-cold.ts
 * times importing it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BundleOptions, bundleHandler, type HandlerBundle } from '#infra/bundling/handler-bundle.ts';

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

/** The deployed bundle of one of handlerEntries(). */
export function bundleEntry(entry: string, options?: BundleOptions): Promise<HandlerBundle> {
  return bundleHandler(join(REPOSITORY_ROOT, entry), options);
}
