/**
 * SemVer 2.0 (https://semver.org) through `semver`, npm's reference implementation: npm and
 * crates.io versions, and npm range syntax for advisories that carry ranges.
 */
import semverLib from 'semver';
import { memoize } from './memo.js';
import { InvalidVersionError, type Ordering, type VersionScheme } from './types.js';

function strict(scheme: string, version: string): string {
  const parsed = semverLib.valid(version, { loose: false });
  if (parsed === null) throw new InvalidVersionError(scheme, version, 'not a SemVer 2.0 version');
  return parsed;
}

function semverScheme(name: string): VersionScheme {
  const parse = memoize((v: string) => new semverLib.SemVer(strict(name, v)));
  return {
    name,
    compare: (a, b) => parse(a).compare(parse(b)) as Ordering,
    valid: (v) => semverLib.valid(v, { loose: false }) !== null,
  };
}

export const npm = semverScheme('npm');
export const crates = semverScheme('crates.io');

/**
 * Whether `version` is in an npm range (`>=1.2.3 <2 || 3.x`); prereleases match only ranges
 * that name a prerelease of the same version, unless `includePrerelease` is set.
 */
export function npmSatisfies(
  version: string,
  range: string,
  options: semverLib.RangeOptions = {},
): boolean {
  if (semverLib.validRange(range, options) === null)
    throw new InvalidVersionError('npm', range, 'not an npm version range');
  return semverLib.satisfies(version, range, options);
}
