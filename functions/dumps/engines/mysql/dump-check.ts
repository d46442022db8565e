/**
 * Checks a mysqldump / mariadb-dump stream as it passes, in one pass: the "-- Dump completed" trailer at
 * the very end, and the rows of every table, counted in the INSERT statements the tool writes (extended
 * inserts: `INSERT INTO \`t\` VALUES (...),(...);`, on one line for MySQL, one tuple per line for MariaDB).
 *
 * A tuple starts with a `(` outside a string. Strings are single-quoted with backslash escapes (the tool
 * escapes quotes, backslashes and newlines that way); binary columns come as unquoted hex (--hex-blob).
 * Only INSERTs inside a table's data section ("-- Dumping data for table" to "UNLOCK TABLES;") count, so an
 * INSERT in a routine or trigger body is never taken for data. Every search is Buffer.indexOf.
 */
import type { CompletenessCheck, CompletenessReport } from '../../commit/completeness.ts';
import { MYSQLDUMP_END, TailMarkerCheck } from '../../commit/completeness.ts';

const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const PAREN = 0x28;
const SEMICOLON = 0x3b;
const NEWLINE = 0x0a;
/** The longest line start we need: `INSERT INTO \`<64 characters, escaped>\` VALUES`. */
const LINE_START_LIMIT = 1024;
const DATA_HEADER = /^-- Dumping data for table `((?:[^`]|``)+)`/;
const INSERT_HEADER = /^INSERT INTO `((?:[^`]|``)+)` VALUES/;
/** The line each schema object's definition starts with in a mysqldump / mariadb-dump. */
const SCHEMA_OBJECT_LINES: readonly [string, RegExp][] = [
  ['TABLE', /^-- Table structure for table `/],
  ['VIEW', /^-- Final view structure for view `/],
  ['TRIGGER', /^\/\*!50003 CREATE\*\/ .*\/\*!50003 TRIGGER /],
  ['PROCEDURE', /^CREATE (?:DEFINER=\S+ )?PROCEDURE /],
  ['FUNCTION', /^CREATE (?:DEFINER=\S+ )?(?:AGGREGATE )?FUNCTION /],
  ['EVENT', /^\/\*!50106 CREATE\*\/ .*EVENT /],
];

export class InsertRowCounter {
  private readonly counts = new Map<string, number>();
  private readonly kinds = new Map<string, number>();
  private state: 'lineStart' | 'skipLine' | 'insert' = 'lineStart';
  private lineStart: Buffer[] = [];
  private lineStartLength = 0;
  /** The table whose data section we are in. */
  private dataTable: string | undefined;
  private insertTable = '';
  private inString = false;
  /** Backslashes that ended the previous chunk inside a string (they may escape this chunk's first quote). */
  private backslashes = 0;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'skipLine') {
        const newline = chunk.indexOf(NEWLINE, at);
        if (newline === -1) return;
        this.state = 'lineStart';
        at = newline + 1;
      } else if (this.state === 'insert') {
        at = this.scanInsert(chunk, at);
      } else {
        at = this.collectLineStart(chunk, at);
      }
    }
  }

  /** Rows per table, e.g. `{ "orders": 1200 }`, for every table whose data the dump holds (empty ones too). */
  result(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private collectLineStart(chunk: Buffer, at: number): number {
    const newline = chunk.indexOf(NEWLINE, at);
    const lineEnd = newline === -1 ? chunk.length : newline + 1;
    const end = Math.min(lineEnd, at + LINE_START_LIMIT - this.lineStartLength);
    this.lineStart.push(chunk.subarray(at, end));
    this.lineStartLength += end - at;
    const complete = (newline !== -1 && end === lineEnd) || this.lineStartLength >= LINE_START_LIMIT;
    if (!complete) {
      // Keep the bytes: the chunk may be reused by the stream once we return.
      this.lineStart = [Buffer.concat(this.lineStart)];
      return end;
    }
    const line = Buffer.concat(this.lineStart);
    this.lineStart = [];
    this.lineStartLength = 0;
    this.classify(line, line[line.length - 1] === NEWLINE);
    return end;
  }

  /** Schema objects by kind, e.g. `{ TABLE: 16, VIEW: 7, TRIGGER: 6 }`, from the lines that start their definitions. */
  schemaObjects(): Record<string, number> {
    return Object.fromEntries(this.kinds);
  }

  private classify(line: Buffer, wholeLine: boolean): void {
    const text = line.toString('utf8');
    const kind = this.dataTable === undefined ? SCHEMA_OBJECT_LINES.find(([, pattern]) => pattern.test(text))?.[0] : undefined;
    if (kind) this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    const data = DATA_HEADER.exec(text);
    const insert = data ? null : INSERT_HEADER.exec(text);
    if (data?.[1]) {
      this.dataTable = unquote(data[1]);
      this.counts.set(this.dataTable, this.counts.get(this.dataTable) ?? 0);
    } else if (insert?.[1] && unquote(insert[1]) === this.dataTable) {
      this.insertTable = this.dataTable;
      this.inString = false;
      this.backslashes = 0;
      this.state = 'insert';
      const statementEnded = this.scanInsert(line, Buffer.byteLength(insert[0])) < line.length || !this.inInsert();
      // A short INSERT ends within the line start; the rest of its line is not data.
      if (statementEnded && wholeLine) this.state = 'lineStart';
      return;
    } else if (text.startsWith('UNLOCK TABLES;') || text.startsWith('-- ')) {
      this.dataTable = undefined;
    }
    this.state = wholeLine ? 'lineStart' : 'skipLine';
  }

  private inInsert(): boolean {
    return this.state === 'insert';
  }

  /** Scans an INSERT statement from `at`: counts tuples, returns where it ended (after `;`) or the chunk's end. */
  private scanInsert(chunk: Buffer, at: number): number {
    let rows = 0;
    let quote = -2;
    let paren = -2;
    let semicolon = -2;
    const next = (byte: number, cached: number, from: number) =>
      cached >= from || cached === -1 ? cached : chunk.indexOf(byte, from);
    let position = at;
    while (position < chunk.length) {
      if (this.inString) {
        // The closing quote is the first one after an even run of backslashes (`\\'` ends, `\'` does not).
        quote = next(QUOTE, quote, position);
        if (quote === -1) {
          this.backslashes = trailingBackslashes(chunk, chunk.length, this.backslashes);
          position = chunk.length;
          break;
        }
        const run = trailingBackslashes(chunk, quote, this.backslashes);
        this.backslashes = 0;
        position = quote + 1;
        if (run % 2 === 0) this.inString = false;
        continue;
      }
      quote = next(QUOTE, quote, position);
      paren = next(PAREN, paren, position);
      semicolon = next(SEMICOLON, semicolon, position);
      let first = chunk.length;
      if (quote !== -1) first = quote;
      if (paren !== -1 && paren < first) first = paren;
      if (semicolon !== -1 && semicolon < first) first = semicolon;
      if (first === chunk.length) {
        position = chunk.length;
        break;
      }
      position = first + 1;
      if (first === quote) this.inString = true;
      else if (first === paren) rows++;
      else {
        this.state = 'skipLine';
        break;
      }
    }
    this.counts.set(this.insertTable, (this.counts.get(this.insertTable) ?? 0) + rows);
    return position;
  }
}

const unquote = (name: string) => name.replaceAll('``', '`');

/** How many backslashes end `chunk` just before `end`; a run reaching the chunk's start adds `carried`. */
function trailingBackslashes(chunk: Buffer, end: number, carried: number): number {
  let start = end;
  while (start > 0 && chunk[start - 1] === BACKSLASH) start--;
  return end - start + (start === 0 ? carried : 0);
}

/** The trailer and the row counts of one database's dump. */
export class MysqldumpCheck implements CompletenessCheck {
  private readonly trailer: TailMarkerCheck;
  private readonly rows = new InsertRowCounter();

  constructor(what: string) {
    this.trailer = new TailMarkerCheck(MYSQLDUMP_END, what);
  }

  update(chunk: Buffer): void {
    this.trailer.update(chunk);
    this.rows.push(chunk);
  }

  async finish(): Promise<CompletenessReport> {
    await this.trailer.finish();
    return { rowCounts: this.rows.result(), schemaObjects: this.rows.schemaObjects() };
  }

  abort(): void {}
}
