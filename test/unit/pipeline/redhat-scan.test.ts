/**
 * The scan use case on an RHEL image: its content sets resolve to Red Hat's per-repository
 * ecosystems in the inventory step, before the inventory (and its reverse index, which rescans
 * read) is stored. The image is one layer of real files: Syft's RHEL 9.4 OpenShift 4.16
 * os-release and content manifests, and an rpm database rpm itself writes with packages of
 * Red Hat's UBI 9 package list; the mapping is the whole real file in the embedded store.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { advisoryEcosystemsOf } from '../../../shared/ecosystems.js';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { realRepositoryCpes } from '../../contract/repository-cpes.js';
import { dataDir } from '../../support/fixtures.js';
import { filesUnder, LayoutWriter, tarOf } from '../../support/oci.js';
import { RecordingNotifier } from '../../support/pipeline.js';
import { rpmRoot } from '../../support/rpmdb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-redhat-scan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const layout = path.join(work, 'image');
let digest: string;
beforeAll(async () => {
  const syft = path.join(dataDir(), 'pkgdbs/syft/internal/os/testdata/rhel_content_manifests');
  const root = path.join(work, 'root');
  const manifests = 'root/buildinfo/content_manifests';
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, manifests), { recursive: true });
  copyFileSync(path.join(syft, 'etc/os-release'), path.join(root, 'etc/os-release'));
  for (const f of readdirSync(path.join(syft, manifests)))
    copyFileSync(path.join(syft, manifests, f), path.join(root, manifests, f));
  rpmRoot(root, path.join(work, 'rpm'), [
    { name: 'bash', version: '5.1.8', release: '4.el9' },
    { name: 'openssl-libs', epoch: 1, version: '3.0.1', release: '23.el9_0' },
  ]);
  const w = new LayoutWriter(layout);
  const manifest = w.image({
    architecture: 'amd64',
    layers: [await tarOf(filesUnder(root, { filesOnly: true }))],
  });
  w.finish(manifest, 'latest');
  digest = manifest.digest;
}, 120_000);

it('stores the inventory of an RHEL image under the ecosystems its content sets map to, and indexes it by each', async () => {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const mapping = EmbeddedAdvisoryStore.open(path.join(dir, 'advisories'));
  await mapping.putRepositoryCpes(realRepositoryCpes());
  const deps: ScanDeps = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MemoryAdvisoryIndex(),
    repositoryCpes: mapping,
    notifier: new RecordingNotifier(),
    leaseWaitMs: 2_000,
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
  };
  const request: ScanRequest = {
    action: 'PUSH',
    registry: 'registry.example.test',
    repository: 'openshift/driver-toolkit',
    digest,
    eventTime: new Date().toISOString(),
    eventId: 'event-redhat',
  };
  expect(await scanImage(request, deps)).toMatchObject({ status: 'scanned' });
  const image = await deps.images.getImage(digest);
  const inventory = await deps.inventories.getInventory(digest, image?.scanId as string);
  const rpms = inventory?.packages.map((p) => [p.name, p.ecosystem, p.extraEcosystems]).sort();
  // The release-wide ecosystems shared/ecosystems.ts names for RHEL 9 are kept beside them.
  const wide = advisoryEcosystemsOf({ id: 'rhel', versionId: '9.4' }).filter(
    (e) => !e.includes('::'),
  );
  const extra = ['Red Hat:rhel_eus:9.4::appstream', 'Red Hat:rhel_eus:9.4::baseos', ...wide];
  expect(rpms).toEqual([
    ['bash', 'Red Hat:openshift:4.16::el9', extra],
    ['openssl-libs', 'Red Hat:openshift:4.16::el9', extra],
  ]);
  // A rescan for an advisory of any of those ecosystems finds the image; none of the release's.
  // (These header-only RPMs are their own source RPMs: the key names openssl-libs itself.)
  for (const ecosystem of ['Red Hat:openshift:4.16::el9', ...extra.slice(0, 2)])
    expect(await deps.inventories.imagesWithPackage(`${ecosystem}#openssl-libs`)).toEqual([
      { digest, scanId: image?.scanId },
    ]);
  expect(
    await deps.inventories.imagesWithPackage('Red Hat:enterprise_linux:9::baseos#openssl-libs'),
  ).toEqual([]);
  await mapping.close();
});
