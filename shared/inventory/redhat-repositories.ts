/**
 * Which of Red Hat's per-repository advisory ecosystems an RHEL or UBI image's RPMs are matched
 * against. Red Hat publishes each fix for the product streams (CPEs) it ships in: the same RPM
 * is fixed in `Red Hat:rhel_eus:9.4::baseos` and `Red Hat:enterprise_linux:9::baseos` at
 * different versions. An image's content manifests name the repositories its RPMs came from;
 * Red Hat's repository-to-CPE mapping names each repository's streams
 * (https://www.redhat.com/en/blog/how-accurately-match-oval-security-data-installed-rpms).
 * Without either, the release's BaseOS and AppStream (shared/ecosystems.ts) stand in; the
 * release-wide ecosystems it names (where Red Hat publishes what it will not fix) apply either way.
 *
 * It runs before matching and before the inventory is stored, so rescans (which read stored
 * packages) see the same ecosystems as the scan.
 */
import { redHatEcosystemOfCpe } from '../advisories/importers/redhat-repository-to-cpe.js';
import { osFamilyOf } from '../ecosystems.js';
import { CONTENT_MANIFEST_DIR } from '../extractors/os/release/content-manifests.js';
import type { Inventory, InventoryPackage } from './inventory.js';

/** Red Hat's repository-to-CPE mapping, as a store or an in-memory index holds it. */
export interface RepositoryCpeLookup {
  /**
   * The CPEs of each of these repositories the mapping names; a repository it does not name is
   * absent from the answer.
   */
  repositoryCpes(repositoryIds: readonly string[]): Promise<Map<string, string[]>>;
}

const isRedHat = (family: string) => osFamilyOf(family)?.osReleaseIds.includes('rhel') === true;

const list = (items: readonly string[]) => items.join(', ');

/**
 * The ecosystems the content sets map to, the release's own first (so an image keeps the key
 * its findings had before its content sets were read), the rest in name order.
 */
function ordered(mapped: ReadonlySet<string>, release: readonly string[]): string[] {
  const first = release.filter((e) => mapped.has(e));
  return [...first, ...[...mapped].filter((e) => !first.includes(e)).sort()];
}

/**
 * The inventory with the ecosystems its content sets map to (and the release-wide ones) on the
 * OS and its RPMs; unchanged for an image that is not RHEL or names no content set. Content
 * sets the mapping does not name (or that name no Red Hat stream) are issues; when none maps,
 * the release's ecosystems stay. `lookup` undefined: no mapping is available, every content set
 * is unmapped.
 */
export async function resolveRedHatRepositories(
  inventory: Inventory,
  lookup: RepositoryCpeLookup | undefined,
): Promise<Inventory> {
  const os = inventory.os;
  const contentSets = os?.contentSets ?? [];
  if (os === undefined || contentSets.length === 0 || !isRedHat(os.family)) return inventory;
  const cpes =
    lookup === undefined ? new Map<string, string[]>() : await lookup.repositoryCpes(contentSets);
  const mapped = new Set<string>();
  const unmapped: string[] = [];
  const foreign: string[] = [];
  for (const set of contentSets) {
    const named = cpes.get(set) ?? [];
    if (named.length === 0) unmapped.push(set);
    for (const cpe of named) {
      const ecosystem = redHatEcosystemOfCpe(cpe);
      if (ecosystem === undefined) foreign.push(`${set} (${cpe})`);
      else mapped.add(ecosystem);
    }
  }
  const release = os.ecosystem === undefined ? [] : [os.ecosystem, ...(os.extraEcosystems ?? [])];
  const instead =
    mapped.size > 0
      ? 'its packages are matched against the ecosystems of the other content sets'
      : release.length > 0
        ? `its packages are matched against ${list(release)} instead`
        : 'its packages are not matched';
  const issues: Inventory['issues'] = [];
  if (unmapped.length > 0)
    issues.push({
      location: CONTENT_MANIFEST_DIR,
      message:
        lookup === undefined
          ? `content sets ${list(unmapped)} were not looked up: no repository-to-CPE mapping is available; ${instead}`
          : `content sets ${list(unmapped)} are not in Red Hat's repository-to-CPE mapping (feed redhat-repository-to-cpe); ${instead}`,
    });
  if (foreign.length > 0)
    issues.push({
      location: CONTENT_MANIFEST_DIR,
      message: `content sets ${list(foreign)} map to CPEs of no Red Hat product stream, which no Red Hat advisory names`,
    });
  if (mapped.size === 0) return { ...inventory, issues: [...inventory.issues, ...issues] };

  // Red Hat states "affected, no fix" for a release as a whole (`Red Hat:enterprise_linux:9`, no
  // repository part): that stays true of every repository of the release, so the release-wide
  // ecosystems shared/ecosystems.ts names are kept after the repositories' own.
  const releaseWide = release.filter((e) => !e.includes('::') && !mapped.has(e));
  const [ecosystem, ...extra] = [...ordered(mapped, release), ...releaseWide] as [
    string,
    ...string[],
  ];
  const ecosystems = { ecosystem, ...(extra.length === 0 ? {} : { extraEcosystems: extra }) };
  const packageType = osFamilyOf(os.family)?.packageType;
  const restamp = (p: InventoryPackage): InventoryPackage => {
    if (p.type !== packageType) return p;
    const { ecosystem: _e, extraEcosystems: _x, ...rest } = p;
    return { ...rest, ...ecosystems };
  };
  const { ecosystem: _e, extraEcosystems: _x, ...bare } = os;
  return {
    ...inventory,
    os: { ...bare, ...ecosystems },
    packages: inventory.packages.map(restamp),
    issues: [...inventory.issues, ...issues],
  };
}
