/**
 * The one home of what Bosun knows about ecosystems. Versions, feeds, OS detection, inventory
 * and the matcher read these tables; nothing else guesses. docs/architecture.md says how to add
 * a family or an ecosystem, and test/unit/ecosystems.test.ts fails when the tables disagree.
 *
 * - ADVISORY_ECOSYSTEMS: the ecosystems advisories are published under (OSV's names,
 *   https://ossf.github.io/osv-schema/#defined-ecosystems, without the release suffix: `Debian:12`
 *   is the `Debian` ecosystem), each with its version scheme, whether it is a distribution's,
 *   and the feeds that fill it by default.
 * - OS_FAMILIES: each distribution family, how it is recognised, which package database holds
 *   its packages, and the advisory ecosystems those packages are matched against (a list: Red
 *   Hat publishes per repository) — or why there are none yet.
 * - LANGUAGE_ECOSYSTEMS: each language package type an extractor reports, its advisory
 *   ecosystem and PURL type.
 */
import { SCHEMES, type SchemeName, type VersionScheme } from './versions/index.js';

/**
 * The kinds of feed that fill an ecosystem: OSV's export, or a publisher's own format read by a
 * vendor source (shared/feeds/registry.ts has one source per kind and release).
 */
export type FeedKind =
  | 'osv'
  | 'alas'
  | 'redhat-vex'
  | 'azurelinux-oval'
  | 'oracle-oval'
  | 'photon'
  | 'secdb';

export interface AdvisoryEcosystem {
  readonly scheme: SchemeName;
  /** A distribution's ecosystem: it names source packages and backports fixes. */
  readonly distro: boolean;
  readonly defaultFeeds: readonly FeedKind[];
}

// Order matters only for the default feed list (it is written into the deployed template).
export const ADVISORY_ECOSYSTEMS = {
  Alpine: { scheme: 'apk', distro: true, defaultFeeds: ['osv'] },
  Debian: { scheme: 'dpkg', distro: true, defaultFeeds: ['osv'] },
  Ubuntu: { scheme: 'dpkg', distro: true, defaultFeeds: ['osv'] },
  AlmaLinux: { scheme: 'rpm', distro: true, defaultFeeds: ['osv'] },
  'Rocky Linux': { scheme: 'rpm', distro: true, defaultFeeds: ['osv'] },
  // Red Hat's OSV records (RHSA, fixed only) and its CSAF VEX documents (also unfixed and
  // will-not-fix), both in osv.dev's per-repository names (`Red Hat:enterprise_linux:9::baseos`).
  'Red Hat': { scheme: 'rpm', distro: true, defaultFeeds: ['osv', 'redhat-vex'] },
  openSUSE: { scheme: 'rpm', distro: true, defaultFeeds: ['osv'] },
  SUSE: { scheme: 'rpm', distro: true, defaultFeeds: ['osv'] },
  // osv.dev's names; filled from the publishers' own feeds (Microsoft's OVAL for Azure Linux and
  // CBL-Mariner, its former name; Photon's CVE metadata; the Wolfi and Chainguard secdb).
  'Azure Linux': { scheme: 'rpm', distro: true, defaultFeeds: ['azurelinux-oval'] },
  'Photon OS': { scheme: 'rpm', distro: true, defaultFeeds: ['photon'] },
  Wolfi: { scheme: 'apk', distro: true, defaultFeeds: ['osv', 'secdb'] },
  Chainguard: { scheme: 'apk', distro: true, defaultFeeds: ['osv', 'secdb'] },
  // Bosun's own name (osv.dev has no Oracle Linux): `Oracle Linux:8`, from Oracle's ELSA OVAL.
  'Oracle Linux': { scheme: 'rpm', distro: true, defaultFeeds: ['oracle-oval'] },
  // Bosun's own names (osv.dev has no Amazon Linux): `Amazon Linux:2`, `Amazon Linux:2023`;
  // filled from ALAS updateinfo (advisories/importers/alas.ts): the AL2 and AL2023 repositories
  // by default (feeds/sources/alas.ts), or files with `db sync --from`.
  'Amazon Linux': { scheme: 'rpm', distro: true, defaultFeeds: ['alas'] },
  npm: { scheme: 'npm', distro: false, defaultFeeds: ['osv'] },
  PyPI: { scheme: 'pypi', distro: false, defaultFeeds: ['osv'] },
  Go: { scheme: 'go', distro: false, defaultFeeds: ['osv'] },
  Maven: { scheme: 'maven', distro: false, defaultFeeds: ['osv'] },
  'crates.io': { scheme: 'crates', distro: false, defaultFeeds: ['osv'] },
  RubyGems: { scheme: 'rubygems', distro: false, defaultFeeds: ['osv'] },
  NuGet: { scheme: 'nuget', distro: false, defaultFeeds: ['osv'] },
  Packagist: { scheme: 'packagist', distro: false, defaultFeeds: ['osv'] },
} as const satisfies Record<string, AdvisoryEcosystem>;

