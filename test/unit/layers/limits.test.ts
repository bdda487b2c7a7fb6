import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, readingMillisWithin } from '../../../shared/layers/limits.js';

describe('the reading budget within a Lambda invocation', () => {
  it('keeps the default when there is time, and a third of what is left for matching and storing when not', () => {
    // The scan function's default timeout (5 minutes): the default budget, 3 minutes.
    expect(readingMillisWithin(300_000)).toBe(DEFAULT_LIMITS.maxImageMillis);
    // A one-minute scanTimeout: 40 s to read, 20 s to match and store.
    expect(readingMillisWithin(60_000)).toBe(40_000);
    // Never so little that nothing can be read.
    expect(readingMillisWithin(1_000)).toBe(5_000);
  });
});
