/**
 * The deploy test's own moto server: started on a free port with the CloudFormation plugin
 * (moto_cfn_plugin.py, through moto_server.py) and stopped by the test, apart from the shared peers.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../ports.ts';

const SAFEKEEP_HOME = process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep');
/** The Python of the venv scripts/setup.sh installs moto into. */
export const MOTO_PYTHON = join(SAFEKEEP_HOME, 'venv', 'bin', 'python');
const LAUNCHER = join(import.meta.dirname, 'moto_server.py');

export interface DeployMoto {
  readonly port: number;
  readonly endpoint: string;
  /** Everything the server printed, for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

/** Why the deploy test cannot run here, or undefined when it can. */
export function deployMotoMissing(): string | undefined {
  return existsSync(MOTO_PYTHON) ? undefined : `no moto venv at ${MOTO_PYTHON}: run scripts/setup.sh`;
}

export async function startDeployMoto(): Promise<DeployMoto> {
  const port = await freePort();
  const child: ChildProcess = spawn(MOTO_PYTHON, [LAUNCHER, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  // A test worker that dies (timeout, SIGTERM) never reaches stop(): take the server down with it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  const endpoint = `http://127.0.0.1:${port}`;
  // Generous: on a loaded CI machine the Python start alone can take tens of seconds.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server.py exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`moto_server.py did not answer on ${endpoint} within 120 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    endpoint,
    log: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
