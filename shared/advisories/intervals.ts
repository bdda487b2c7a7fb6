/**
 * Version intervals, and their conversion to OSV range events. Formats that state ranges as
 * requirement strings (RubySec, npm's legacy advisories) are converted through this.
 * OSV has no event for "everything above v, v excluded"; such a start is written as
 * `introduced: v`, which also flags v itself, and reported, so it is never silent.
 */
import type { VersionScheme } from '../versions/index.js';
import type { OsvEvent } from './osv.js';

export interface Bound {
  readonly version: string;
  readonly inclusive: boolean;
}

/** From `lo` to `hi`; an absent bound is unbounded on that side. */
export interface Interval {
  readonly lo?: Bound;
  readonly hi?: Bound;
}

function compareLo(s: VersionScheme, a: Bound | undefined, b: Bound | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  return (
    s.compare(a.version, b.version) || (a.inclusive === b.inclusive ? 0 : a.inclusive ? -1 : 1)
  );
}

function compareHi(s: VersionScheme, a: Bound | undefined, b: Bound | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  return (
    s.compare(a.version, b.version) || (a.inclusive === b.inclusive ? 0 : a.inclusive ? 1 : -1)
  );
}

/** The intersection of intervals, or undefined when it is empty. */
export function intersect(s: VersionScheme, intervals: readonly Interval[]): Interval | undefined {
  let lo: Bound | undefined;
  let hi: Bound | undefined;
  for (const i of intervals) {
    if (compareLo(s, i.lo, lo) > 0) lo = i.lo;
    if (compareHi(s, i.hi, hi) < 0) hi = i.hi;
  }
  if (lo !== undefined && hi !== undefined) {
    const c = s.compare(lo.version, hi.version);
    if (c > 0 || (c === 0 && !(lo.inclusive && hi.inclusive))) return undefined;
  }
  return { ...(lo === undefined ? {} : { lo }), ...(hi === undefined ? {} : { hi }) };
}

/** Sorts and merges overlapping or touching intervals. */
export function union(s: VersionScheme, intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => compareLo(s, a.lo, b.lo));
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    const touches =
      last !== undefined &&
      (last.hi === undefined ||
        i.lo === undefined ||
        (() => {
          const c = s.compare(i.lo.version, last.hi.version);
          return c < 0 || (c === 0 && (i.lo.inclusive || last.hi.inclusive));
        })());
    if (last !== undefined && touches) {
      out[out.length - 1] = {
        ...(last.lo === undefined ? {} : { lo: last.lo }),
        ...(compareHi(s, i.hi, last.hi) > 0
          ? i.hi === undefined
            ? {}
            : { hi: i.hi }
          : last.hi === undefined
            ? {}
            : { hi: last.hi }),
      };
    } else {
      out.push(i);
    }
  }
  return out;
}

/** Every version not in `intervals`. */
export function complement(s: VersionScheme, intervals: readonly Interval[]): Interval[] {
  const merged = union(s, intervals);
  const out: Interval[] = [];
  let start: Bound | undefined;
  let open = true;
  for (const i of merged) {
    if (i.lo !== undefined) {
      const hi = { version: i.lo.version, inclusive: !i.lo.inclusive };
      out.push({ ...(start === undefined ? {} : { lo: start }), hi });
    }
    if (i.hi === undefined) {
      open = false;
      break;
    }
    start = { version: i.hi.version, inclusive: !i.hi.inclusive };
  }
  if (open) out.push(start === undefined ? {} : { lo: start });
  return out.filter((i) => intersect(s, [i]) !== undefined);
}

/**
 * OSV events for a union of intervals; `approximations` lists the exclusive starts written
 * inclusively. Two intervals separated by one excluded version (`<x` then `>x`) become one, so
 * that no `fixed: x` and `introduced: x` pair leaves the order of equal events to chance.
 */
export function toEvents(
  s: VersionScheme,
  intervals: readonly Interval[],
): { events: OsvEvent[]; approximations: string[] } {
  const merged: Interval[] = [];
  const approximations: string[] = [];
  for (const i of union(s, intervals)) {
    const last = merged[merged.length - 1];
    if (
      last?.hi !== undefined &&
      !last.hi.inclusive &&
      i.lo !== undefined &&
      !i.lo.inclusive &&
      s.compare(last.hi.version, i.lo.version) === 0
    ) {
      merged[merged.length - 1] = {
        ...(last.lo === undefined ? {} : { lo: last.lo }),
        ...(i.hi === undefined ? {} : { hi: i.hi }),
      };
      approximations.push(`>${i.lo.version} written as >=${i.lo.version}`);
      continue;
    }
    merged.push(i);
  }
  const events: OsvEvent[] = [];
  for (const i of merged) {
    if (i.lo === undefined) events.push({ introduced: '0' });
    else {
      events.push({ introduced: i.lo.version });
      if (!i.lo.inclusive) approximations.push(`>${i.lo.version} written as >=${i.lo.version}`);
    }
    if (i.hi !== undefined)
      events.push(i.hi.inclusive ? { last_affected: i.hi.version } : { fixed: i.hi.version });
  }
  return { events, approximations };
}
