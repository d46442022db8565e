/**
 * The validated Safekeep config a deployed function works from. The construct copies it into every
 * function's bundle at synth time (safekeep-config.json next to the code), so a deployment carries exactly
 * the config it was synthesized from; tests pass it in SAFEKEEP_CONFIG instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from './config/load.ts';
import type { SafekeepConfig, Target } from './config/schema.ts';
import { UsageError } from './errors.ts';

let cached: SafekeepConfig | undefined;

export const CONFIG_FILE = 'safekeep-config.json';

export function deployedConfig(): SafekeepConfig {
  if (!cached) {
    const text = process.env.SAFEKEEP_CONFIG ?? readFileSync(join(process.env.LAMBDA_TASK_ROOT ?? '.', CONFIG_FILE), 'utf8');
    cached = parseConfig(JSON.parse(text), 'the deployed Safekeep config');
  }
  return cached;
}

/** The named target, or an error that lists the ones that exist (a typo in a console test event). */
export function deployedTarget(name: string): Target {
  const config = deployedConfig();
  const target = config.targets.find((t) => t.name === name);
  if (!target)
    throw new UsageError(
      `no target named "${name}" in this deployment; targets: ${config.targets.map((t) => t.name).join(', ')}`,
    );
  return target;
}

/** For tests: forget the cached config after changing SAFEKEEP_CONFIG. */
export function resetDeployedConfig(): void {
  cached = undefined;
}
