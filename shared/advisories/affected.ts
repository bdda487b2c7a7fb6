/**
 * Whether a version is affected by an OSV `affected` entry, as the OSV spec evaluates ranges:
 * https://ossf.github.io/osv-schema/#evaluation
 * Pure: no I/O, one version scheme. Unorderable versions raise InvalidVersionError, which the
 * matcher records; they never count as "not affected" silently.
 */
import type { Ordering, VersionScheme } from '../versions/index.js';
import type { OsvAffected, OsvEvent, OsvRange } from './osv.js';

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

function kindOf(e: OsvEvent): [Kind, string] {
  if ('introduced' in e) return ['introduced', e.introduced];
  if ('fixed' in e) return ['fixed', e.fixed];
  if ('last_affected' in e) return ['last_affected', e.last_affected];
  return ['limit', e.limit];
}

/** "0" is the start of time in every scheme. */
function compareEventVersion(scheme: VersionScheme, a: string, b: string): Ordering {
  if (a === b) return 0;
  if (a === '0') return -1;
  if (b === '0') return 1;
  return scheme.compare(a, b);
}

const KIND_ORDER: Record<Kind, number> = { introduced: 0, fixed: 1, last_affected: 2, limit: 3 };

/** One ECOSYSTEM or SEMVER range: events in version order, the state after the last one passed. */
export function inRange(version: string, range: OsvRange, scheme: VersionScheme): boolean {
  const events = range.events
    .map(kindOf)
    .sort(
      ([ka, va], [kb, vb]) =>
        compareEventVersion(scheme, va, vb) || KIND_ORDER[ka] - KIND_ORDER[kb],
    );
  for (const [kind, v] of events) {
    if (kind === 'limit' && v !== '*' && scheme.compare(version, v) >= 0) return false;
  }
  let affected = false;
  for (const [kind, v] of events) {
    if (kind === 'introduced') {
      if (v === '0' || scheme.compare(version, v) >= 0) affected = true;
    } else if (kind === 'fixed') {
      if (scheme.compare(version, v) >= 0) affected = false;
    } else if (kind === 'last_affected') {
      if (scheme.compare(version, v) > 0) affected = false;
    }
  }
  return affected;
}

/**
 * True when `version` is listed in `versions` or lies in an ECOSYSTEM or SEMVER range. GIT
 * ranges name commits, not versions; their effect is carried by the `versions` list.
 */
// `versions` lists run to hundreds of entries (PyPA enumerates every release): a set each, once.
const listed = new WeakMap<OsvAffected, ReadonlySet<string>>();

function listedVersions(affected: OsvAffected): ReadonlySet<string> {
  let set = listed.get(affected);
  if (set === undefined) {
    set = new Set(affected.versions ?? []);
    listed.set(affected, set);
  }
  return set;
}

export function isAffected(version: string, affected: OsvAffected, scheme: VersionScheme): boolean {
  if (affected.versions !== undefined && listedVersions(affected).has(version)) return true;
  return (affected.ranges ?? []).some((r) => r.type !== 'GIT' && inRange(version, r, scheme));
}

/** The lowest `fixed` version above `version` in any range, for "fix available". */
export function nearestFix(
  version: string,
  affected: OsvAffected,
  scheme: VersionScheme,
): string | undefined {
  let best: string | undefined;
  for (const r of affected.ranges ?? []) {
    if (r.type === 'GIT') continue;
    for (const e of r.events) {
      if (!('fixed' in e)) continue;
      if (scheme.compare(e.fixed, version) <= 0) continue;
      if (best === undefined || scheme.compare(e.fixed, best) < 0) best = e.fixed;
    }
  }
  return best;
}
