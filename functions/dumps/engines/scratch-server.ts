/**
 * Throwaway database servers on this machine: a private temporary directory, a free port on 127.0.0.1, a
 * random password, and a process we started and stop ourselves. `verify` (Doltgres) and the restore drill
 * restore backups into them; nothing of a real installation is read or changed, and `stop` always removes
 * the directory, whether the server started or not.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreflightError } from '../../contracts/errors.ts';
import type { Producer } from '../commit/producer.ts';
import type { DatabaseEndpoint } from '../source.ts';

const STARTUP_MS = 60_000;

/** A scratch server that is listening; `stop` ends it and deletes everything it wrote. */
export interface ScratchServer {
  readonly endpoint: DatabaseEndpoint;
  /** `PostgreSQL`, `MariaDB`, `MySQL`, `Dolt`, `Doltgres`. */
  readonly engine: string;
  readonly serverVersion: string;
  /** Said in the drill's result, e.g. that MariaDB stood in for MySQL. */
  readonly note?: string;
  stop(): Promise<void>;
}

/** A temporary directory, owned by `owner` when given (servers that refuse root run as that user). */
export async function scratchDir(purpose: string, owner?: RunAs): Promise<{ path: string; dispose: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `safekeep-${purpose}-`));
  if (owner) await chown(path, owner.uid, owner.gid);
  // A server may still be writing housekeeping files as it exits; retry, and never fail over a temp dir.
  const dispose = () => rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => {});
  return { path, dispose };
}

export const scratchPassword = () => randomBytes(18).toString('base64url');

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Whom a server that refuses root (PostgreSQL, MariaDB) runs as: nobody else when we are not root (the Fargate
 * task runs as `node`); when we are root (a developer's container), the system account `user` (`postgres`,
 * `mysql`), or SAFEKEEP_SCRATCH_USER.
 */
export function runAsFor(user: string, env: Readonly<Record<string, string | undefined>> = process.env): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = env.SAFEKEEP_SCRATCH_USER ?? user;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[0] === name);
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new PreflightError(
      `running as root, the scratch server needs an unprivileged user "${name}" to run as; create it or set SAFEKEEP_SCRATCH_USER`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until `server` accepts connections on `port`; a server that exits first fails with its stderr and `hint`. */
export async function waitUntilListening(port: number, server: Producer, what: string, hint: string): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + STARTUP_MS;
  while (!(await accepts(port))) {
    if (exited) {
      const exit = await server.exited;
      throw new PreflightError(`${what} did not start (${exit.stderrTail || `exit code ${exit.code}`}); ${hint}`);
    }
    if (Date.now() > deadline) throw new PreflightError(`${what} did not listen within ${STARTUP_MS / 1000}s; ${hint}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The server just spawned in `dir`, once it listens on `port` and `ready` has said what it is; when either
 * fails, the server is stopped and `dir` removed before the error goes on. `stop` does the same later.
 */
export async function scratchServerOf(
  server: Producer,
  dir: { dispose(): Promise<void> },
  listening: { port: number; what: string; hint: string },
  ready: () => Promise<Omit<ScratchServer, 'stop'>>,
): Promise<ScratchServer> {
  server.stdout.resume();
  const stop = async () => {
    await stopServer(server);
    await dir.dispose();
  };
  try {
    await waitUntilListening(listening.port, server, listening.what, listening.hint);
    return { ...(await ready()), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Stops the server (its whole process group) and waits for it to exit. */
export async function stopServer(server: Producer): Promise<void> {
  server.kill();
  await server.exited;
}

/** A server that listens may still be starting up (or running its init file); retry for a few seconds. */
export async function whenReady<T>(attempt: () => Promise<T>, tries = 100): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1');
  });
}
