/**
 * Composer (Packagist) versions, ordered as osv.dev does: a leading `v` dropped, then PHP's
 * version_compare (https://www.php.net/manual/en/function.version-compare.php): every character
 * that is not a letter or digit becomes `.`, letters and digits are split apart, numbers compare numerically, and
 * dev < alpha = a < beta = b < RC = rc < (number) < pl = p; any other word sorts before dev.
 */
import { InvalidVersionError, type Ordering, type VersionScheme } from './types.js';

// Matched by prefix, in this order, as PHP's compare_special_version_forms does: `patch` is `p`.
const SPECIAL: readonly [string, number][] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];
const NUMBER_ORDER = 4;

export function canonicalPhpVersion(version: string): string[] {
  const v = version.trim().replace(/^[vV]/, '');
  if (v === '') throw new InvalidVersionError('Packagist', version, 'empty');
  return v
    .replace(/[^0-9A-Za-z]/g, '.')
    .replace(/(\d)(?=[^\d.])/g, '$1.')
    .replace(/([^\d.])(?=\d)/g, '$1.')
    .split('.')
    .filter((p) => p !== '');
}

const isNumber = (p: string) => /^\d+$/.test(p);
const special = (p: string) => SPECIAL.find(([name]) => p.startsWith(name))?.[1] ?? -1;

function comparePart(a: string, b: string): Ordering {
  if (isNumber(a) && isNumber(b)) {
    const x = a.replace(/^0+/, '');
    const y = b.replace(/^0+/, '');
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    return x === y ? 0 : x < y ? -1 : 1;
  }
  const x = isNumber(a) ? NUMBER_ORDER : special(a);
  const y = isNumber(b) ? NUMBER_ORDER : special(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

export function comparePhp(a: string, b: string): Ordering {
  const pa = canonicalPhpVersion(a);
  const pb = canonicalPhpVersion(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return isNumber(y as string) ? -1 : comparePart('#', y as string);
    if (y === undefined) return isNumber(x) ? 1 : comparePart(x, '#');
    const r = comparePart(x, y);
    if (r !== 0) return r;
  }
  return 0;
}

export const packagist: VersionScheme = {
  name: 'Packagist',
  compare: comparePhp,
  valid: (v) => v.trim().replace(/^[vV]/, '') !== '',
};
