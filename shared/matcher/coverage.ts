/**
 * Never look clean when we do not know: what the advisory database cannot say about an image.
 * A package whose ecosystem no advisory source covers, or whose ecosystem the database has never
 * been filled with, has no findings because nothing was asked, not because nothing is wrong.
 * Each such gap is reported in every output, and `bosun scan` exits with its own code.
 */
import { OS_PACKAGE_TYPES, osFamilyOf, syncedByDefault, vendorSourcesFor } from '../ecosystems.js';
import type { Inventory } from '../inventory/inventory.js';
import type { AdvisoryQuery } from './types.js';

export type CoverageGapKind =
  /** Nothing was found to check: no operating system and no package (scratch, an unknown OS). */
  | 'nothing-found'
  /** The OS (family or release) has no advisory source Bosun reads. */
  | 'no-advisory-source'
  /** The OS or language ecosystem has one, but the database holds no advisory of it. */
  | 'not-synced'
  /** The OS release is past the end of its support: its publisher no longer fixes it. */
  | 'end-of-life';

export interface CoverageGap {
  readonly kind: CoverageGapKind;
  /** The advisory ecosystem(s) concerned, when there are some. */
  readonly ecosystems: readonly string[];
  /** How many of the image's packages the gap leaves unmatched. */
  readonly packages: number;
  readonly message: string;
}

export interface Coverage {
  /** True when every package was matched against advisories of its ecosystem. */
  readonly complete: boolean;
  readonly gaps: readonly CoverageGap[];
}

/** What coverage needs of an inventory: its OS, and every package found. */
export type CoverageInput = Pick<Inventory, 'os' | 'packages'> &
  Partial<Pick<Inventory, 'complete'>>;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const were = (n: number) => (n === 1 ? 'was' : 'were');

function osLabel(os: CoverageInput['os']): string {
  if (os === undefined) return 'an unrecognised operating system';
  return os.prettyName ?? `${os.family} ${os.versionId ?? ''}`.trim();
}

/** The gap of the image's OS packages, if they have one. */
async function osGap(input: CoverageInput, query: AdvisoryQuery): Promise<CoverageGap | undefined> {
  const count = input.packages.filter((p) => OS_PACKAGE_TYPES.has(p.type)).length;
  if (count === 0) return undefined;
  const { os } = input;
  const family = os === undefined ? undefined : osFamilyOf(os.family);
  const ecosystems =
    os?.ecosystem === undefined ? [] : [os.ecosystem, ...(os.extraEcosystems ?? [])];
  if (ecosystems.length === 0) {
    const why =
      family !== undefined && 'none' in family.advisories
        ? family.advisories.none
        : family === undefined
          ? 'Bosun has no advisory source for it'
          : 'no advisory source covers this release';
    return {
      kind: 'no-advisory-source',
      ecosystems: [],
      packages: count,
      message: `${plural(count, 'OS package')} of ${osLabel(os)} ${were(count)} not checked for vulnerabilities: ${why}`,
    };
  }
  // Red Hat's release-wide ecosystem (`Red Hat:enterprise_linux:9`) holds only "affected, no
  // fix" statements: the image is checked only if a repository's (`…::baseos`) is there.
  const repositories = ecosystems.filter((e) => e.includes('::'));
  for (const e of repositories.length > 0 ? repositories : ecosystems)
    if (await query.hasEcosystem(e)) return undefined;
  return {
    kind: 'not-synced',
    ecosystems,
    packages: count,
    message: `${plural(count, 'OS package')} of ${osLabel(os)} ${were(count)} not checked for vulnerabilities: the advisory database has no advisory for ${ecosystems.join(' or ')} (${syncAdvice(ecosystems)})`,
  };
}

/** How to fill these ecosystems: a plain sync, a publisher's feed by name, or its files. */
function syncAdvice(ecosystems: readonly string[]): string {
  if (ecosystems.some(syncedByDefault)) return 'sync it: bosun db sync';
  const feeds = [...new Set(ecosystems.flatMap(vendorSourcesFor))];
  return feeds.length > 0
    ? `no feed syncs it by default: bosun db sync --from ${feeds[0]}`
    : 'no feed syncs it by default: bosun db sync --from its advisories';
}

/**
 * The gap of an OS release past the end of its support (os-release `SUPPORT_END`): its
 * packages were checked, but the advisories stop at that day, so newer vulnerabilities are
 * neither fixed nor, for most publishers, even listed.
 */
function endOfLifeGap(input: CoverageInput, now: number): CoverageGap | undefined {
  const end = input.os?.supportEnd;
  if (end === undefined || Date.parse(`${end}T23:59:59Z`) >= now) return undefined;
  const count = input.packages.filter((p) => OS_PACKAGE_TYPES.has(p.type)).length;
  if (count === 0) return undefined;
  return {
    kind: 'end-of-life',
    ecosystems: input.os?.ecosystem === undefined ? [] : [input.os.ecosystem],
    packages: count,
    message: `${osLabel(input.os)} reached the end of its support on ${end}: its ${plural(count, 'OS package')} ${count === 1 ? 'gets' : 'get'} no more fixes, and vulnerabilities found since may not be listed at all`,
  };
}

/** What the database cannot say about these packages, OS and language ecosystems alike. */
export async function coverageOf(
  input: CoverageInput,
  query: AdvisoryQuery,
  now: number = Date.now(),
): Promise<Coverage> {
  const gaps: CoverageGap[] = [];
  // No package at all is not "no vulnerability": nothing Bosun reads was there to check.
  if (input.packages.length === 0)
    return {
      complete: false,
      gaps: [
        {
          kind: 'nothing-found',
          ecosystems: [],
          packages: 0,
          // A layer that could not be read may hold what was not found: say that first.
          message:
            input.complete === false
              ? 'no package was found in the layers that could be read, and some could not (see the issues): nothing was checked for vulnerabilities'
              : `no package was found in ${input.os === undefined ? 'this image (no operating system Bosun recognises)' : osLabel(input.os)}: nothing was checked for vulnerabilities`,
        },
      ],
    };
  const os = await osGap(input, query);
  if (os !== undefined) gaps.push(os);
  const eol = endOfLifeGap(input, now);
  if (eol !== undefined) gaps.push(eol);
  // Language packages the matcher looks up upstream (those an OS package owns go by the
  // distribution's advisories).
  const byEcosystem = new Map<string, number>();
  for (const p of input.packages)
    if (!OS_PACKAGE_TYPES.has(p.type) && p.ecosystem !== undefined && p.osOwnedBy === undefined)
      byEcosystem.set(p.ecosystem, (byEcosystem.get(p.ecosystem) ?? 0) + 1);
  for (const [ecosystem, count] of [...byEcosystem].sort(([a], [b]) => (a < b ? -1 : 1)))
    if (!(await query.hasEcosystem(ecosystem)))
      gaps.push({
        kind: 'not-synced',
        ecosystems: [ecosystem],
        packages: count,
        message: `${plural(count, `${ecosystem} package`)} ${were(count)} not checked for vulnerabilities: the advisory database has no ${ecosystem} advisory (sync it: bosun db sync --ecosystem ${ecosystem})`,
      });
  return { complete: gaps.length === 0, gaps };
}
