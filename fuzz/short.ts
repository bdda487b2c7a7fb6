/** The short pass CI runs: one fixed seed, each target's own case budget. */
import type { FuzzTarget } from './targets.js';

/** Fixed so that CI runs the same cases every time (issue 17). */
export const SHORT_SEED = 17;

/** BOSUN_FUZZ_SHORT_SCALE scales every budget (0.5 on a slow machine, 4 for a longer local pass). */
export function shortCases(target: FuzzTarget): number {
  const scale = Number(process.env.BOSUN_FUZZ_SHORT_SCALE ?? '1');
  return Math.max(1, Math.round(target.shortCases * (Number.isFinite(scale) ? scale : 1)));
}