export type Ecosystem = keyof typeof ADVISORY_ECOSYSTEMS;
export const ECOSYSTEMS = Object.keys(ADVISORY_ECOSYSTEMS) as Ecosystem[];

/** The OSV ecosystems synced when none are configured. */
export const DEFAULT_OSV_ECOSYSTEMS: readonly Ecosystem[] = ECOSYSTEMS.filter((e) =>
  (ADVISORY_ECOSYSTEMS[e].defaultFeeds as readonly FeedKind[]).includes('osv'),
);

/**
 * Every publisher's feed Bosun reads, as source ids (shared/feeds/registry.ts makes each a feed
 * source; `kind:release` for a feed per release). docs/feeds.md says where each comes from.
 */
export const VENDOR_SOURCES = [
  'alas:2',
  'alas:2023',
  'redhat-vex',
  'redhat-repository-to-cpe',
  'azurelinux-oval:1',
  'azurelinux-oval:2',
  'azurelinux-oval:3',
  'oracle-oval:7',
  'oracle-oval:8',
  'oracle-oval:9',
  'oracle-oval:10',
  'photon',
  'secdb:wolfi',
  'secdb:chainguard',
  // What rates and qualifies a CVE whatever advisory names it (shared/advisories/cve-facts.ts).
  'nvd',
  'kev',
  'epss',
  'debian-tracker',
] as const;

export type VendorSourceId = (typeof VENDOR_SOURCES)[number];

/**
 * The vendor feeds a deployment and `bosun db sync` read when none are configured: all of them
 * but CBL-Mariner 1.0's OVAL (the release reached its end of life in 2023).
 */
export const DEFAULT_VENDOR_SOURCES: readonly VendorSourceId[] = VENDOR_SOURCES.filter(
  (id) => id !== 'azurelinux-oval:1',
);

/**
 * The vendor source ids that fill an ecosystem (release suffix allowed): `Amazon Linux:2023` →
 * `alas:2023`, `Wolfi` → `secdb:wolfi`; [] for an ecosystem only OSV fills.
 */
export function vendorSourcesFor(ecosystem: string): string[] {
  const feeds: readonly FeedKind[] = advisoryEcosystem(ecosystem)?.defaultFeeds ?? [];
  const base = baseEcosystem(ecosystem);
  const release = base === ecosystem ? undefined : ecosystem.slice(base.length + 1);
  return feeds.flatMap((kind) => SOURCES_OF_FEED[kind](base, release));
}

/** A feed kind's source ids for an ecosystem (its base name and release). */
const SOURCES_OF_FEED: Record<FeedKind, (base: string, release?: string) => string[]> = {
  osv: () => [],
  alas: (_, release) => (release === undefined ? [] : [`alas:${release}`]),
  'azurelinux-oval': (_, release) => (release === undefined ? [] : [`azurelinux-oval:${release}`]),
  'oracle-oval': (_, release) => (release === undefined ? [] : [`oracle-oval:${release}`]),
  secdb: (base) => [`secdb:${base.toLowerCase()}`],
  photon: () => ['photon'],
  'redhat-vex': () => ['redhat-vex'],
};

/** `Debian:12` → `Debian`; `Ubuntu:22.04:LTS` → `Ubuntu`. */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

function advisoryEcosystem(ecosystem: string): AdvisoryEcosystem | undefined {
  const base = baseEcosystem(ecosystem);
  return Object.hasOwn(ADVISORY_ECOSYSTEMS, base)
    ? ADVISORY_ECOSYSTEMS[base as Ecosystem]
    : undefined;
}

