import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import type { Image } from '../../../shared/image/types.js';
import { buildInventory, inventoryReaderId } from '../../../shared/inventory/inventory.js';
import { purl } from '../../../shared/inventory/purl.js';
import { MemoryLayerCache } from '../../../shared/inventory/walk.js';
import { decodeLayerResult, encodeLayerResult } from '../../../shared/layers/cache-format.js';
import { DEFAULT_LIMITS } from '../../../shared/layers/limits.js';
import type { LayerReadResult } from '../../../shared/layers/reader.js';
import { dataDir } from '../../support/fixtures.js';
import { filesUnder, LayoutWriter, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-inventory-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const only = async (p: Promise<{ images: Image[] }>) => (await p).images[0] as Image;

describe('buildInventory', () => {
  it('inventories the real alpine:3.10 image: OS, packages, PURLs and the layer that brought them', async () => {
    const image = await only(
      new DockerArchiveSource(
        path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz'),
      ).images(),
    );
    const inventory = await buildInventory(image);
    expect(inventory.os).toMatchObject({
      family: 'alpine',
      versionId: '3.10.4',
      ecosystem: 'Alpine:v3.10',
    });
    expect(inventory.packages).toHaveLength(14);
    expect(inventory.issues).toEqual([]);
    const musl = inventory.packages.find((p) => p.name === 'musl');
    expect(musl).toMatchObject({
      type: 'apk',
      version: '1.1.22-r3',
      sourceName: 'musl',
      ecosystem: 'Alpine:v3.10',
      location: 'lib/apk/db/installed',
      layer: image.layers[0]?.diffId,
      purl: 'pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=alpine-3.10.4',
    });
    expect(musl?.files).toContain('lib/libc.musl-x86_64.so.1');
  });

  it('attributes a package to the lowest layer it stays installed from, and drops what a whiteout removes', async () => {
    // Layer 0: Alpine 3.10's real files. Layer 1: the apk database of 3.11 (an upgrade in place).
    const base = await tarOf(filesUnder(path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310')));
    const upgrade = await tarOf([
      {
        path: 'lib/apk/db/installed',
        content: readFileSync(
          path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-311/lib/apk/db/installed'),
        ),
      },
    ]);
    const dir = path.join(work, 'upgrade');
    const w = new LayoutWriter(dir);
    w.finish(w.image({ architecture: 'amd64', layers: [base, upgrade] }), 'upgrade');
    const image = await only(new OciLayoutSource(dir).images());
    const inventory = await buildInventory(image);
    const layerOf = (name: string) => inventory.packages.find((p) => p.name === name)?.layer;
    // alpine-keys 2.1-r2 is in both databases; musl went from 1.1.22-r3 to 1.1.24-r2.
    expect(layerOf('alpine-keys')).toBe(image.layers[0]?.diffId);
    expect(layerOf('musl')).toBe(image.layers[1]?.diffId);
    expect(inventory.packages.find((p) => p.name === 'musl')?.version).toBe('1.1.24-r2');

    const gone = path.join(work, 'whiteout');
    const g = new LayoutWriter(gone);
    g.finish(
      g.image({
        architecture: 'amd64',
        layers: [base, await tarOf([{ path: 'lib/apk/db/.wh.installed' }])],
      }),
      'gone',
    );
    expect((await buildInventory(await only(new OciLayoutSource(gone).images()))).packages).toEqual(
      [],
    );
  });

  it('records a broken entry of a real apk database and keeps the others', async () => {
    const db = readFileSync(
      path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk'),
    );
    const dir = path.join(work, 'apk34');
    const w = new LayoutWriter(dir);
    w.finish(
      w.image({
        architecture: 'amd64',
        layers: [await tarOf([{ path: 'lib/apk/db/installed', content: db }])],
      }),
      'apk34',
    );
    const inventory = await buildInventory(await only(new OciLayoutSource(dir).images()));
    expect(inventory.packages.length).toBeGreaterThanOrEqual(14);
    expect(inventory.issues.length).toBeGreaterThanOrEqual(1);
    for (const issue of inventory.issues)
      expect(issue.message).toMatch(/lib\/apk\/db\/installed:\d+: /);
  });
});

it('is incomplete, not silently short, when a package database was over a read limit', async () => {
  // The real Debian 12 status file (728 packages), read with a per-file limit below its size.
  const root = path.join(work, 'debian-status');
  const layout = new LayoutWriter(root);
  const status = readFileSync(path.join(dataDir(), 'pkgdbs/local-debian12/var/lib/dpkg/status'));
  const manifest = layout.image({
    architecture: 'amd64',
    layers: [await tarOf([{ path: 'var/lib/dpkg/status', content: status }])],
  });
  layout.finish(manifest, 'x');
  const image = await only(new OciLayoutSource(root).images());
  const limited = await buildInventory(image, { limits: { maxFileBytes: status.length - 1 } });
  expect(limited.complete).toBe(false);
  expect(limited.packages).toEqual([]);
  expect(limited.issues.map((i) => i.message)).toContainEqual(
    expect.stringMatching(/^package database var\/lib\/dpkg\/status was not read: /),
  );
  // The same from a cached layer, as the S3 layer cache stores it (bytes): still incomplete.
  const stored = new Map<string, Buffer>();
  const cache = {
    get: async (key: string) => {
      const bytes = stored.get(key);
      return bytes === undefined ? undefined : decodeLayerResult(bytes);
    },
    put: async (key: string, result: LayerReadResult) => {
      stored.set(key, encodeLayerResult(result));
    },
  };
  const limits = { maxFileBytes: status.length - 1 };
  await buildInventory(image, { limits, cache });
  expect(stored.size).toBe(1);
  const cached = await buildInventory(image, { limits, cache });
  expect(cached.complete).toBe(false);
  expect(cached.issues).toEqual(limited.issues);
  const whole = await buildInventory(image);
  expect(whole.complete).toBe(true);
  expect(whole.packages).toHaveLength(728);
});

describe('purl', () => {
  it('writes Debian PURLs as the issue shows, encoding what the spec requires', () => {
    expect(
      purl({
        type: 'deb',
        namespace: 'debian',
        name: 'openssl',
        version: '3.0.15-1~deb12u1',
        qualifiers: { arch: 'amd64', distro: 'debian-12' },
      }),
    ).toBe('pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12');
    expect(
      purl({ type: 'deb', namespace: 'debian', name: 'libstdc++6', version: '12.2.0-14+deb12u1' }),
    ).toBe('pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1');
    expect(purl({ type: 'deb', namespace: 'debian', name: 'bash', version: '1:5.2.15-2' })).toBe(
      'pkg:deb/debian/bash@1:5.2.15-2',
    );
  });

  it('keys cached layer results by everything that changes them: a raised limit is a cache miss', async () => {
    const image = await only(
      new DockerArchiveSource(
        path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz'),
      ).images(),
    );
    const cache = new MemoryLayerCache();
    const hits: boolean[] = [];
    const counting = {
      get: async (key: string) => {
        const got = await cache.get(key);
        hits.push(got !== undefined);
        return got;
      },
      put: (key: string, result: LayerReadResult) => cache.put(key, result),
    };
    const first = await buildInventory(image, { cache: counting });
    const again = await buildInventory(image, { cache: counting });
    expect(hits).toEqual([false, true]);
    expect(again.packages).toEqual(first.packages);
    // The defaults spelled out are the same reader; a raised file limit is another.
    expect(inventoryReaderId(undefined, { ...DEFAULT_LIMITS })).toBe(inventoryReaderId());
    const raised = { maxFileBytes: DEFAULT_LIMITS.maxFileBytes * 2 };
    expect(inventoryReaderId(undefined, raised)).not.toBe(inventoryReaderId());
    await buildInventory(image, { cache: counting, limits: raised });
    expect(hits).toEqual([false, true, false]);
    expect(cache.size).toBe(2);
  });
});
