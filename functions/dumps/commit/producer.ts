/** A running dump tool (or an in-process generator) whose stdout becomes one artifact. */
import type { Readable } from 'node:stream';

export interface ProducerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** `kill()` was called (the run was failing for another reason). */
  readonly stoppedByUs: boolean;
  /** The last lines the tool wrote to stderr, with secrets redacted. */
  readonly stderrTail: string;
}

/** A running dump tool whose stdout is the artifact. */
export interface Producer {
  /** For messages: "pg_dump of metadb". */
  readonly description: string;
  readonly stdout: Readable;
  readonly exited: Promise<ProducerExit>;
  kill(): void;
}
