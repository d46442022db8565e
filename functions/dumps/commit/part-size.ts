/**
 * Part sizes for S3 multipart uploads of streams whose length nobody knows in advance.
 *
 * S3 allows 10,000 parts of 5 MiB to 5 GiB. A fixed size forces a choice between small parts (low
 * memory, but a ceiling of 10,000 x size) and huge parts (multi-TiB capacity, but every dump buffers
 * gigabytes). So the size is an explicit schedule: 16 MiB for the first 2,000 parts (31 GiB), then doubling
 * every 1,000 parts up to 4 GiB. Dumps up to 31 GiB buffer at most a few 16 MiB parts; the schedule holds
 * about 7.8 TiB in 10,000 parts.
 */
const MiB = 1024 * 1024;

export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;

export interface PartSizePolicy {
  /** Size of part `partNumber` (1-based); every part but the last has exactly this size. */
  sizeOf(partNumber: number): number;
}

export const DEFAULT_PART_SIZES: PartSizePolicy = growingPartSizes({ base: 16 * MiB, flatParts: 2_000, doublingEvery: 1_000 });

export function growingPartSizes(options: { base: number; flatParts: number; doublingEvery: number }): PartSizePolicy {
  if (options.base < MIN_PART_SIZE) throw new RangeError(`part size ${options.base} is below S3's 5 MiB minimum`);
  return {
    sizeOf(partNumber) {
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
        throw new RangeError(`part number ${partNumber} is outside 1-${MAX_PARTS}`);
      }
      const doublings = Math.max(0, Math.ceil((partNumber - options.flatParts) / options.doublingEvery));
      return Math.min(options.base * 2 ** doublings, MAX_PART_SIZE);
    },
  };
}

/**
 * Part sizes when `streams` objects upload at once (parallel dumps). Each stream holds up to three parts
 * (two uploading, one filling), so together they hold about what one stream does: a part is 16 MiB / streams,
 * at least S3's 5 MiB. At 5 MiB the schedule still holds about 2.4 TiB per stream.
 */
export function partSizesForStreams(streams: number): PartSizePolicy {
  if (streams <= 1) return DEFAULT_PART_SIZES;
  const base = Math.max(MIN_PART_SIZE, Math.floor(16 / streams) * MiB);
  return growingPartSizes({ base, flatParts: 2_000, doublingEvery: 1_000 });
}

/** A fixed size, for tests and for callers who know their dump's size. */
export function fixedPartSize(size: number): PartSizePolicy {
  if (size < MIN_PART_SIZE || size > MAX_PART_SIZE) throw new RangeError(`part size ${size} is outside S3's 5 MiB - 5 GiB`);
  return { sizeOf: () => size };
}

/** How many bytes fit in `MAX_PARTS` parts under a policy. */
export function capacityOf(policy: PartSizePolicy): number {
  let total = 0;
  for (let part = 1; part <= MAX_PARTS; part++) total += policy.sizeOf(part);
  return total;
}
