/**
 * The one registry of version schemes, by scheme name. Which ecosystem uses which scheme is the
 * ecosystem table's to say (shared/ecosystems.ts, `schemeFor`): a scheme named there that is
 * not here does not compile.
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

export const SCHEMES = {
  apk,
  dpkg,
  rpm,
  npm,
  crates,
  go,
  pypi,
  maven,
  rubygems,
  nuget,
  packagist,
} as const satisfies Record<string, VersionScheme>;

export type SchemeName = keyof typeof SCHEMES;

export { InvalidVersionError, type Ordering, type VersionScheme } from './types.js';