/** The scheme of an ecosystem (release suffix allowed), or undefined when Bosun has none. */
export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const known = advisoryEcosystem(ecosystem);
  return known === undefined ? undefined : SCHEMES[known.scheme];
}

/** Whether a deployment and `bosun db sync` fill this ecosystem (release suffix allowed) by default. */
export function syncedByDefault(ecosystem: string): boolean {
  const feeds: readonly FeedKind[] = advisoryEcosystem(ecosystem)?.defaultFeeds ?? [];
  const defaults: readonly string[] = DEFAULT_VENDOR_SOURCES;
  return feeds.includes('osv') || vendorSourcesFor(ecosystem).some((id) => defaults.includes(id));
}

/** Whether an ecosystem (release suffix allowed) is a distribution's. */
export function isDistroEcosystem(ecosystem: string): boolean {
  return advisoryEcosystem(ecosystem)?.distro === true;
}

/** What an image's release files say (os-release fields, or a distro's own release file). */
export interface OsRelease {
  readonly id: string;
  readonly versionId?: string;
  /** os-release VERSION, e.g. `22.04.4 LTS (Jammy Jellyfish)`. */
  readonly version?: string;
}

/** Where a family's advisories come from: ecosystems for a release, or the reason there are none. */
export type AdvisorySource =
  | { readonly ecosystems: (release: OsRelease) => readonly string[] }
  | { readonly none: string };

export interface OsFamily {
  readonly name: string;
  /** os-release `ID` values of the family. */
  readonly osReleaseIds: readonly string[];
  /** A release file read when no os-release names the OS: its path and the version in it. */
  readonly releaseFile?: {
    readonly path: string;
    readonly versionId: (content: string) => string | undefined;
  };
  /** The package type (extractor output) of the family's own packages. */
  readonly packageType: 'deb' | 'apk' | 'rpm';
  readonly advisories: AdvisorySource;
}

/** `15.5` → `15 SP5`, `15` → `15`, `12.3` → `12 SP3`: how SUSE's product names write a release. */
function suseRelease(versionId: string): string | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(versionId);
  if (m === null) return undefined;
  return m[2] === undefined || m[2] === '0' ? (m[1] as string) : `${m[1]} SP${m[2]}`;
}

function suseEcosystems(r: OsRelease): string[] {
  const release = r.versionId === undefined ? undefined : suseRelease(r.versionId);
  if (release === undefined) return [];
  if (r.id === 'sle-micro') return [`SUSE:Linux Enterprise Micro ${r.versionId}`];
  return [
    `SUSE:Linux Enterprise Server ${release}`,
    `SUSE:Linux Enterprise Module for Basesystem ${release}`,
    `SUSE:Linux Enterprise Module for Server Applications ${release}`,
    // Long Term Service Pack Support: fixes after a service pack's general support ends,
    // published for subscribers only (reported as such: subscriptionOf).
    `SUSE:Linux Enterprise Server ${release}-LTSS`,
  ];
}

const major = (v: string | undefined) => /^(\d+)/.exec(v ?? '')?.[1];
/** One ecosystem per major release (`Debian:12`), none when the version is not numbered. */
const byMajor =
  (name: Ecosystem) =>
  (r: OsRelease): string[] =>
    major(r.versionId) === undefined ? [] : [`${name}:${major(r.versionId)}`];

