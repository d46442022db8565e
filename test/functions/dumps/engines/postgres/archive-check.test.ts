/**
 * The in-process archive check against real pg_dump archives (the PostgreSQL 15 peer's client) and against
 * archives written here from the format's definition for the versions that client cannot write (1.15 of
 * PostgreSQL 16, 1.16 of PostgreSQL 17 and 18). Its row counts must equal pg_restore's.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgArchiveCheck } from '#functions/dumps/engines/postgres/archive-check.ts';
import { PgRestoreCheck } from '#functions/dumps/engines/postgres/pg-restore-check.ts';
import { pgToolPath } from '#functions/dumps/engines/postgres/tools.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { POSTGRES_DATASET } from '#test/support/datasets/postgres.ts';
import { peer } from '#test/support/peers.ts';
import { uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');

async function check(archive: Buffer, cuts: readonly number[] = []) {
  const checker = new PgArchiveCheck('the test database');
  let start = 0;
  for (const cut of [...cuts, archive.length]) {
    checker.update(archive.subarray(start, cut));
    start = cut;
  }
  return (await checker.finish()).rowCounts;
}

/** The check's verdict: the row counts, or the error message. */
async function verdict(archive: Buffer): Promise<string> {
  try {
    return JSON.stringify(await check(archive));
  } catch (error) {
    return (error as Error).message;
  }
}

async function pgRestoreCounts(archive: Buffer) {
  const reader = new PgRestoreCheck('the test database');
  await reader.update(archive);
  return (await reader.finish()).rowCounts;
}

// --- an archive written from the format's definition ---

const int = (value: number) => {
  const bytes = Buffer.alloc(5);
  bytes[0] = value < 0 ? 1 : 0;
  bytes.writeUInt32LE(Math.abs(value), 1);
  return bytes;
};
const str = (value: string | null) =>
  value === null ? int(-1) : Buffer.concat([int(Buffer.byteLength(value)), Buffer.from(value)]);

interface Entry {
  readonly id: number;
  readonly desc: string;
  readonly tag: string;
  readonly copy?: string;
  /** COPY chunks; an entry with chunks has data. */
  readonly chunks?: readonly string[];
}

function tocAndHeader(minor: number, entries: readonly Entry[]): Buffer {
  const head = [Buffer.from('PGDMP'), Buffer.from([1, minor, 0, 4, 8, 1])];
  head.push(minor >= 15 ? Buffer.from([0]) : int(0));
  for (const field of [0, 0, 12, 1, 11, 126, 0]) head.push(int(field));
  head.push(str('db'), str('18.1'), str('18.1'), int(entries.length));
  for (const entry of entries) {
    const hasData = entry.chunks !== undefined;
    head.push(int(entry.id), int(hasData ? 1 : 0), str('1259'), str(String(16000 + entry.id)), str(entry.tag), str(entry.desc));
    head.push(int(hasData ? 3 : 2), str(hasData ? '' : `CREATE ${entry.tag};`), str(''), str(entry.copy ?? ''));
    head.push(str('public'), str(''));
    if (minor >= 14) head.push(str('heap'));
    if (minor >= 16) head.push(int(hasData ? 114 : 0));
    head.push(str('postgres'), str('false'), str('1'), str('2'), str(null));
    head.push(Buffer.from([hasData ? 1 : 3]), Buffer.alloc(8));
  }
  return Buffer.concat(head);
}

function dataBlock(entry: Entry): Buffer {
  const parts = [Buffer.from([1]), int(entry.id)];
  for (const chunk of entry.chunks ?? []) parts.push(str(chunk));
  parts.push(int(0));
  return Buffer.concat(parts);
}

const ENTRIES: readonly Entry[] = [
  { id: 1, desc: 'TABLE', tag: 'orders' },
  {
    id: 7,
    desc: 'TABLE DATA',
    tag: 'orders',
    copy: 'COPY public.orders (id, note) FROM stdin;\n',
    chunks: ['1\thello\n', '2\t\\N\n3\tline\\nbreak\n4\t\n', '\\.\n\n\n'],
  },
  { id: 8, desc: 'TABLE DATA', tag: 'empty', copy: 'COPY public.empty (id) FROM stdin;\n', chunks: ['\\.\n\n\n'] },
  // The last row is an empty string: its newline counts, the blank lines after the terminator do not.
  { id: 9, desc: 'TABLE DATA', tag: 'blanks', copy: 'COPY public.blanks (t) FROM stdin;\n', chunks: ['\n', '\n\\.\n\n\n'] },
  { id: 10, desc: 'INDEX', tag: 'orders_pkey' },
];
const COUNTS = { 'public.orders': 4, 'public.empty': 0, 'public.blanks': 2 };

function written(minor: number, entries: readonly Entry[] = ENTRIES, blocks = entries.filter((e) => e.chunks)): Buffer {
  return Buffer.concat([tocAndHeader(minor, entries), ...blocks.map(dataBlock)]);
}

