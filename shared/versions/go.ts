/**
 * Go module versions, as golang.org/x/mod/semver orders them: SemVer with a `v` (which OSV
 * omits, so it is optional here), `vMAJOR` and `vMAJOR.MINOR` shorthands, build metadata such
 * as `+incompatible` ignored, and pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`)
 * ordered as the prereleases they are. https://go.dev/ref/mod#versions
 */
import semverLib from 'semver';
import { memoize } from './memo.js';
import { InvalidVersionError, type Ordering, type VersionScheme, validBy } from './types.js';

const GO_SEMVER =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$/;

/** The canonical `vX.Y.Z[-pre]` form, as semver.Canonical returns it. */
export function goCanonical(version: string): string {
  const m = GO_SEMVER.exec(version);
  if (m === null)
    throw new InvalidVersionError(
      'Go',
      version,
      'not a Go module version (vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]])',
    );
  const [, major, minor, patch, pre] = m;
  // Numeric prerelease identifiers must not have leading zeros (SemVer 2.0, item 9).
  if (
    pre
      ?.slice(1)
      .split('.')
      .some((id) => /^0\d+$/.test(id))
  ) {
    throw new InvalidVersionError(
      'Go',
      version,
      'numeric prerelease identifier with a leading zero',
    );
  }
  return `v${major}.${minor ?? '0'}.${patch ?? '0'}${pre ?? ''}`;
}

const parse = memoize((v: string) => new semverLib.SemVer(goCanonical(v).slice(1)));

export const go: VersionScheme = {
  name: 'Go',
  compare: (a, b) => parse(a).compare(parse(b)) as Ordering,
  valid: validBy(goCanonical),
};
