import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capacityOf,
  DEFAULT_PART_SIZES,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  partSizesForStreams,
} from '#functions/dumps/commit/part-size.ts';

const TiB = 1024 ** 4;

describe('the default part-size schedule', () => {
  it('holds a multi-TiB dump (7.8 TiB) in 10,000 parts', () => {
    expect(capacityOf(DEFAULT_PART_SIZES)).toBeGreaterThan(7.5 * TiB);
  });

  it('keeps every part within S3 limits and never shrinks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_PARTS - 1 }), (part) => {
        const size = DEFAULT_PART_SIZES.sizeOf(part);
        expect(size).toBeGreaterThanOrEqual(MIN_PART_SIZE);
        expect(size).toBeLessThanOrEqual(MAX_PART_SIZE);
        expect(DEFAULT_PART_SIZES.sizeOf(part + 1)).toBeGreaterThanOrEqual(size);
      }),
    );
  });

  it('uses small parts for dumps up to 31 GiB, so memory stays small for them', () => {
    expect(DEFAULT_PART_SIZES.sizeOf(1)).toBe(16 * 1024 ** 2);
    expect(DEFAULT_PART_SIZES.sizeOf(2_000)).toBe(16 * 1024 ** 2);
  });

  it('refuses part numbers S3 does not have', () => {
    expect(() => DEFAULT_PART_SIZES.sizeOf(0)).toThrow(RangeError);
    expect(() => DEFAULT_PART_SIZES.sizeOf(MAX_PARTS + 1)).toThrow(RangeError);
  });
});

describe('part sizes for parallel streams', () => {
  it('splits one stream’s buffer over N streams, never below 5 MiB, and still holds terabytes per stream', () => {
    const MiB = 1024 * 1024;
    expect(partSizesForStreams(1)).toBe(DEFAULT_PART_SIZES);
    expect(partSizesForStreams(2).sizeOf(1)).toBe(8 * MiB);
    expect(partSizesForStreams(3).sizeOf(1)).toBe(MIN_PART_SIZE);
    expect(partSizesForStreams(16).sizeOf(1)).toBe(MIN_PART_SIZE);
    expect(capacityOf(partSizesForStreams(16))).toBeGreaterThan(2 * 1024 ** 4);
  });
});
