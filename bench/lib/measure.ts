/**
 * Measuring one pipeline: wall time, CPU seconds of the whole process tree, CPU seconds of each database
 * client tool in it, and the peak RSS of the Safekeep worker.
 *
 * How CPU is counted, exactly and without sampling: every command runs as `bash -c '<pipeline>; times'`,
 * and bash's `times` prints the user and system time of every child it waited for, each of which includes
 * the children *it* waited for (getrusage(RUSAGE_CHILDREN) semantics), so the second line is the whole tree.
 * The database tools (pg_dump, pg_restore, mysqldump, ...) are reached through wrapper scripts that run the
 * real binary and then write their own `times` into a directory: the tool's exact CPU, wherever in the tree
 * it ran. The worker finds the wrappers through its documented overrides (SAFEKEEP_PG_BIN,
 * SAFEKEEP_MYSQLDUMP, SAFEKEEP_MYSQL); the yardsticks call them by path. Its minimal child environment is
 * why the output directory is written into each wrapper rather than passed in a variable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Measurement {
  readonly wallS: number;
  /** user + system of the whole tree. */
  readonly cpuS: number;
  /** user + system per database tool (summed over its invocations), by tool name. */
  readonly toolCpuS: Readonly<Record<string, number>>;
  /** VmHWM of the direct child of the measuring shell (the node worker), when asked for. */
  readonly peakRssMiB?: number;
  readonly stdout: string;
}

/** `0m1.234s 0m0.056s` -> 1.29 (user + system). */
export function parseTimesLine(line: string): number {
  let total = 0;
  for (const match of line.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(match[1]) * 60 + Number(match[2]);
  return total;
}

export class ToolWrappers {
  readonly binDir: string;
  private readonly cpuDir: string;

  /** tools: wrapper name -> real binary. */
  constructor(root: string, tools: Readonly<Record<string, string>>) {
    this.binDir = join(root, 'bin');
    this.cpuDir = join(root, 'cpu');
    mkdirSync(this.binDir, { recursive: true });
    mkdirSync(this.cpuDir, { recursive: true });
    for (const [name, real] of Object.entries(tools)) {
      const path = join(this.binDir, name);
      writeFileSync(
        path,
        `#!/bin/bash\n${JSON.stringify(real)} "$@"\nrc=$?\ntimes > ${JSON.stringify(this.cpuDir)}/${name}.$$\nexit $rc\n`,
      );
      chmodSync(path, 0o755);
    }
  }

  path(tool: string): string {
    return join(this.binDir, tool);
  }

  reset(): void {
    for (const file of readdirSync(this.cpuDir)) rmSync(join(this.cpuDir, file));
  }

  collect(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const file of readdirSync(this.cpuDir)) {
      const tool = file.slice(0, file.lastIndexOf('.'));
      const lines = readFileSync(join(this.cpuDir, file), 'utf8').trim().split('\n');
      out[tool] = (out[tool] ?? 0) + parseTimesLine(lines[1] ?? '');
    }
    return out;
  }
}

function peakRssOfChild(shellPid: number): number {
  try {
    const children = readFileSync(`/proc/${shellPid}/task/${shellPid}/children`, 'utf8').trim().split(/\s+/);
    const child = children[0];
    if (!child) return 0;
    const status = readFileSync(`/proc/${child}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0; // exited between samples
  }
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly sampleRss?: boolean;
  readonly cwd?: string;
}

/** A pipeline that exited non-zero; `summary` is the line that says why (Safekeep's one-line error, or the last line). */
export class PipelineError extends Error {
  readonly summary: string;
  constructor(code: number | null, script: string, stderr: string) {
    const lines = stderr.trim().split('\n');
    const summary = (lines.findLast((line) => line.startsWith('safekeep:')) ?? lines[lines.length - 1] ?? `exit ${code}`).trim();
    super(`pipeline failed (exit ${code}): ${script.slice(0, 300)}\n${stderr.trim()}`);
    this.summary = summary;
  }
}

const running = new Set<ChildProcess>();

/** Stops the pipelines still running (the suite calls this when it is interrupted). */
export function killRunning(): void {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs `script` under bash (pipefail) and measures it; rejects with its stderr tail when it fails. */
export function measure(script: string, wrappers: ToolWrappers, options: RunOptions = {}): Promise<Measurement> {
  wrappers.reset();
  const timesFile = join(wrappers.binDir, '..', `times.${process.pid}`);
  const body = `set -o pipefail\n${script}\nrc=$?\ntimes > ${JSON.stringify(timesFile)}\nexit $rc\n`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', ['-c', body], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
      // Its own process group, so an interrupted suite can stop the whole pipeline.
      detached: true,
    });
    running.add(child);
    let peakKb = 0;
    const sampler = options.sampleRss
      ? setInterval(() => {
          if (child.pid) peakKb = Math.max(peakKb, peakRssOfChild(child.pid));
        }, 50)
      : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      if (sampler) clearInterval(sampler);
      if (code !== 0) {
        reject(new PipelineError(code, script, stderr));
        return;
      }
      const lines = readFileSync(timesFile, 'utf8').trim().split('\n');
      resolve({
        wallS,
        cpuS: parseTimesLine(lines[1] ?? ''),
        toolCpuS: wrappers.collect(),
        ...(options.sampleRss ? { peakRssMiB: peakKb / 1024 } : {}),
        stdout,
      });
    });
  });
}

/** Single-quotes a value for bash. */
export const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
