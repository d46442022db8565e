import { createHash, randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DumpError, StoreError } from '#functions/contracts/errors.ts';
import { TailMarkerCheck } from '#functions/dumps/commit/completeness.ts';
import { fixedPartSize } from '#functions/dumps/commit/part-size.ts';
import { commitRun, stageObject } from '#functions/dumps/commit/stage-object.ts';
import { fakeProducer, MemoryUpload } from './fakes.ts';

const MiB = 1024 * 1024;
const END = Buffer.from('\n-- Dump completed on 2026-11-21\n');
const check = () => new TailMarkerCheck(/-- Dump completed(?: on [^\n]*)?\s*$/, 'the trailer');

describe('stageObject', () => {
  it('streams every byte into parts of the chosen size, hashes what is stored, and leaves the upload open', async () => {
    // Prepare: 12 MiB of incompressible data in odd-sized chunks
    const data = randomBytes(12 * MiB);
    const chunks = [];
    for (let offset = 0; offset < data.length; offset += 65_537) chunks.push(data.subarray(offset, offset + 65_537));
    const upload = new MemoryUpload();

    // Act
    const staged = await stageObject({
      producer: fakeProducer([...chunks, END]),
      upload,
      compression: 'none',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });

    // Assess
    expect(upload.state).toBe('open');
    expect([...upload.parts.values()].map((p) => p.length)).toEqual([5 * MiB, 5 * MiB, 2 * MiB + END.length]);
    expect(upload.content().equals(Buffer.concat([data, END]))).toBe(true);
    expect(staged.sha256).toBe(createHash('sha256').update(upload.content()).digest('hex'));
    expect(staged).toMatchObject({ rawBytes: data.length + END.length, storedBytes: data.length + END.length });
    expect(staged.parts.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
  });

  it('compresses with zstd on the way', async () => {
    const upload = new MemoryUpload();
    const text = Buffer.from('row\n'.repeat(100_000));
    const staged = await stageObject({
      producer: fakeProducer([text, END]),
      upload,
      compression: 'zstd',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });
    expect(staged.storedBytes).toBeLessThan(staged.rawBytes / 10);
    expect(zstdDecompressSync(upload.content()).equals(Buffer.concat([text, END]))).toBe(true);
  });

  it.each([
    [
      'exits non-zero',
      { code: 2, stderrTail: 'pg_dump: error: connection lost' },
      /fake dump failed with exit code 2: pg_dump: error: connection lost/,
    ],
    ['is killed', { code: null, signal: 'SIGKILL' as const }, /fake dump was killed by SIGKILL/],
    ['times out', { code: null, signal: 'SIGTERM' as const, timedOut: true }, /did not finish before the timeout/],
  ])('aborts the upload when the producer %s', async (_label, exit, message) => {
    const upload = new MemoryUpload();
    const staging = stageObject({
      producer: fakeProducer([Buffer.from('partial'), END], exit),
      upload,
      compression: 'zstd',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });
    await expect(staging).rejects.toThrow(message);
    await expect(staging).rejects.toBeInstanceOf(DumpError);
    expect(upload.state).toBe('aborted');
  });

  it('aborts when the producer exits 0 without its end marker (the truncated-dump case)', async () => {
    const upload = new MemoryUpload();
    const staging = stageObject({
      producer: fakeProducer([Buffer.from('INSERT INTO t VALUES (1);\n')]),
      upload,
      compression: 'none',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });
    await expect(staging).rejects.toThrow(/ended without the trailer/);
    expect(upload.state).toBe('aborted');
  });

  it('stops the producer and aborts when an upload fails', async () => {
    const upload = new MemoryUpload();
    upload.failOnPart = 2;
    const producer = fakeProducer([randomBytes(11 * MiB), END]);
    const staging = stageObject({
      producer,
      upload,
      compression: 'none',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });
    await expect(staging).rejects.toBeInstanceOf(StoreError);
    await expect(staging).rejects.toThrow(/uploading to S3 failed: S3 went away/);
    expect(upload.state).toBe('aborted');
    expect(producer.killed).toBe(true);
  });
});

describe('commitRun', () => {
  async function staged(key: string) {
    const upload = new MemoryUpload(key);
    return stageObject({
      producer: fakeProducer([Buffer.from('x'), END]),
      upload,
      compression: 'none',
      completeness: check(),
      partSizes: fixedPartSize(5 * MiB),
    });
  }

  it('completes every upload, then writes the manifest with their versions', async () => {
    const objects = [await staged('a'), await staged('b')];
    let versions: ReadonlyMap<string, string | undefined> | undefined;
    await commitRun(objects, async (v) => {
      versions = v;
    });
    expect(objects.map((o) => (o.upload as MemoryUpload).state)).toEqual(['completed', 'completed']);
    expect([...(versions ?? new Map()).entries()]).toEqual([
      ['a', 'v1'],
      ['b', 'v1'],
    ]);
  });

  it('aborts the rest and writes no manifest when a completion fails', async () => {
    const objects = [await staged('a'), await staged('b'), await staged('c')];
    (objects[1]?.upload as MemoryUpload).complete = async () => {
      throw new Error('InternalError');
    };
    let manifestWritten = false;
    await expect(
      commitRun(objects, async () => {
        manifestWritten = true;
      }),
    ).rejects.toThrow(/completing the upload of b failed: InternalError; no manifest was written/);
    expect(manifestWritten).toBe(false);
    expect(objects.map((o) => (o.upload as MemoryUpload).state)).toEqual(['completed', 'aborted', 'aborted']);
  });
});
