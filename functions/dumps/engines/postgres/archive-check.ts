/**
 * Checks a pg_dump custom-format archive as it streams through the worker, in-process: the header, the
 * table of contents, every data block the TOC promises (each exactly once, each chunk framed, each ending
 * with its zero-length chunk), nothing after the last one, and the rows of every table's COPY data. Written
 * from the format as PostgreSQL's pg_backup_archiver.c (WriteHead, WriteToc) and pg_backup_custom.c
 * (_StartData, _WriteData, _EndData, the large-object blocks) define it, for archive versions 1.12 to 1.16
 * (PostgreSQL 9.0 to 18). Compression must be off (we run pg_dump -Z0 and compress the stream ourselves).
 *
 * Rows are counted as newlines in the COPY text (a newline inside a value is escaped) with Buffer.indexOf,
 * minus the `\.` terminator line and the blank lines pg_dump writes after it. `verify` still runs pg_restore
 * over the stored archive as an independent second reading.
 */
import { DumpError } from '../../../contracts/errors.ts';
import type { CompletenessCheck, CompletenessReport } from '../../commit/completeness.ts';
import { COPY_HEADER } from './copy-row-counter.ts';

const MAGIC = 'PGDMP';
const FORMAT_CUSTOM = 1;
const BLOCK_DATA = 1;
const BLOCK_LARGE_OBJECTS = 3;
const OFFSET_NO_DATA = 3;
const version = (major: number, minor: number) => major * 256 + minor;
const V1_12 = version(1, 12); // PostgreSQL 9.0, the oldest we read
const V1_14 = version(1, 14); // PostgreSQL 12: tableam
const V1_15 = version(1, 15); // PostgreSQL 16: the compression algorithm is a byte in the header
const V1_16 = version(1, 16); // PostgreSQL 17: relkind
/** Strings we keep (tag, desc, COPY statement, namespace) are short; a longer one means a corrupt length. */
const KEPT_STRING_LIMIT = 1024 * 1024;
/** How many trailing bytes of a data block we keep to find the `\.` terminator. */
const TAIL = 16;

/** A data-bearing TOC entry: where its rows go in the report, if it holds COPY data. */
interface PromisedBlock {
  readonly label: string;
  readonly table: string | undefined;
}

/** Bytes the TOC parser asks for: a positive count to receive them, a negative one to skip that many. */
type Request = number;

export class PgArchiveCheck implements CompletenessCheck {
  private readonly what: string;
  private readonly counts = new Map<string, number>();
  private readonly kinds = new Map<string, number>();
  private readonly extensions: string[] = [];
  private readonly promised = new Map<number, PromisedBlock>();
  private failure: DumpError | undefined;

  // Header and TOC: a generator that asks for bytes.
  private head: Generator<Request, void, Buffer> | undefined;
  private want: Request = 0;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private intSize = 4;

  // Data blocks: a state machine over the chunk framing.
  private state: 'type' | 'id' | 'oid' | 'length' | 'body' = 'type';
  private blockType = 0;
  private block: PromisedBlock | undefined;
  private intBytes: Buffer = Buffer.alloc(9);
  private intFill = 0;
  private bodyLeft = 0;
  private newlines = 0;
  private blockBytes = 0;
  private readonly tail = Buffer.alloc(TAIL);
  private tailLength = 0;

  constructor(what: string) {
    this.what = what;
    this.head = this.readHead();
    this.want = this.head.next().value as Request;
  }

  update(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    try {
      let at = 0;
      while (at < chunk.length) at = this.head ? this.feedHead(chunk, at) : this.feedData(chunk, at);
    } catch (error) {
      this.failure = error instanceof DumpError ? error : this.broken((error as Error).message);
      throw this.failure;
    }
  }

  async finish(): Promise<CompletenessReport> {
    if (this.failure) throw this.failure;
    if (this.head) throw this.broken('it ended inside the header or table of contents');
    if (this.state !== 'type') throw this.broken(`it ended inside the data of ${this.block?.label}`);
    const missing = [...this.promised.values()];
    if (missing.length > 0) {
      const names = missing.slice(0, 3).map((block) => block.label);
      throw this.broken(
        `it ended before the data of ${missing.length} TOC entr${missing.length === 1 ? 'y' : 'ies'} (${names.join(', ')}${missing.length > 3 ? ', ...' : ''})`,
      );
    }
    return {
      rowCounts: Object.fromEntries(this.counts),
      schemaObjects: Object.fromEntries(this.kinds),
      extensions: this.extensions,
    };
  }

  abort(): void {}

  private broken(reason: string): DumpError {
    return new DumpError(`the archive of ${this.what} is incomplete or unreadable (${reason})`);
  }

  // --- header and table of contents ---

