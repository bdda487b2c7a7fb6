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
}

export const DEFAULT_LIMITS: LayerLimits = {
  maxFileBytes: 64 * 1024 * 1024,
  maxLayerBytes: 32 * 1024 * 1024 * 1024,
  // Real layers stay well under 20:1; zeros compress about 1000:1 with gzip.
  maxCompressionRatio: 100,
  ratioFloorBytes: 64 * 1024 * 1024,
  maxEntries: 2_000_000,
  maxReadBytesPerLayer: 128 * 1024 * 1024,
};
