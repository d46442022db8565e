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
  /** The last `keep` bytes seen, in a buffer allocated once: a dump's chunks leave no garbage here. */
  private readonly tail: Buffer;
  private tailLength = 0;
  private readonly marker: RegExp;
  private readonly what: string;

  constructor(marker: RegExp, what: string, keep = 4096) {
    this.marker = marker;
    this.what = what;
    this.tail = Buffer.alloc(keep);
  }

  update(chunk: Buffer): void {
    const keep = this.tail.length;
    if (chunk.length >= keep) {
      chunk.copy(this.tail, 0, chunk.length - keep);
      this.tailLength = keep;
      return;
    }
    const kept = Math.min(this.tailLength, keep - chunk.length);
    this.tail.copy(this.tail, 0, this.tailLength - kept, this.tailLength);
    chunk.copy(this.tail, kept);
    this.tailLength = kept + chunk.length;
  }

  async finish(): Promise<CompletenessReport> {
    if (!this.marker.test(this.tail.toString('utf8', 0, this.tailLength))) {
      throw new DumpError(`the dump ended without ${this.what}: it was cut short, so it was not stored`);
    }
    return {};
  }

  abort(): void {}
}

/** The marker must sit at the very end of the output (only whitespace after it). */
export const MYSQLDUMP_END = /-- Dump completed(?: on [^\n]*)?\s*$/;
export const PG_DUMPALL_END = /-- PostgreSQL database cluster dump complete\s*(?:--\s*)?$/;
