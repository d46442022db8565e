/**
 * Counts the rows of every COPY block in the SQL that `pg_restore -f -` prints: the rows actually inside
 * the archive, not the server's estimate. In COPY text format every row is one line (newlines in data are
 * escaped) and a block ends with a line holding only `\.`. Memory stays constant: within a COPY block only
 * the first bytes of a line are kept.
 */
const HEADER_LIMIT = 256 * 1024;
export const COPY_HEADER = /^COPY ((?:"(?:[^"]|"")+"|[^\s."(]+)(?:\.(?:"(?:[^"]|"")+"|[^\s."(]+))?)(?: \(.*\))? FROM stdin;$/s;

export class CopyRowCounter {
  private readonly counts = new Map<string, number>();
  private table: string | undefined;
  private rows = 0;
  private line: Buffer[] = [];
  private lineLength = 0;

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.keep(chunk.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
    this.keep(chunk.subarray(start));
  }

  /** Rows per table, e.g. `{ "public.orders": 1200 }`. */
  result(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private keep(part: Buffer): void {
    // Inside a COPY block we only need to know whether the line is exactly "\.".
    const limit = this.table === undefined ? HEADER_LIMIT : 3;
    if (this.lineLength >= limit || part.length === 0) {
      this.lineLength += part.length;
      return;
    }
    const take = part.subarray(0, limit - this.lineLength);
    this.line.push(Buffer.from(take));
    this.lineLength += part.length;
  }

  private endLine(): void {
    const text = Buffer.concat(this.line).toString('utf8');
    const length = this.lineLength;
    this.line = [];
    this.lineLength = 0;
    if (this.table !== undefined) {
      if (length === 2 && text === '\\.') {
        this.counts.set(this.table, (this.counts.get(this.table) ?? 0) + this.rows);
        this.table = undefined;
      } else {
        this.rows++;
      }
      return;
    }
    const header = length <= HEADER_LIMIT ? COPY_HEADER.exec(text) : null;
    if (header?.[1]) {
      this.table = header[1];
      this.rows = 0;
    }
  }
}
