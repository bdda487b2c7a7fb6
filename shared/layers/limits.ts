/** Bounds on what reading one layer may cost; every one of them is a typed error when crossed. */
export interface LayerLimits {
  /** Largest file whose content is read for an extractor. */
  readonly maxFileBytes: number;
  /** Decompressed bytes of one layer. */
  readonly maxLayerBytes: number;
  /** Decompressed over compressed size; past `ratioFloorBytes`, more is a decompression bomb. */
  readonly maxCompressionRatio: number;
  readonly ratioFloorBytes: number;
  /** Tar entries of one layer. */
  readonly maxEntries: number;
  /** Bytes of file content kept in memory for one layer. */
  readonly maxReadBytesPerLayer: number;
  /**
   * Work budgets of one image, all layers and every archive in them together (budget.ts): one
   * crossed ends the reading, what was read is kept and the inventory is marked incomplete.
   * Decompressed bytes of all layers.
   */
  readonly maxImageDecompressedBytes: number;
  /** Bytes inflated out of archives (jar entries) by extractors, over all archives of the image. */
  readonly maxImageInflatedBytes: number;
  /** Tar entries of all layers. */
  readonly maxImageEntries: number;
  /** Wall time of reading the image's layers, from the first layer opened. */
  readonly maxImageMillis: number;
}

/** The limits that bound one image as a whole, not what one layer yields (not in cache keys). */
export const IMAGE_BUDGET_LIMITS = [
  'maxImageDecompressedBytes',
  'maxImageInflatedBytes',
  'maxImageEntries',
  'maxImageMillis',
] as const satisfies readonly (keyof LayerLimits)[];

export const DEFAULT_LIMITS: LayerLimits = {
  maxFileBytes: 64 * 1024 * 1024,
  maxLayerBytes: 32 * 1024 * 1024 * 1024,
  // Real layers stay well under 20:1. Zeros compress about 1000:1 with gzip, and real layers
  // hold zero-filled files (a sparse lastlog): all-zero blocks are left out of the ratio
  // (reader.ts) and bounded by the byte budgets instead.
  maxCompressionRatio: 100,
  ratioFloorBytes: 64 * 1024 * 1024,
  maxEntries: 2_000_000,
  maxReadBytesPerLayer: 128 * 1024 * 1024,
  // About a minute of gunzip at a few hundred MB/s; the largest real images (CUDA, PyTorch)
  // are 10-20 GB unpacked.
  maxImageDecompressedBytes: 24 * 1024 * 1024 * 1024,
  // Twice what one jar alone could inflate before (512 MiB): a fat jar's nested jars and
  // every pom.properties of an application server take far less.
  maxImageInflatedBytes: 1024 * 1024 * 1024,
  // Large real images (CUDA, PyTorch, node monorepos) have a few hundred thousand entries.
  maxImageEntries: 500_000,
  // The scan function's default timeout is 5 minutes (infra/constructs/validate-props.ts):
  // matching and storing need the rest, and a scan must end before Lambda ends it.
  maxImageMillis: 180_000,
};

/**
 * The wall-time budget of reading one image when `remainingMs` is all the time left (a Lambda
 * invocation's remaining time): the default, or two thirds of what is left, so that matching
 * and storing still end, with the reason recorded, before Lambda stops the scan (a scanTimeout
 * shorter than the default leaves less); never under 5 s.
 */
export function readingMillisWithin(remainingMs: number): number {
  return Math.max(
    5_000,
    Math.min(DEFAULT_LIMITS.maxImageMillis, Math.floor((remainingMs * 2) / 3)),
  );
}
