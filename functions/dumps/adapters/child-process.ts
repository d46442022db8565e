/**
 * Running database client tools. Credentials reach them only through the environment or 0600 files,
 * never argv; their stderr is kept as a short tail with every secret redacted; they get a minimal
 * environment so nothing else of ours (AWS keys, tokens) leaks into them.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { UsageError } from '../../contracts/errors.ts';
import type { Producer, ProducerExit } from '../commit/producer.ts';

export interface ToolRun {
  /** Executable name or path. */
  readonly command: string;
  readonly args: readonly string[];
  /** Added to a minimal base environment (PATH, HOME, LANG, TZ). */
  readonly env?: Readonly<Record<string, string>>;
  /** For messages: "pg_dump of metadb". */
  readonly description: string;
  /** Values that must never appear in argv or in what we report from stderr. */
  readonly secrets?: readonly string[];
  /** Stop the tool (SIGTERM, then SIGKILL) after this long. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Run as this user and group (a scratch database server that refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
}

const STDERR_TAIL_BYTES = 2048;
const KILL_GRACE_MS = 5_000;

function baseEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
  return Object.fromEntries(keep.flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : [])));
}

/**
 * Every secret replaced by `***`, whatever its length (a two-character password is still a password). The
 * longest go first, so a short secret that is part of a longer one cannot leave the longer one's rest behind.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  return [...secrets]
    .filter(Boolean)
    .sort((a, b) => b.length - a.length)
    .reduce((out, secret) => out.split(secret).join('***'), text);
}

/** What separates values in argv, libpq conninfo strings and URLs. */
const VALUE_DELIMITERS = /[\s=:@/?&;,'"]+/;
/** An option whose value is a credential, whatever that value looks like. */
const CREDENTIAL_OPTION = /pass|pwd|secret|token|key|auth/i;
/** `--format=custom`: a constant option word of our own, which a secret may equal by chance. */
const ENUMERATED_OPTION = /^--?[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9_-]+$/;

/**
 * Whether `arg` would show `secret` to anyone reading the process table: the argument is the secret, or the
 * secret is one whole value inside it (`--password=s`, `password=s` in a conninfo, `user:s@host` in a URL).
 * A secret that is only part of a word (`no` in `--no-password`) or equals an option's constant word
 * (`custom` in `--format=custom`) reveals nothing, and refusing it would stop the backup for no reason.
 */
export function argumentRevealsSecret(arg: string, secret: string): boolean {
  if (!secret || !arg.includes(secret)) return false;
  if (arg === secret) return true;
  if (ENUMERATED_OPTION.test(arg) && !CREDENTIAL_OPTION.test(arg.slice(0, arg.indexOf('=')))) return false;
  if (arg.split(VALUE_DELIMITERS).includes(secret)) return true;
  // A secret that holds a delimiter itself ("p@ss word") cannot be one token; any occurrence of it is a value.
  return VALUE_DELIMITERS.test(secret);
}

function assertNoSecretsInArgv(run: ToolRun): void {
  for (const secret of run.secrets ?? []) {
    if (run.args.some((arg) => argumentRevealsSecret(arg, secret))) {
      // A programming error, but one that must never reach a process table.
      throw new UsageError(`refusing to start ${run.command}: a secret would appear in its command line`);
    }
  }
}

/** Starts a tool whose stdout is consumed as a stream (the dump producer). */
export function spawnProducer(run: ToolRun, stdin?: Readable): Producer {
  assertNoSecretsInArgv(run);
  const child = spawn(run.command, [...run.args], {
    env: { ...baseEnvironment(), ...run.env },
    cwd: run.cwd,
    ...(run.uid === undefined ? {} : { uid: run.uid, gid: run.gid ?? run.uid }),
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so stopping it also stops anything it started (wrappers, pipes, helpers).
    detached: true,
  });
  // The tool may exit before reading all its input; its exit code says why, so EPIPE is not news.
  child.stdin.on('error', () => {});
  if (stdin) stdin.pipe(child.stdin);
  else child.stdin.end();
  // Read stdout from the start: when a child exits, Node resumes (and so discards) any stdio stream
  // nobody is reading yet, and the caller may still be awaiting something (an S3 call) before it reads.
  const stdout = child.stdout.pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_BYTES);
  });
  let timedOut = false;
  let stoppedByUs = false;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      child.kill(signal); // the group is gone already; make sure the child is too
    }
  };
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = run.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, run.timeoutMs)
    : undefined;
  timer?.unref();
  const exited = new Promise<ProducerExit>((resolve) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const missing = spawnError?.code === 'ENOENT' ? `${run.command} is not installed or not on PATH` : spawnError?.message;
      resolve({
        code: spawnError ? 127 : code,
        signal: spawnError ? null : signal,
        timedOut,
        stoppedByUs,
        stderrTail: redact(missing ?? lastLines(stderr), run.secrets),
      });
    });
  });
  return {
    description: run.description,
    stdout,
    exited,
    kill() {
      stoppedByUs = true;
      stop();
    },
  };
}

export interface ToolResult {
  readonly stdout: string;
  readonly exit: ProducerExit;
}

/** Runs a tool to completion and collects its (small) stdout, e.g. `pg_dump --version`. */
export async function runTool(run: ToolRun, stdin?: Readable): Promise<ToolResult> {
  const producer = spawnProducer(run, stdin);
  const chunks: Buffer[] = [];
  for await (const chunk of producer.stdout) chunks.push(chunk as Buffer);
  return { stdout: Buffer.concat(chunks).toString('utf8'), exit: await producer.exited };
}

/** The last few non-empty stderr lines, joined into one line. */
function lastLines(text: string, count = 3): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}
