/**
 * The work one image may cost, over all its layers and every archive inside them: decompressed
 * bytes, tar entries, bytes inflated out of archives, and wall time. Per-file and per-layer
 * limits alone let an image multiply them (ten jars each at the per-jar cap took 43 s, issue
 * 17 #3). The first budget crossed is kept; reading stops there, what was read is still
 * reported, and the inventory says it is incomplete and why.
 */
import { BudgetExceededError } from './errors.js';
import { DEFAULT_LIMITS, type LayerLimits } from './limits.js';

export class ImageBudget {
  private decompressed = 0;
  private inflated = 0;
  private entryCount = 0;
  private readonly limits: LayerLimits;
  readonly deadline: number;
  /** The first budget crossed; nothing more is read once it is set. */
  exceeded: BudgetExceededError | undefined;

  constructor(
    limits: Partial<LayerLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.deadline = now() + this.limits.maxImageMillis;
  }

  private exceed(message: string): BudgetExceededError {
    this.exceeded ??= new BudgetExceededError(message);
    return this.exceeded;
  }

  /** The budget error once any budget is crossed, checking the clock too. */
  check(): BudgetExceededError | undefined {
    if (this.exceeded === undefined && this.now() > this.deadline)
      this.exceed(
        `the image took more than ${this.limits.maxImageMillis} ms to read; reading stopped`,
      );
    return this.exceeded;
  }

  /** Milliseconds left before the deadline. */
  remainingMs(): number {
    return Math.max(0, this.deadline - this.now());
  }

  /** Counts decompressed layer bytes. */
  decompress(bytes: number): BudgetExceededError | undefined {
    this.decompressed += bytes;
    if (this.decompressed > this.limits.maxImageDecompressedBytes)
      return this.exceed(
        `the image decompresses to more than ${this.limits.maxImageDecompressedBytes} bytes; reading stopped`,
      );
    return this.check();
  }

  /** Counts one tar entry. */
  entry(): BudgetExceededError | undefined {
    if (++this.entryCount > this.limits.maxImageEntries)
      return this.exceed(
        `the image has more than ${this.limits.maxImageEntries} entries; reading stopped`,
      );
    return this.check();
  }

  /**
   * Claims `bytes` to inflate out of an archive: false, with the budget marked exceeded, when
   * the image has no more (an extractor's ExtractBudget).
   */
  inflate(bytes: number): boolean {
    if (this.check() !== undefined) return false;
    if (this.inflated + bytes > this.limits.maxImageInflatedBytes) {
      this.exceed(
        `archives in the image inflate to more than ${this.limits.maxImageInflatedBytes} bytes; the rest of them was not read`,
      );
      return false;
    }
    this.inflated += bytes;
    return true;
  }
}
