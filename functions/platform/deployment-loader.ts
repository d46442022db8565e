/**
 * Reading this deployment's document inside AWS: the bundled half (deployment.json next to a function's
 * code) joined with SAFEKEEP_DEPLOYMENT, validated once per execution environment. Tests and local runs may
 * point SAFEKEEP_DEPLOYMENT_FILE at a file, or put the whole document in SAFEKEEP_DEPLOYMENT.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEPLOYMENT_FILE,
  DEPLOYMENT_VARIABLE,
  type Deployment,
  joinDeploymentHalves,
  parseDeployment,
} from '../contracts/deployment.ts';
import { UsageError } from '../contracts/errors.ts';

type Environment = Readonly<Record<string, string | undefined>>;

let cached: { key: string; deployment: Deployment } | undefined;

/** This deployment's document; parsed once, then the same object while the environment stays the same. */
export function deployment(env: Environment = process.env): Deployment {
  const file = env.SAFEKEEP_DEPLOYMENT_FILE ?? join(env.LAMBDA_TASK_ROOT ?? '.', DEPLOYMENT_FILE);
  const variable = env[DEPLOYMENT_VARIABLE];
  const key = `${file}\n${variable ?? ''}`;
  if (cached?.key === key) return cached.deployment;
  const bundled = existsSync(file) ? parseJson(readFileSync(file, 'utf8'), file) : undefined;
  const fromVariable = variable ? parseJson(variable, DEPLOYMENT_VARIABLE) : undefined;
  if (bundled === undefined && fromVariable === undefined) {
    throw new UsageError(
      `no deployment document: neither ${file} nor ${DEPLOYMENT_VARIABLE} exists; deploy with the Safekeep construct`,
    );
  }
  const parsed = parseDeployment(
    joinDeploymentHalves(bundled, fromVariable),
    `the deployment document (${file}, ${DEPLOYMENT_VARIABLE})`,
  );
  cached = { key, deployment: parsed };
  return parsed;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not JSON; redeploy the stack`);
  }
}