// Release files are tried in this order when no os-release names the OS.
export const OS_FAMILIES: readonly OsFamily[] = [
  {
    name: 'Alpine',
    osReleaseIds: ['alpine'],
    releaseFile: { path: 'etc/alpine-release', versionId: (c) => c.trim() || undefined },
    packageType: 'apk',
    advisories: {
      ecosystems: (r) => {
        // edge carries the next release with a suffix (3.19_alpha20230901): no OSV ecosystem.
        const m = /^(\d+)\.(\d+)(?:\.\d+)*$/.exec(r.versionId ?? '');
        return m === null ? [] : [`Alpine:v${m[1]}.${m[2]}`];
      },
    },
  },
  {
    name: 'Debian',
    osReleaseIds: ['debian'],
    // `12.5` on a release, `bookworm/sid` on testing and unstable (no ecosystem).
    releaseFile: { path: 'etc/debian_version', versionId: (c) => c.trim() || undefined },
    packageType: 'deb',
    advisories: { ecosystems: byMajor('Debian') },
  },
  {
    name: 'Ubuntu',
    osReleaseIds: ['ubuntu'],
    packageType: 'deb',
    advisories: {
      // An LTS release is also matched against Ubuntu Pro's records (ESM): a fix published
      // only there is a fix, reported as such (`fixVia`), not "no fix".
      ecosystems: (r) =>
        r.versionId === undefined
          ? []
          : /LTS/.test(r.version ?? '')
            ? [`Ubuntu:${r.versionId}:LTS`, `Ubuntu:Pro:${r.versionId}:LTS`]
            : [`Ubuntu:${r.versionId}`],
    },
  },
  {
    name: 'AlmaLinux',
    osReleaseIds: ['almalinux'],
    packageType: 'rpm',
    advisories: { ecosystems: byMajor('AlmaLinux') },
  },
  {
    name: 'Rocky Linux',
    osReleaseIds: ['rocky'],
    packageType: 'rpm',
    advisories: { ecosystems: byMajor('Rocky Linux') },
  },
  {
    name: 'Red Hat Enterprise Linux',
    osReleaseIds: ['rhel'],
    packageType: 'rpm',
    advisories: {
      // Red Hat's OSV records and VEX documents name CPE-derived, per-repository ecosystems
      // (`cpe:/o:redhat:enterprise_linux:9::baseos` → `Red Hat:enterprise_linux:9::baseos`);
      // without a content manifest an image's packages come from the release's BaseOS and
      // AppStream. Red Hat states "affected, no fix" for the release as a whole
      // (`enterprise_linux:8`), and RHEL 10's AppStream is the minor release's
      // (`cpe:/o:redhat:enterprise_linux:10.0`).
      ecosystems: (r) => {
        const m = major(r.versionId);
        if (m === undefined) return [];
        const minor = /^\d+\.\d+$/.test(r.versionId ?? '') && Number(m) >= 10 ? [r.versionId] : [];
        return [
          `Red Hat:enterprise_linux:${m}::baseos`,
          `Red Hat:enterprise_linux:${m}::appstream`,
          `Red Hat:enterprise_linux:${m}`,
          ...minor.map((v) => `Red Hat:enterprise_linux:${v}`),
        ];
      },
    },
  },
  {
    name: 'Azure Linux',
    // CBL-Mariner was renamed Azure Linux with release 3.0; osv.dev and Bosun name both
    // `Azure Linux:<major>` (Microsoft's OVAL files: cbl-mariner-2.0, azurelinux-3.0).
    osReleaseIds: ['azurelinux', 'mariner'],
    packageType: 'rpm',
    advisories: { ecosystems: byMajor('Azure Linux') },
  },
  {
    name: 'Oracle Linux',
    osReleaseIds: ['ol'],
    packageType: 'rpm',
    advisories: { ecosystems: byMajor('Oracle Linux') },
  },
  {
    name: 'Photon OS',
    osReleaseIds: ['photon'],
    packageType: 'rpm',
    advisories: {
      // Photon names its releases `3.0`, `4.0`, `5.0`, and so does osv.dev (`Photon OS:3.0`).
      ecosystems: (r) => {
        const m = /^(\d+)(?:\.(\d+))?/.exec(r.versionId ?? '');
        return m === null ? [] : [`Photon OS:${m[1]}.${m[2] ?? '0'}`];
      },
    },
  },
  {
    name: 'Wolfi and Chainguard',
    // Rolling distributions built with the same tools: VERSION_ID is a build date and their
    // advisories name no release. Chainguard's own packages say `chainguard`.
    osReleaseIds: ['wolfi', 'chainguard'],
    packageType: 'apk',
    advisories: { ecosystems: (r) => [r.id === 'chainguard' ? 'Chainguard' : 'Wolfi'] },
  },
  {
    name: 'openSUSE Leap',
    osReleaseIds: ['opensuse-leap'],
    packageType: 'rpm',
    advisories: {
      ecosystems: (r) => (r.versionId === undefined ? [] : [`openSUSE:Leap ${r.versionId}`]),
    },
  },
  {
    name: 'openSUSE Tumbleweed',
    osReleaseIds: ['opensuse-tumbleweed'],
    packageType: 'rpm',
    advisories: { ecosystems: () => ['openSUSE:Tumbleweed'] },
  },
  {
    name: 'SUSE Linux Enterprise',
    // SLES and the SLE Base Container Images (BCI), whose os-release says `sles` too. osv.dev's
    // SUSE ecosystems are product names (os-release PRETTY_NAME without `SUSE `); a package of
    // SLES is published under the server product or under a module of the same service pack.
    osReleaseIds: ['sles', 'sle-micro'],
    packageType: 'rpm',
    advisories: { ecosystems: suseEcosystems },
  },
  {
    name: 'Amazon Linux',
    osReleaseIds: ['amzn'],
    packageType: 'rpm',
    advisories: {
      // VERSION_ID 2 and 2023 (2023.6.20241212 on newer images); Amazon Linux 1 is 2018.03.
      ecosystems: (r) => {
        const release = /^(2023|2022|2)(?:\.|$)/.exec(r.versionId ?? '')?.[1];
        if (release !== undefined) return [`Amazon Linux:${release}`];
        return /^20\d\d\.\d\d$/.test(r.versionId ?? '') ? ['Amazon Linux:1'] : [];
      },
    },
  },
  {
    name: 'CentOS',
    osReleaseIds: ['centos'],
    packageType: 'rpm',
    advisories: { none: 'CentOS publishes no advisory feed' },
  },
  {
    name: 'Fedora',
    osReleaseIds: ['fedora'],
    packageType: 'rpm',
    advisories: { none: 'no Fedora advisory source is synced yet' },
  },
];