  private feedHead(chunk: Buffer, at: number): number {
    const want = this.want;
    if (want < 0) {
      const take = Math.min(-want, chunk.length - at);
      this.want += take;
      if (this.want === 0) this.advance(Buffer.alloc(0));
      return at + take;
    }
    const take = Math.min(want - this.partsLength, chunk.length - at);
    this.parts.push(chunk.subarray(at, at + take));
    this.partsLength += take;
    if (this.partsLength === want) {
      const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
      this.parts = [];
      this.partsLength = 0;
      this.advance(bytes);
    }
    return at + take;
  }

  private advance(bytes: Buffer): void {
    const head = this.head as Generator<Request, void, Buffer>;
    let step = head.next(bytes);
    // A zero-byte request (an empty string) is answered at once.
    while (!step.done && step.value === 0) step = head.next(Buffer.alloc(0));
    if (step.done) this.head = undefined;
    else this.want = step.value;
  }

  private *readHead(): Generator<Request, void, Buffer> {
    const magic = (yield 5).toString('latin1');
    if (magic !== MAGIC) throw this.broken('it does not start with PGDMP: not a custom-format archive');
    const [major = 0, minor = 0] = yield 3;
    const archiveVersion = version(major, minor);
    if (archiveVersion < V1_12 || major !== 1)
      throw this.broken(`archive version ${major}.${minor} is not one Safekeep reads (1.12 to 1.16)`);
    if (minor > 16) throw this.broken(`archive version 1.${minor} is newer than Safekeep knows (1.16); upgrade Safekeep`);
    const [intSize = 0, offSize = 0, format = 0] = yield 3;
    if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 8)
      throw this.broken(`implausible integer sizes ${intSize}/${offSize}`);
    this.intSize = intSize;
    if (format !== FORMAT_CUSTOM) throw this.broken(`format ${format} is not the custom format`);
    const compression = archiveVersion >= V1_15 ? ((yield 1)[0] ?? 0) : yield* this.readInt();
    if (compression !== 0) throw this.broken('the archive is compressed; Safekeep runs pg_dump with -Z0');
    for (let field = 0; field < 7; field++) yield* this.readInt(); // creation date
    for (let field = 0; field < 3; field++) yield* this.skipString(); // database, server and pg_dump versions

