/**
 * RubyGems versions, ordered as Gem::Version#<=> does (rubygems/version.rb): `-` means
 * `.pre.`, segments are runs of digits (compared as integers of any size) or letters (a
 * prerelease, older than any number), and trailing zeros of each part do not count.
 * Requirement strings (`~> 6.1.7, >= 6.1.7.1`) become version intervals where advisories are
 * imported (advisories/importers/rubysec.ts). https://guides.rubygems.org/patterns/#semantic-versioning
 */
import { InvalidVersionError, type Ordering, type VersionScheme, validBy } from './types.js';

const VERSION = /^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*$/;

type Segment = bigint | string;

export function gemSegments(version: string): Segment[] {
  if (!VERSION.test(version) || version.trim() === '')
    throw new InvalidVersionError('RubyGems', version, 'not a Gem::Version');
  const segments: Segment[] = (
    version
      .trim()
      .replaceAll('-', '.pre.')
      .match(/[0-9]+|[a-z]+/gi) ?? []
  ).map((s) => (/^\d+$/.test(s) ? BigInt(s) : s));
  const firstString = segments.findIndex((s) => typeof s === 'string');
  const numeric = firstString < 0 ? segments : segments.slice(0, firstString);
  const rest = firstString < 0 ? [] : segments.slice(firstString);
  const trim = (xs: Segment[]) => {
    const out = [...xs];
    while (out.length > 0 && out[out.length - 1] === 0n) out.pop();
    return out;
  };
  return [...trim(numeric), ...trim(rest)];
}

export function compareGem(a: string, b: string): Ordering {
  const l = gemSegments(a);
  const r = gemSegments(b);
  for (let i = 0; i < Math.max(l.length, r.length); i++) {
    const x = l[i] ?? 0n;
    const y = r[i] ?? 0n;
    if (x === y) continue;
    if (typeof x === 'string' && typeof y === 'bigint') return -1;
    if (typeof x === 'bigint' && typeof y === 'string') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export const rubygems: VersionScheme = {
  name: 'RubyGems',
  compare: compareGem,
  valid: validBy(gemSegments),
};
