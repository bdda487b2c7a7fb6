/**
 * Red Hat content manifests read during the image walk, and their content sets resolved to the
 * ecosystems Red Hat's repository-to-CPE mapping names (inventory/redhat-repositories.ts).
 * Images are root folders of real files: Syft's RHEL 9.4 OpenShift 4.16 root (os-release and
 * two content manifests) and its contrast cases, Trivy's UBI 8 minimal content manifest (and
 * its broken one) with claircore's RHEL 8.1 os-release, and rpm databases that rpm itself
 * writes with packages of Red Hat's own UBI 8 and UBI 9 package lists. The mapping is the whole
 * real file, through a folder of advisories (loadAdvisories) or the embedded store.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdvisories } from '../../../shared/advisories/load.js';
import { advisoryEcosystemsOf } from '../../../shared/ecosystems.js';
import { MAX_CONTENT_MANIFESTS } from '../../../shared/extractors/os/release/content-manifests.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { RootfsDirSource } from '../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../shared/image/types.js';
import {
  buildInventory,
  type Inventory,
  matchablePackages,
} from '../../../shared/inventory/inventory.js';
import { resolveRedHatRepositories } from '../../../shared/inventory/redhat-repositories.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { realRepositoryCpes } from '../../contract/repository-cpes.js';
import { dataDir } from '../../support/fixtures.js';
import { LayoutWriter, tarOf } from '../../support/oci.js';
import { rpmRoot } from '../../support/rpmdb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-redhat-repos-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const data = (relative: string) => path.join(dataDir(), relative);
const SYFT = 'pkgdbs/syft/internal/os/testdata';
const TRIVY_MANIFESTS = 'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests';
const RHEL8_OS_RELEASE = 'pkgdbs/claircore/rhel/testdata/releasefiles/8/etc/os-release';
const MANIFEST_DIR = 'root/buildinfo/content_manifests';

const inventoryOf = async (root: string): Promise<Inventory> => {
  const image = (await new RootfsDirSource(root).images()).images[0] as Image;
  return buildInventory(image);
};

/** A root folder: real files copied to their image paths, and an rpm database. */
function root(
  name: string,
  files: Record<string, string>,
  packages: Parameters<typeof rpmRoot>[2],
): string {
  const dir = path.join(work, name);
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    copyFileSync(data(from), path.join(dir, to));
  }
  return packages.length === 0 ? dir : rpmRoot(dir, path.join(work, `${name}-rpm`), packages);
}

// Real lines of snyk-rpm-parser's UBI 8.1 and UBI 9 (`rpm -qa` of the images) package lists.
const UBI8_PACKAGES = [
  { name: 'bash', version: '4.4.19', release: '10.el8' },
  { name: 'zlib', version: '1.2.11', release: '10.el8' },
  { name: 'openssl-libs', epoch: 1, version: '1.1.1c', release: '2.el8' },
];
const UBI9_PACKAGES = [
  { name: 'bash', version: '5.1.8', release: '4.el9' },
  { name: 'zlib', version: '1.2.11', release: '31.el9_0.1' },
  { name: 'openssl-libs', epoch: 1, version: '3.0.1', release: '23.el9_0' },
];

const OPENSHIFT_MANIFESTS = {
  [`${MANIFEST_DIR}/driver-toolkit-container-v4.16.0-202411210647.p0.g1d5732f.assembly.stream.el9.json`]: `${SYFT}/rhel_content_manifests/${MANIFEST_DIR}/driver-toolkit-container-v4.16.0-202411210647.p0.g1d5732f.assembly.stream.el9.json`,
  [`${MANIFEST_DIR}/openshift-base-rhel9-container-v4.16.0-202411190033.p0.gb45ea65.assembly.stream.el9.json`]: `${SYFT}/rhel_content_manifests/${MANIFEST_DIR}/openshift-base-rhel9-container-v4.16.0-202411190033.p0.gb45ea65.assembly.stream.el9.json`,
};

let ubi8: string;
let openshift: string;
beforeAll(() => {
  ubi8 = root(
    'ubi8',
    {
      'etc/os-release': RHEL8_OS_RELEASE,
      [`${MANIFEST_DIR}/ubi8-minimal-container-8.5-218.json`]: `${TRIVY_MANIFESTS}/ubi8-minimal-container-8.5-218.json`,
    },
    UBI8_PACKAGES,
  );
  openshift = root(
    'openshift',
    { 'etc/os-release': `${SYFT}/rhel_content_manifests/etc/os-release`, ...OPENSHIFT_MANIFESTS },
    UBI9_PACKAGES,
  );
}, 120_000);

/** The real mapping as a folder of advisories holds it (loaded by loadAdvisories). */
function mappingFromFolder(): MemoryAdvisoryIndex {
  const folder = path.join(work, `advisories-${Math.random().toString(36).slice(2)}`);
  mkdirSync(folder);
  symlinkSync(
    data('advisories/redhat-repository-to-cpe/repository-to-cpe.json'),
    path.join(folder, 'repository-to-cpe.json'),
  );
  const loaded = loadAdvisories(folder);
  expect(loaded.issues).toEqual([]);
  expect(loaded.repositoryCpes?.size).toBe(10_106);
  const index = new MemoryAdvisoryIndex();
  index.setRepositoryCpes(loaded.repositoryCpes ?? new Map());
  return index;
}

