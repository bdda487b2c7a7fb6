/**
 * Debian's urgency for a CVE, as the matcher reads it from stored facts: the release table and
 * the look-up, apart from the tracker's importer (importers/debian-tracker.ts) so that matching
 * does not load the importer's schemas and the YAML parser behind them (issue 18).
 */
import type { DebianFacts } from './cve-facts.js';

/**
 * Debian release numbers to the codenames the tracker names releases by, for the releases it
 * tracks. 9 and 10 are as the tracker's own static/distributions.json has them; the others are
 * distro-info-data's debian.csv (https://salsa.debian.org/debian/distro-info-data/-/blob/main/debian.csv).
 * Unstable (`sid`) has no number.
 */
export const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  '7': 'wheezy',
  '8': 'jessie',
  '9': 'stretch',
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
};

/**
 * Debian's urgency for a CVE in one source package and release (`12`, or a codename such as
 * `sid`), without the `*`/`**` marks; undefined when the tracker has none, or `not yet assigned`.
 * `end-of-life` (no security support for the package in that release) is returned as it is.
 */
export function debianUrgency(
  facts: DebianFacts,
  sourcePackage: string,
  release: string,
): string | undefined {
  const codename = DEBIAN_CODENAMES[/^(\d+)/.exec(release)?.[1] ?? ''] ?? release;
  const releases = facts.packages[sourcePackage];
  if (releases === undefined || !Object.hasOwn(releases, codename)) return undefined;
  const urgency = releases[codename]?.urgency?.replace(/\*+$/, '');
  return urgency === undefined || urgency === '' || urgency === 'not yet assigned'
    ? undefined
    : urgency;
}