describe('PgArchiveCheck on archives written from the format definition', () => {
  it.each([12, 14, 15, 16])('reads archive version 1.%i and counts every table', async (minor) => {
    expect(await check(written(minor))).toEqual(COUNTS);
  });

  it('gives the same counts however the stream is split into chunks', async () => {
    const archive = written(16);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: archive.length - 1 }), { maxLength: 40 }), async (cuts) => {
        expect(
          await check(
            archive,
            [...cuts].sort((a, b) => a - b),
          ),
        ).toEqual(COUNTS);
      }),
    );
    const everyByte = Array.from({ length: archive.length - 1 }, (_, i) => i + 1);
    expect(await check(archive, everyByte)).toEqual(COUNTS);
  });

  it('refuses a missing block, a block twice, a block for an entry without data, and bytes after the end', async () => {
    const blocks = ENTRIES.filter((e) => e.chunks);
    const [first, second, third] = blocks as [Entry, Entry, Entry];
    expect(await verdict(written(16, ENTRIES, [first, third]))).toMatch(
      /ended before the data of 1 TOC entry \(TABLE DATA public\.empty\)/,
    );
    expect(await verdict(written(16, ENTRIES, [first, second, second, third]))).toMatch(/already had its block/);
    expect(await verdict(written(16, ENTRIES, [...blocks, { id: 10, desc: 'INDEX', tag: 'x', chunks: ['1\n'] }]))).toMatch(
      /bytes follow the last data block/,
    );
    expect(await verdict(written(16, ENTRIES, [first, second, { id: 1, desc: 'TABLE', tag: 'x', chunks: [] }, third]))).toMatch(
      /promises none/,
    );
    expect(await verdict(Buffer.concat([written(16), Buffer.from([0])]))).toMatch(/bytes follow the last data block/);
  });

  it('refuses every truncation, wherever the archive is cut', async () => {
    const archive = written(16);
    for (let length = 0; length < archive.length; length++) {
      expect(await verdict(archive.subarray(0, length)), `cut at ${length} of ${archive.length}`).toMatch(
        /incomplete or unreadable/,
      );
    }
  });

  it('refuses a compressed archive, another format and a newer archive version', async () => {
    const archive = written(16);
    const compressed = Buffer.from(archive);
    compressed[11] = 1;
    expect(await verdict(compressed)).toMatch(/compressed; Safekeep runs pg_dump with -Z0/);
    const tar = Buffer.from(archive);
    tar[10] = 3;
    expect(await verdict(tar)).toMatch(/not the custom format/);
    const newer = Buffer.from(archive);
    newer[6] = 17;
    expect(await verdict(newer)).toMatch(/newer than Safekeep knows/);
    expect(await verdict(Buffer.from('-- PostgreSQL database dump\n'))).toMatch(/not a custom-format archive/);
  });

  it('refuses a corrupt chunk length or block type', async () => {
    const archive = written(16);
    const header = tocAndHeader(16, ENTRIES).length;
    const badType = Buffer.from(archive);
    badType[header] = 2;
    expect(await verdict(badType)).toMatch(/unknown data block type 2/);
    const badLength = Buffer.from(archive);
    badLength[header + 6] = 0x5a; // the sign byte of the first chunk's length
    expect(await verdict(badLength)).toMatch(/corrupt integer sign byte/);
  });
});

describe.skipIf(!postgres)('PgArchiveCheck on pg_dump archives', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  let full: Buffer;
  let small: Buffer;

  function pgDump(database: string): Buffer {
    const run = spawnSync(pgToolPath('pg_dump'), ['--format=custom', '--compress=0', `--dbname=${database}`], {
      env: { ...process.env, PGHOST: pgPeer.host, PGPORT: String(pgPeer.port), PGUSER: pgPeer.user, PGPASSWORD: pgPeer.password },
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(run.status, run.stderr.toString()).toBe(0);
    return run.stdout;
  }

  beforeAll(async () => {
    const fullName = uniqueName('archive_full');
    await createPostgresDatabase(pgPeer, fullName, [
      ...POSTGRES_DATASET,
      'CREATE TABLE public.nothing (id int)',
      "SELECT lo_from_bytea(0, '\\x00ff0a0d'::bytea)",
      "SELECT lo_from_bytea(0, convert_to(repeat('large object line\n', 20000), 'UTF8'))",
    ]);
    full = pgDump(fullName);
    const smallName = uniqueName('archive_small');
    await createPostgresDatabase(pgPeer, smallName, [
      "CREATE TABLE a AS SELECT g AS id, 'row ' || g AS t FROM generate_series(1, 20) g",
      "CREATE TABLE \"Mixed Case\" AS SELECT E'line\\nbreak' AS v UNION ALL SELECT ''",
      'CREATE TABLE empty (x int)',
      "SELECT lo_from_bytea(0, 'blob'::bytea)",
    ]);
    small = pgDump(smallName);
  });

  it('counts the rows pg_restore counts, however the stream is split', async () => {
    const expected = await pgRestoreCounts(full);
    expect(expected).toMatchObject({ 'sales.orders': 2000, 'public.nothing': 0 });
    expect(await check(full)).toEqual(expected);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: full.length - 1 }), { maxLength: 30 }), async (cuts) => {
        expect(
          await check(
            full,
            [...cuts].sort((a, b) => a - b),
          ),
        ).toEqual(expected);
      }),
      { numRuns: 20 },
    );
    expect(await check(small)).toEqual(await pgRestoreCounts(small));
  });

  it('refuses every truncation of a real archive and a byte after its end', async () => {
    for (let length = 0; length < small.length; length++) {
      expect(await verdict(small.subarray(0, length)), `cut at ${length} of ${small.length}`).toMatch(/incomplete or unreadable/);
    }
    for (const length of [1, 100, full.length >> 1, full.length - 6, full.length - 1]) {
      expect(await verdict(full.subarray(0, length))).toMatch(/incomplete or unreadable/);
    }
    expect(await verdict(Buffer.concat([full, Buffer.from([1])]))).toMatch(/bytes follow the last data block/);
  });
});
