/**
 * RPM versions `[epoch:]version[-release]`, compared with rpmvercmp (rpm's lib/rpmvercmp.c):
 * alphanumeric runs compared in turn, digits numerically and above letters, `~` sorting before
 * everything (pre-releases) and `^` after the end of the other version but before anything
 * else (post-release snapshots). Epochs compare first; a missing epoch is 0.
 * https://rpm-software-management.github.io/rpm/manual/dependencies.html#versioning
 */
import { InvalidVersionError, type Ordering, type VersionScheme, validBy } from './types.js';

export interface RpmVersion {
  /** Compared with rpmvercmp, as osv-scalibr does: numeric epochs order numerically. */
  readonly epoch: string;
  readonly version: string;
  /** Undefined when there is no `-` at all: `1` sorts before `1-` and `1-0`. */
  readonly release: string | undefined;
}

export function parseRpm(evr: string): RpmVersion {
  const v = evr.trim();
  if (v === '') throw new InvalidVersionError('rpm', evr, 'empty');
  let epoch = '0';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    epoch = v.slice(0, colon) || '0';
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const version = dash >= 0 ? rest.slice(0, dash) : rest;
  const release = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (version === '') throw new InvalidVersionError('rpm', evr, 'version is empty');
  return { epoch, version, release };
}

const isAlnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    // Tilde: whichever has it is older, even than the end of the other string.
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // Caret: newer than the end of the other string, older than anything else there.
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    const numeric = isDigit(a[i]);
    const take = (s: string, k: number) => {
      let e = k;
      while (e < s.length && (numeric ? isDigit(s[e]) : /[A-Za-z]/.test(s[e] as string))) e++;
      return e;
    };
    const ie = take(a, i);
    const je = take(b, j);
    let sa = a.slice(i, ie);
    let sb = b.slice(j, je);
    i = ie;
    j = je;
    // Segments of different kinds: a number is newer than letters.
    if (sb === '') return numeric ? 1 : -1;
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  // The one with segments left is newer.
  return i >= a.length ? -1 : 1;
}

export function compareRpm(a: RpmVersion, b: RpmVersion): Ordering {
  const e = rpmvercmp(a.epoch, b.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined || b.release === undefined) {
    return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  }
  return rpmvercmp(a.release, b.release);
}

export const rpm: VersionScheme = {
  name: 'rpm',
  compare: (a, b) => compareRpm(parseRpm(a), parseRpm(b)),
  valid: validBy(parseRpm),
};
