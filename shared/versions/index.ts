/**
 * The one registry of version schemes, keyed by OSV ecosystem name (without the release
 * suffix: `Debian:12` is ordered by the `Debian` scheme). An ecosystem added to
 * `ECOSYSTEMS` without a scheme does not compile.
 * Ecosystem names: https://ossf.github.io/osv-schema/#defined-ecosystems
 */
import { apk } from './apk.js';
import { dpkg } from './dpkg.js';
import { go } from './go.js';
import { maven } from './maven.js';
import { nuget } from './nuget.js';
import { packagist } from './packagist.js';
import { pypi } from './pypi.js';
import { rpm } from './rpm.js';
import { rubygems } from './rubygems.js';
import { crates, npm } from './semver.js';
import type { VersionScheme } from './types.js';

export const ECOSYSTEMS = [
  'Alpine',
  'Debian',
  'Ubuntu',
  'AlmaLinux',
  'Rocky Linux',
  'Red Hat',
  'openSUSE',
  'SUSE',
  'Mariner',
  'npm',
  'crates.io',
  'Go',
  'PyPI',
  'Maven',
  'RubyGems',
  'NuGet',
  'Packagist',
] as const;

export type Ecosystem = (typeof ECOSYSTEMS)[number];

export const SCHEMES = {
  Alpine: apk,
  Debian: dpkg,
  Ubuntu: dpkg,
  AlmaLinux: rpm,
  'Rocky Linux': rpm,
  'Red Hat': rpm,
  openSUSE: rpm,
  SUSE: rpm,
  Mariner: rpm,
  npm,
  'crates.io': crates,
  Go: go,
  PyPI: pypi,
  Maven: maven,
  RubyGems: rubygems,
  NuGet: nuget,
  Packagist: packagist,
} as const satisfies Record<Ecosystem, VersionScheme>;

/** `Debian:12` → `Debian`; `Ubuntu:22.04:LTS` → `Ubuntu`. */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/** The scheme of an OSV ecosystem (release suffix allowed), or undefined when Bosun has none. */
export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const base = baseEcosystem(ecosystem);
  return (ECOSYSTEMS as readonly string[]).includes(base) ? SCHEMES[base as Ecosystem] : undefined;
}

export { InvalidVersionError, type Ordering, type VersionScheme } from './types.js';
