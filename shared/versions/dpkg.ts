/**
 * Debian package versions: `[epoch:]upstream[-revision]`, compared as deb-version(7) says and
 * dpkg implements (lib/dpkg/version.c): epochs numerically, then upstream and revision by
 * alternating non-digit and digit runs, where `~` sorts before everything, even the end.
 * https://www.debian.org/doc/debian-policy/ch-controlfields.html#version
 */
import { memoize } from './memo.js';
import { InvalidVersionError, type Ordering, sign, type VersionScheme, validBy } from './types.js';

export interface DpkgVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
}

export function parseDpkg(version: string): DpkgVersion {
  const v = version.trim();
  if (v === '') throw new InvalidVersionError('dpkg', version, 'empty');
  if (/\s/.test(v)) throw new InvalidVersionError('dpkg', version, 'contains whitespace');
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new InvalidVersionError('dpkg', version, 'epoch is not a number');
    epoch = Number(e);
    if (!Number.isSafeInteger(epoch) || epoch > 2147483647)
      throw new InvalidVersionError('dpkg', version, 'epoch is too big');
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '') throw new InvalidVersionError('dpkg', version, 'upstream version is empty');
  if (dash >= 0 && revision === '')
    throw new InvalidVersionError('dpkg', version, 'revision is empty');
  // dpkg only warns about other characters and a non-digit start; it still compares them.
  return { epoch, upstream, revision };
}

/** Sort weight of one character of a non-digit run: `~` first, then end, letters, the rest. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(i < a.length && !isDigit(a[i]) ? a[i] : undefined);
      const bc = order(j < b.length && !isDigit(b[j]) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = (a.charCodeAt(i) as number) - (b.charCodeAt(j) as number);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export function compareDpkg(a: DpkgVersion, b: DpkgVersion): Ordering {
  if (a.epoch !== b.epoch) return sign(a.epoch - b.epoch);
  const up = verrevcmp(a.upstream, b.upstream);
  if (up !== 0) return sign(up);
  return sign(verrevcmp(a.revision, b.revision));
}

const parseCached = memoize(parseDpkg);

export const dpkg: VersionScheme = {
  name: 'dpkg',
  compare: (a, b) => compareDpkg(parseCached(a), parseCached(b)),
  valid: validBy(parseDpkg),
};
