/**
 * RPM versions `[epoch:]version[-release]`, compared with rpmvercmp (rpm's lib/rpmvercmp.c):
 * alphanumeric runs compared in turn, digits numerically and above letters, `~` sorting before
 * everything (pre-releases) and `^` after the end of the other version but before anything
 * else (post-release snapshots). Epochs compare first; a missing epoch is 0.
 * https://rpm-software-management.github.io/rpm/manual/dependencies.html#versioning
 */
import { memoize } from './memo.js';
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

// Character classes by code, without regular expressions: this is the matcher's hot loop.
const isDigitCode = (c: number) => c >= 48 && c <= 57;
const isAlphaCode = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const la = a.length;
  const lb = b.length;
  while (i < la || j < lb) {
    while (
      i < la &&
      !isDigitCode(a.charCodeAt(i)) &&
      !isAlphaCode(a.charCodeAt(i)) &&
      a.charCodeAt(i) !== TILDE &&
      a.charCodeAt(i) !== CARET
    )
      i++;
    while (
      j < lb &&
      !isDigitCode(b.charCodeAt(j)) &&
      !isAlphaCode(b.charCodeAt(j)) &&
      b.charCodeAt(j) !== TILDE &&
      b.charCodeAt(j) !== CARET
    )
      j++;
    const ca = i < la ? a.charCodeAt(i) : -1;
    const cb = j < lb ? b.charCodeAt(j) : -1;
    // Tilde: whichever has it is older, even than the end of the other string.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // Caret: newer than the end of the other string, older than anything else there.
    if (ca === CARET || cb === CARET) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < la && j < lb)) break;
    const numeric = isDigitCode(ca);
    const inSegment = numeric ? isDigitCode : isAlphaCode;
    let ie = i;
    while (ie < la && inSegment(a.charCodeAt(ie))) ie++;
    let je = j;
    while (je < lb && inSegment(b.charCodeAt(je))) je++;
    // Segments of different kinds: a number is newer than letters.
    if (je === j) return numeric ? 1 : -1;
    let si = i;
    let sj = j;
    if (numeric) {
      while (si < ie - 1 && a.charCodeAt(si) === 48) si++;
      while (sj < je - 1 && b.charCodeAt(sj) === 48) sj++;
      if (ie - si !== je - sj) return ie - si > je - sj ? 1 : -1;
    }
    const sa = a.slice(si, ie);
    const sb = b.slice(sj, je);
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ie;
    j = je;
  }
  if (i >= la && j >= lb) return 0;
  // The one with segments left is newer.
  return i >= la ? -1 : 1;
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

const parseCached = memoize(parseRpm);

export const rpm: VersionScheme = {
  name: 'rpm',
  compare: (a, b) => (a === b ? 0 : compareRpm(parseCached(a), parseCached(b))),
  valid: validBy(parseRpm),
};