    const entries = yield* this.readInt();
    if (entries < 0) throw this.broken('negative TOC entry count');
    for (let entry = 0; entry < entries; entry++) {
      const dumpId = yield* this.readInt();
      if (dumpId <= 0) throw this.broken(`TOC entry id ${dumpId} out of range`);
      const hasData = yield* this.readInt();
      yield* this.skipString(); // table OID
      yield* this.skipString(); // OID
      const tag = yield* this.readString();
      const desc = yield* this.readString();
      yield* this.readInt(); // section
      yield* this.skipString(); // definition
      yield* this.skipString(); // DROP statement
      const copy = yield* this.readString();
      const namespace = yield* this.readString();
      yield* this.skipString(); // tablespace
      if (archiveVersion >= V1_14) yield* this.skipString(); // table access method
      if (archiveVersion >= V1_16) yield* this.readInt(); // relkind
      yield* this.skipString(); // owner
      yield* this.skipString(); // "with OIDs"
      // Dependencies: strings, ended by a NULL one.
      for (let length = yield* this.readInt(); length >= 0; length = yield* this.readInt()) if (length > 0) yield -length;
      // Custom format: the data offset (a flag byte, then offSize bytes).
      const [offsetFlag = 0] = yield 1 + offSize;
      if (desc) this.kinds.set(desc, (this.kinds.get(desc) ?? 0) + 1);
      if (desc === 'EXTENSION' && tag) this.extensions.push(tag);
      if (hasData !== 0 && hasData !== 1) throw this.broken(`TOC entry ${dumpId} has a corrupt data flag`);
      if ((hasData === 1) === (offsetFlag === OFFSET_NO_DATA) || offsetFlag < 1 || offsetFlag > 3)
        throw this.broken(`TOC entry ${dumpId} (${desc} ${tag}) has an inconsistent data offset`);
      if (hasData === 1) {
        if (this.promised.has(dumpId)) throw this.broken(`TOC entry id ${dumpId} appears twice`);
        const header = copy ? COPY_HEADER.exec(copy.replace(/\n+$/, '')) : null;
        const label = `${desc} ${namespace ? `${namespace}.` : ''}${tag}`;
        this.promised.set(dumpId, { label, table: header?.[1] });
      }
    }
  }

  private *readInt(): Generator<Request, number, Buffer> {
    return this.decodeInt(yield 1 + this.intSize, 0);
  }

  private *readString(): Generator<Request, string | undefined, Buffer> {
    const length = yield* this.readInt();
    if (length < 0) return undefined;
    if (length > KEPT_STRING_LIMIT) throw this.broken(`implausible string length ${length} in the TOC`);
    return (yield length).toString('utf8');
  }

  private *skipString(): Generator<Request, void, Buffer> {
    const length = yield* this.readInt();
    if (length > 0) yield -length;
  }

  /** pg_dump's integer: a sign byte, then intSize bytes, least significant first. */
  private decodeInt(bytes: Buffer, at: number): number {
    const sign = bytes[at];
    if (sign !== 0 && sign !== 1) throw this.broken(`corrupt integer sign byte ${sign}`);
    let value = 0;
    for (let i = this.intSize; i >= 1; i--) value = value * 256 + (bytes[at + i] as number);
    return sign === 1 ? -value : value;
  }

  // --- data blocks ---

  private feedData(chunk: Buffer, at: number): number {
    switch (this.state) {
      case 'type': {
        if (this.promised.size === 0) throw this.broken('bytes follow the last data block the table of contents promises');
        this.blockType = chunk[at] as number;
        if (this.blockType !== BLOCK_DATA && this.blockType !== BLOCK_LARGE_OBJECTS)
          throw this.broken(`unknown data block type ${this.blockType}`);
        this.state = 'id';
        return at + 1;
      }
      case 'body': {
        const end = Math.min(chunk.length, at + this.bodyLeft);
        this.countRows(chunk, at, end);
        this.bodyLeft -= end - at;
        if (this.bodyLeft === 0) this.state = 'length';
        return end;
      }
      default: {
        // An integer: the block's dump id, a large object's OID, or a chunk length.
        const size = 1 + this.intSize;
        let value: number;
        let next: number;
        if (this.intFill === 0 && at + size <= chunk.length) {
          value = this.decodeInt(chunk, at);
          next = at + size;
        } else {
          const take = Math.min(size - this.intFill, chunk.length - at);
          chunk.copy(this.intBytes, this.intFill, at, at + take);
          this.intFill += take;
          if (this.intFill < size) return chunk.length;
          this.intFill = 0;
          value = this.decodeInt(this.intBytes, 0);
          next = at + take;
        }
        this.onInt(value);
        return next;
      }
    }
  }

  private onInt(value: number): void {
    if (this.state === 'id') {
      const block = this.promised.get(value);
      if (!block) throw this.broken(`a data block for TOC entry ${value}, which promises none or already had its block`);
      this.promised.delete(value);
      this.block = block;
      this.newlines = 0;
      this.blockBytes = 0;
      this.tailLength = 0;
      this.state = this.blockType === BLOCK_LARGE_OBJECTS ? 'oid' : 'length';
      return;
    }
    if (this.state === 'oid') {
      // A large object's OID, or 0 after the last one.
      if (value < 0) throw this.broken(`negative large object OID in ${this.block?.label}`);
      this.state = value === 0 ? 'type' : 'length';
      return;
    }
    if (value < 0) throw this.broken(`negative chunk length in ${this.block?.label}`);
    if (value > 0) {
      this.bodyLeft = value;
      this.state = 'body';
      return;
    }
    // The zero-length chunk: the end of this table's data, or of one large object.
    if (this.blockType === BLOCK_LARGE_OBJECTS) {
      this.state = 'oid';
      return;
    }
    const table = this.block?.table;
    if (table !== undefined) this.counts.set(table, (this.counts.get(table) ?? 0) + this.rowsInBlock());
    this.state = 'type';
  }

  private countRows(chunk: Buffer, start: number, end: number): void {
    if (this.blockType !== BLOCK_DATA || end === start) return;
    const body = chunk.subarray(start, end);
    let newlines = 0;
    for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) newlines++;
    this.newlines += newlines;
    this.blockBytes += body.length;
    // Keep the last TAIL bytes of the block.
    if (body.length >= TAIL) {
      body.copy(this.tail, 0, body.length - TAIL);
      this.tailLength = TAIL;
    } else {
      const keep = Math.min(this.tailLength, TAIL - body.length);
      this.tail.copy(this.tail, 0, this.tailLength - keep, this.tailLength);
      body.copy(this.tail, keep);
      this.tailLength = keep + body.length;
    }
  }

  /** Newlines of the block, less the `\.` line and the blank lines after it (pg_dump writes "\\.\n\n\n"). */
  private rowsInBlock(): number {
    const tail = this.tail.subarray(0, this.tailLength);
    let end = tail.length;
    while (end > 0 && tail[end - 1] === 10) end--;
    const trailing = tail.length - end;
    const terminated =
      trailing > 0 &&
      end >= 2 &&
      tail[end - 1] === 0x2e &&
      tail[end - 2] === 0x5c &&
      (end === 2 ? this.blockBytes === tail.length : tail[end - 3] === 10);
    return terminated ? this.newlines - trailing : this.newlines;
  }
}
