/**
 * What counts as a finding: a throw that is not one of the target's typed errors, or a result
 * that breaks the target's invariants. A typed error (a BosunError, a parser's own error class)
 * is the parser saying "this input is not valid", which is the right answer to most mutations.
 */
import type { Seed } from './seeds.js';
import { type FuzzTarget, TARGETS } from './targets.js';

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined)
    throw new Error(`no fuzz target ${name}; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

export async function loadSeeds(target: FuzzTarget): Promise<Seed[]> {
  const seeds = await target.seeds();
  if (seeds.length === 0) throw new Error(`fuzz target ${target.name} has no seed`);
  return seeds;
}

export interface Finding {
  readonly kind: 'exception' | 'invariant';
  /** The error's class and message, or the broken invariants. */
  readonly error: string;
  readonly stack: string;
}

export async function classify(target: FuzzTarget, input: Buffer): Promise<Finding | undefined> {
  let result: unknown;
  try {
    result = await target.run(input);
  } catch (error) {
    if (error instanceof Error && target.allowed.some((c) => error instanceof c)) return undefined;
    const e = error instanceof Error ? error : new Error(`non-Error thrown: ${String(error)}`);
    return {
      kind: 'exception',
      error: `${e.name}: ${e.message}`.slice(0, 500),
      stack: e.stack ?? '',
    };
  }
  let broken: string[];
  try {
    broken = target.check?.(result) ?? [];
  } catch (error) {
    broken = [`the invariant check threw: ${(error as Error).message}`];
  }
  if (broken.length === 0) return undefined;
  return { kind: 'invariant', error: [...new Set(broken)].slice(0, 5).join('; '), stack: '' };
}
