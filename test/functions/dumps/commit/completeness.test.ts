/**
 * The trailer check keeps only the dump's last bytes, in one buffer, however the stream is cut into chunks.
 */
import { describe, expect, it } from 'vitest';
import { MYSQLDUMP_END, TailMarkerCheck } from '#functions/dumps/commit/completeness.ts';

const TRAILER = '\n-- Dump completed on 2026-12-02  4:10:00\n';
const feed = async (text: string, chunkSize: number, keep = 64) => {
  const check = new TailMarkerCheck(MYSQLDUMP_END, 'the trailer', keep);
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += chunkSize) check.update(bytes.subarray(at, at + chunkSize));
  return check.finish();
};

describe('TailMarkerCheck', () => {
  it.each([1, 3, 17, 63, 64, 65, 4096])('finds the trailer in chunks of %i bytes', async (chunkSize) => {
    await expect(feed(`INSERT INTO t VALUES (1);\n${'x'.repeat(500)}${TRAILER}`, chunkSize)).resolves.toEqual({});
  });

  it.each([1, 7, 64, 4096])('refuses a dump with bytes after the trailer, in chunks of %i bytes', async (chunkSize) => {
    await expect(feed(`${TRAILER}INSERT INTO t VALUES (2);\n`, chunkSize)).rejects.toThrow(/ended without the trailer/);
  });

  it('refuses a dump cut before its trailer', async () => {
    await expect(feed('x'.repeat(300), 10)).rejects.toThrow(/cut short/);
  });
});