/**
 * Where a fix in this ecosystem is published when it is not in the distribution's public
 * archive: `Ubuntu Pro` for `Ubuntu:Pro:<release>:LTS` (Expanded Security Maintenance), `SUSE
 * LTSS` for a SUSE product's `-LTSS` (Long Term Service Pack Support).
 */
export function subscriptionOf(ecosystem: string): string | undefined {
  if (/^Ubuntu:Pro:/.test(ecosystem)) return 'Ubuntu Pro';
  return /^SUSE:.*-LTSS$/.test(ecosystem) ? 'SUSE LTSS' : undefined;
}

/** The family an os-release ID belongs to. */
export function osFamilyOf(id: string): OsFamily | undefined {
  return OS_FAMILIES.find((f) => f.osReleaseIds.includes(id));
}

/** The advisory ecosystems of a release, first the one its packages are keyed by; [] for none. */
export function advisoryEcosystemsOf(release: OsRelease): readonly string[] {
  const source = osFamilyOf(release.id)?.advisories;
  return source === undefined || !('ecosystems' in source) ? [] : source.ecosystems(release);
}

export interface LanguageEcosystem {
  readonly ecosystem: Ecosystem;
  /** https://github.com/package-url/purl-spec/blob/main/PURL-TYPES.rst */
  readonly purlType: string;
}

/** Language package types (what extractors report) and their advisory ecosystems. */
export const LANGUAGE_ECOSYSTEMS = {
  npm: { ecosystem: 'npm', purlType: 'npm' },
  pypi: { ecosystem: 'PyPI', purlType: 'pypi' },
  golang: { ecosystem: 'Go', purlType: 'golang' },
  maven: { ecosystem: 'Maven', purlType: 'maven' },
  gem: { ecosystem: 'RubyGems', purlType: 'gem' },
  cargo: { ecosystem: 'crates.io', purlType: 'cargo' },
  nuget: { ecosystem: 'NuGet', purlType: 'nuget' },
  composer: { ecosystem: 'Packagist', purlType: 'composer' },
} as const satisfies Record<string, LanguageEcosystem>;

export type LanguagePackageType = keyof typeof LANGUAGE_ECOSYSTEMS;

/** The language ecosystem of a package type, or undefined for an OS or unknown type. */
export function languageEcosystemOf(type: string): LanguageEcosystem | undefined {
  return Object.hasOwn(LANGUAGE_ECOSYSTEMS, type)
    ? LANGUAGE_ECOSYSTEMS[type as LanguagePackageType]
    : undefined;
}

/** The OS package types (deb, apk, rpm): packages of the image's distribution. */
export const OS_PACKAGE_TYPES: ReadonlySet<string> = new Set(OS_FAMILIES.map((f) => f.packageType));