/** What shared/ecosystems.ts gives RHEL 9.4 without content sets. */
const RHEL9 = advisoryEcosystemsOf({ id: 'rhel', versionId: '9.4' }) as [string, ...string[]];
/** Its release-wide ones (no repository part), and RHEL 8.1's: kept beside the content sets'. */
const wide = (release: readonly string[]) => release.filter((e) => !e.includes('::'));
const RHEL9_WIDE = wide(RHEL9);
const RHEL8_WIDE = wide(advisoryEcosystemsOf({ id: 'rhel', versionId: '8.1' }));

const rpmEcosystems = (inventory: Inventory) =>
  inventory.packages
    .filter((p) => p.type === 'rpm')
    .map((p) => ({ name: p.name, ecosystem: p.ecosystem, extra: p.extraEcosystems }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

describe('content manifests in the image walk', () => {
  it("records the content sets of Syft's real RHEL 9.4 root, and none where there is no manifest", async () => {
    const inventory = await inventoryOf(data(`${SYFT}/rhel_content_manifests`));
    expect(inventory.os).toMatchObject({
      family: 'rhel',
      versionId: '9.4',
      contentSets: [
        'rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_4',
        'rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4',
        'rhel-9-for-x86_64-rt-rpms__9_DOT_4',
        'rhocp-4.16-for-rhel-9-x86_64-rpms',
      ],
    });
    expect(inventory.issues).toEqual([]);
    const none = await inventoryOf(data(`${SYFT}/rhel_no_manifests`));
    expect(none.os?.family).toBe('rhel');
    expect(none.os?.contentSets).toBeUndefined();
  });

  it("reads Trivy's UBI 8 manifest beside its content-manifest variant and its broken file", async () => {
    const dir = root(
      'trivy-manifests',
      {
        'etc/os-release': RHEL8_OS_RELEASE,
        ...Object.fromEntries(
          ['ubi8-minimal-container-8.5-218.json', 'sbom-purl.json', 'broken.json'].map((f) => [
            `${MANIFEST_DIR}/${f}`,
            `${TRIVY_MANIFESTS}/${f}`,
          ]),
        ),
      },
      [],
    );
    const inventory = await inventoryOf(dir);
    expect(inventory.os?.contentSets).toEqual([
      'rhel-8-for-x86_64-appstream-rpms',
      'rhel-8-for-x86_64-baseos-rpms',
    ]);
    expect(inventory.issues).toEqual([
      {
        location: `${MANIFEST_DIR}/broken.json`,
        message: expect.stringMatching(/^content manifest .*broken\.json is not JSON: /),
      },
    ]);
  });

  it('reads at most the manifest count limit of a layer and of an image, and says what it left unread', async () => {
    // The real UBI 8 manifest under MAX_CONTENT_MANIFESTS + 1 names in one layer, then 40 more
    // names in a second layer: the last of the first layer's, and the 40 last by name of the
    // image's, are not read.
    const manifest = readFileSync(data(`${TRIVY_MANIFESTS}/ubi8-minimal-container-8.5-218.json`));
    const copies = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        path: `${MANIFEST_DIR}/${prefix}-${String(i).padStart(3, '0')}.json`,
        content: manifest,
      }));
    const base = await tarOf([
      { path: 'etc/os-release', content: readFileSync(data(RHEL8_OS_RELEASE)) },
      ...copies('a', MAX_CONTENT_MANIFESTS + 1),
    ]);
    const dir = path.join(work, 'many-manifests');
    const w = new LayoutWriter(dir);
    w.finish(w.image({ architecture: 'amd64', layers: [base, await tarOf(copies('b', 40))] }), 'x');
    const image = (await new OciLayoutSource(dir).images()).images[0] as Image;
    const inventory = await buildInventory(image);
    expect(inventory.os?.contentSets).toEqual([
      'rhel-8-for-x86_64-appstream-rpms',
      'rhel-8-for-x86_64-baseos-rpms',
    ]);
    expect(inventory.issues.map((i) => i.message)).toEqual([
      `content manifest ${MANIFEST_DIR}/a-064.json was not read: its layer has more than ${MAX_CONTENT_MANIFESTS} content manifests`,
      `${MAX_CONTENT_MANIFESTS + 40} content manifests, over the limit of ${MAX_CONTENT_MANIFESTS}: the 40 last by name were not read`,
    ]);
  });
});

