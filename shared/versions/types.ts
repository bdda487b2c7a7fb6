import { BosunError } from '../errors.js';

export type Ordering = -1 | 0 | 1;

/** One ecosystem's version syntax and order. `compare` throws InvalidVersionError on bad input. */
export interface VersionScheme {
  readonly name: string;
  compare(a: string, b: string): Ordering;
  /** True when the scheme can order this version at all. */
  valid(version: string): boolean;
}

/** A version its scheme cannot parse; the scan records it as an issue and goes on. */
export class InvalidVersionError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly scheme: string,
    readonly version: string,
    reason: string,
  ) {
    super(`invalid ${scheme} version ${JSON.stringify(version)}: ${reason}`);
  }
}

export function sign(n: number): Ordering {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** `valid` for schemes whose parser throws InvalidVersionError. */
export function validBy(parse: (v: string) => unknown): (v: string) => boolean {
  return (v) => {
    try {
      parse(v);
      return true;
    } catch (error) {
      if (error instanceof InvalidVersionError) return false;
      throw error;
    }
  };
}
