/**
 * How the worker knows a dump tool finished its output, beyond its exit code: a dump cut short by a
 * crash, an OOM kill or a dropped connection must never be recorded as a backup.
 */
import { DumpError } from '../../contracts/errors.ts';

/** Sees every raw byte of a dump, then says whether the dump was complete. */
export interface CompletenessCheck {
  /** May return a promise to apply backpressure (e.g. a verifying child process reading slower). */
  update(chunk: Buffer): void | Promise<void>;
  /** Resolves with what the check learned (e.g. row counts), or throws a DumpError. */
  finish(): Promise<CompletenessReport>;
  /** Releases resources when the dump failed for another reason. */
  abort(): void;
}

export interface CompletenessReport {
  /** Rows per table as found in the artifact itself, where the format allows counting them. */
  readonly rowCounts?: Readonly<Record<string, number>>;
  /** Schema objects by kind (pg_dump TOC descriptions, mysqldump statement kinds). */
  readonly schemaObjects?: Readonly<Record<string, number>>;
  /** Extensions the artifact creates (PostgreSQL). */
  readonly extensions?: readonly string[];
}

/**
 * Looks for a text marker the tool writes as its very last output, such as mysqldump's
 * "-- Dump completed on ...". Only the tail is kept, so memory stays constant.
 */
export class TailMarkerCheck implements CompletenessCheck {
  private tail: Buffer = Buffer.alloc(0);
  private readonly marker: RegExp;
  private readonly what: string;
  private readonly keep: number;

  constructor(marker: RegExp, what: string, keep = 4096) {
    this.marker = marker;
    this.what = what;
    this.keep = keep;
  }

  update(chunk: Buffer): void {
    const joined = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = joined.length > this.keep ? Buffer.from(joined.subarray(joined.length - this.keep)) : joined;
  }

  async finish(): Promise<CompletenessReport> {
    if (!this.marker.test(this.tail.toString('utf8'))) {
      throw new DumpError(`the dump ended without ${this.what}: it was cut short, so it was not stored`);
    }
    return {};
  }

  abort(): void {}
}

/** The marker must sit at the very end of the output (only whitespace after it). */
export const MYSQLDUMP_END = /-- Dump completed(?: on [^\n]*)?\s*$/;
export const PG_DUMPALL_END = /-- PostgreSQL database cluster dump complete\s*(?:--\s*)?$/;
