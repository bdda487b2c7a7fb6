/** The middle of the runs (the upper middle for an even count): what the benchmarks report. */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