describe('Red Hat repository resolution', () => {
  it('gives a UBI 8 image with its real content manifest exactly the ecosystems the mapping names, and the release-wide ones', async () => {
    const inventory = await resolveRedHatRepositories(await inventoryOf(ubi8), mappingFromFolder());
    expect(inventory.issues).toEqual([]);
    const extra = ['Red Hat:enterprise_linux:8::appstream', ...RHEL8_WIDE];
    expect(inventory.os).toMatchObject({
      ecosystem: 'Red Hat:enterprise_linux:8::baseos',
      extraEcosystems: extra,
    });
    expect(rpmEcosystems(inventory)).toEqual(
      ['bash', 'openssl-libs', 'zlib'].map((name) => ({
        name,
        ecosystem: 'Red Hat:enterprise_linux:8::baseos',
        extra,
      })),
    );
    expect(matchablePackages(inventory).find((p) => p.name === 'openssl-libs')).toMatchObject({
      version: '1:1.1.1c-2.el8',
      ecosystem: 'Red Hat:enterprise_linux:8::baseos',
      extraEcosystems: extra,
    });
  });

  it("gives the OpenShift 4.16 image its EUS and OpenShift streams, not the release's, and names the unmapped content set", async () => {
    const before = await inventoryOf(openshift);
    // Before resolution: the release's own (BaseOS and AppStream first).
    expect(before.os).toMatchObject({ ecosystem: RHEL9[0], extraEcosystems: RHEL9.slice(1) });
    const store = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    await store.putRepositoryCpes(realRepositoryCpes());
    const inventory = await resolveRedHatRepositories(before, store);
    await store.close();
    const ecosystems = {
      ecosystem: 'Red Hat:openshift:4.16::el9',
      extra: ['Red Hat:rhel_eus:9.4::appstream', 'Red Hat:rhel_eus:9.4::baseos', ...RHEL9_WIDE],
    };
    expect(inventory.os).toMatchObject({
      ecosystem: ecosystems.ecosystem,
      extraEcosystems: ecosystems.extra,
    });
    expect(rpmEcosystems(inventory)).toEqual(
      ['bash', 'openssl-libs', 'zlib'].map((name) => ({ name, ...ecosystems })),
    );
    expect(inventory.issues).toEqual([
      {
        location: MANIFEST_DIR,
        message:
          "content sets rhel-9-for-x86_64-rt-rpms__9_DOT_4 are not in Red Hat's repository-to-CPE mapping (feed redhat-repository-to-cpe); its packages are matched against the ecosystems of the other content sets",
      },
    ]);
    // The same from the folder of advisories.
    expect(await resolveRedHatRepositories(before, mappingFromFolder())).toEqual(inventory);
  });

  it("keeps the release's BaseOS and AppStream, and says why, when no content set maps", async () => {
    const before = await inventoryOf(openshift);
    const fallback = { ecosystem: RHEL9[0], extra: RHEL9.slice(1) };
    const none = await resolveRedHatRepositories(before, undefined);
    expect(rpmEcosystems(none)).toEqual(
      ['bash', 'openssl-libs', 'zlib'].map((name) => ({ name, ...fallback })),
    );
    expect(none.issues.map((i) => i.message)).toEqual([
      `content sets rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_4, rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4, rhel-9-for-x86_64-rt-rpms__9_DOT_4, rhocp-4.16-for-rhel-9-x86_64-rpms were not looked up: no repository-to-CPE mapping is available; its packages are matched against ${RHEL9.join(', ')} instead`,
    ]);
    // A store that has not synced the mapping: the same ecosystems, the mapping named.
    const empty = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    const unsynced = await resolveRedHatRepositories(before, empty);
    await empty.close();
    expect(unsynced.os).toEqual(before.os);
    expect(unsynced.packages).toEqual(before.packages);
    expect(unsynced.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^content sets .* are not in Red Hat's repository-to-CPE mapping/),
    ]);
  });

  it("names a content set whose CPE is another vendor's, and leaves other families' images alone", async () => {
    const before = await inventoryOf(openshift);
    // Edited: the manifests' content sets replaced by two of the real mapping, one of which maps
    // to a CloudForms CPE without Red Hat's vendor part.
    const edited: Inventory = {
      ...before,
      os: {
        ...(before.os as NonNullable<Inventory['os']>),
        contentSets: ['cf-me-5.1-for-rhel-5-rpms', 'rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4'],
      },
    };
    const inventory = await resolveRedHatRepositories(edited, mappingFromFolder());
    const extra = RHEL9_WIDE.length === 0 ? undefined : RHEL9_WIDE;
    expect(inventory.os?.ecosystem).toBe('Red Hat:rhel_eus:9.4::baseos');
    expect(inventory.os?.extraEcosystems).toEqual(extra);
    expect(rpmEcosystems(inventory).map((p) => p.extra)).toEqual([extra, extra, extra]);
    expect(inventory.issues.map((i) => i.message)).toEqual([
      'content sets cf-me-5.1-for-rhel-5-rpms (cpe:/a:cloudforms_managementengine:5::el5) map to CPEs of no Red Hat product stream, which no Red Hat advisory names',
    ]);
    // Syft's `not_rhel` root: the same manifests under another os-release ID.
    const other = await inventoryOf(data(`${SYFT}/not_rhel`));
    expect(other.os?.family).toBe('not-rhel');
    expect(await resolveRedHatRepositories(other, mappingFromFolder())).toEqual(other);
  });
});
