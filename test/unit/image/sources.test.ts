import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { OciArchiveSource, OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { openImageSource } from '../../../shared/image/open-source.js';
import { RootfsDirSource } from '../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../shared/image/types.js';
import { MemoryLayerCache, walkImage } from '../../../shared/inventory/walk.js';
import { readerId } from '../../../shared/layers/reader-id.js';
import type { FileTree } from '../../../shared/layers/tree.js';
import { RegistryClient } from '../../../shared/registry/client.js';
import { DigestMismatchError, ManifestError } from '../../../shared/registry/errors.js';
import { dataDir } from '../../support/fixtures.js';
import { derivedFiles, filesUnder, LayoutWriter, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-sources-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TESTDATA = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata');
const DERIVED = path.join(dataDir(), 'pkgdbs/trivy/derived');
const READER = readerId([{ id: 'test/all-files', version: 1 }]);
const PACKAGE_FILES = new Set([
  'lib/apk/db/installed',
  'etc/os-release',
  'etc/alpine-release',
  'usr/lib/os-release',
]);
const wants = (e: { path: string }) => PACKAGE_FILES.has(e.path);

function listing(tree: FileTree): string[] {
  return [...tree.entries()].map(
    (e) => `${e.type} ${e.path} ${e.type === 'file' ? e.size : (e.linkname ?? '')}`,
  );
}

async function onlyImage(images: Promise<{ images: Image[] }>): Promise<Image> {
  const set = await images;
  expect(set.images).toHaveLength(1);
  return set.images[0] as Image;
}

describe('docker-archive source', () => {
  it('reads the real Alpine 3.10 `docker save` archive, gzipped or not, with identical results', async () => {
    const gz = path.join(TESTDATA, 'alpine-310.tar.gz');
    const plain = path.join(work, 'alpine-310.tar');
    await pipeline(createReadStream(gz), createGunzip(), createWriteStream(plain));
    const results = [];
    for (const file of [gz, plain]) {
      const image = await onlyImage(new DockerArchiveSource(file).images());
      expect(image.platform).toEqual({ os: 'linux', architecture: 'amd64' });
      expect(image.tags).toEqual(['alpine:3.10']);
      expect(image.layers).toHaveLength(1);
      const walk = await walkImage(image, wants, { reader: READER });
      expect(walk.complete).toBe(true);
      results.push({
        diffIds: image.layers.map((l) => l.diffId),
        listing: listing(walk.tree),
        installed: walk.tree.read('lib/apk/db/installed'),
      });
    }
    expect(results[0]).toEqual(results[1]);
    // The derived copy was extracted from the same layer.
    expect(
      results[0]?.installed?.equals(
        readFileSync(path.join(DERIVED, 'alpine-310/lib/apk/db/installed')),
      ),
    ).toBe(true);
    expect(results[0]?.listing.length).toBeGreaterThan(400);
  });

  it('refuses an archive whose manifest.json is malformed or names a missing layer', async () => {
    const bad = path.join(work, 'bad-manifest.tar');
    writeFileSync(bad, await tarOf([{ path: 'manifest.json', content: '[{"Config": 42}]' }]));
    await expect(new DockerArchiveSource(bad).images()).rejects.toThrow(
      /invalid manifest.json: 0\.Config/,
    );
    const missing = path.join(work, 'missing-layer.tar');
    const config = JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] },
    });
    writeFileSync(
      missing,
      await tarOf([
        {
          path: 'manifest.json',
          content: JSON.stringify([{ Config: 'c.json', Layers: ['l/layer.tar'] }]),
        },
        { path: 'c.json', content: config },
      ]),
    );
    await expect(new DockerArchiveSource(missing).images()).rejects.toThrow(ManifestError);
    await expect(new DockerArchiveSource(missing).images()).rejects.toThrow(
      /layer file "l\/layer.tar" is not in the archive/,
    );
  });
});

async function twoLayerLayout(dir: string, compression: 'gzip' | 'zstd'): Promise<void> {
  const w = new LayoutWriter(dir);
  const base = await tarOf(derivedFiles('alpine-310'));
  const top = await tarOf([
    { path: 'etc/.wh.alpine-release' },
    { path: 'app/', type: 'directory' },
    { path: 'app/VERSION', content: '1.0\n' },
  ]);
  w.finish(w.image({ architecture: 'amd64', layers: [base, top], compression }), 'app');
}

describe('OCI layout and archive sources', () => {
  it.each(['gzip', 'zstd'] as const)(
    'read a two-layer %s image, applying the whiteout',
    async (compression) => {
      const dir = path.join(work, `layout-${compression}`);
      await twoLayerLayout(dir, compression);
      const image = await onlyImage(new OciLayoutSource(dir, 'app').images());
      expect(image.tags).toEqual(['app']);
      const walk = await walkImage(image, wants, { reader: READER });
      expect(walk.tree.get('etc/alpine-release')).toBeUndefined();
      expect(walk.tree.get('app/VERSION')).toMatchObject({ size: 4, layer: 1 });
      expect(walk.tree.read('etc/os-release')?.toString()).toContain('Alpine Linux');
    },
  );

  it('reads the same image from a tar of the layout', async () => {
    const dir = path.join(work, 'layout-for-archive');
    await twoLayerLayout(dir, 'gzip');
    const files = filesUnder(dir, { filesOnly: true });
    const archive = path.join(work, 'image.oci.tar');
    writeFileSync(archive, await tarOf(files));
    const fromDir = await walkImage(await onlyImage(new OciLayoutSource(dir).images()), wants, {
      reader: READER,
    });
    const fromArchive = await walkImage(
      await onlyImage(new OciArchiveSource(archive).images()),
      wants,
      { reader: READER },
    );
    expect(listing(fromArchive.tree)).toEqual(listing(fromDir.tree));
  });

  it('yields one image per platform and skips the attestation manifest', async () => {
    const dir = path.join(work, 'multi');
    const w = new LayoutWriter(dir);
    const layer = await tarOf(derivedFiles('alpine-311'));
    const amd64 = w.image({ architecture: 'amd64', layers: [layer] });
    const arm64 = w.image({ architecture: 'arm64', variant: 'v8', layers: [layer] });
    w.finish(w.index([amd64, arm64, w.attestation(amd64)]), 'multi');
    const set = await new OciLayoutSource(dir).images();
    expect(set.images.map((i) => `${i.platform.os}/${i.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(set.skipped.map((s) => s.reason)).toEqual(['attestation manifest']);
    const armOnly = await new OciLayoutSource(dir).images({ platforms: ['linux/arm64'] });
    expect(armOnly.images.map((i) => i.platform.variant)).toEqual(['v8']);
    expect(armOnly.skipped.map((s) => s.reason)).toEqual([
      'platform linux/amd64 not selected',
      'attestation manifest',
    ]);
  });

  it('records a layer whose blob does not match its digest and still coalesces the others', async () => {
    const dir = path.join(work, 'tampered');
    await twoLayerLayout(dir, 'gzip');
    const image = await onlyImage(new OciLayoutSource(dir).images());
    const blob = path.join(dir, 'blobs/sha256', (image.layers[1]?.digest ?? '').slice(7));
    const data = readFileSync(blob);
    data[data.length - 10] = (data[data.length - 10] ?? 0) ^ 0xff;
    writeFileSync(blob, data);
    const walk = await walkImage(image, wants, { reader: READER });
    expect(walk.complete).toBe(false);
    expect(walk.layers[1]?.error).toBeInstanceOf(DigestMismatchError);
    expect(walk.layers[1]?.error?.message).toMatch(
      /digest mismatch: expected sha256:[a-f0-9]{64}, got/,
    );
    expect(walk.tree.get('lib/apk/db/installed')).toBeDefined();
  });

  it('reads a shared base layer once across images, by its verified blob digest', async () => {
    const a = path.join(work, 'cache-a');
    const b = path.join(work, 'cache-b');
    const c = path.join(work, 'cache-c');
    const base = await tarOf(derivedFiles('alpine-310'));
    const wa = new LayoutWriter(a);
    wa.finish(
      wa.image({
        architecture: 'amd64',
        layers: [base, await tarOf([{ path: 'a', content: 'a' }])],
      }),
      'a',
    );
    const wb = new LayoutWriter(b);
    wb.finish(
      wb.image({
        architecture: 'amd64',
        layers: [base, await tarOf([{ path: 'b', content: 'b' }])],
      }),
      'b',
    );
    // The same layer content compressed otherwise: the same diff id, another blob.
    const wc = new LayoutWriter(c);
    wc.finish(wc.image({ architecture: 'amd64', layers: [base], compression: 'zstd' }), 'c');
    const cache = new MemoryLayerCache();
    const first = await walkImage(await onlyImage(new OciLayoutSource(a).images()), wants, {
      reader: READER,
      cache,
    });
    const second = await walkImage(await onlyImage(new OciLayoutSource(b).images()), wants, {
      reader: READER,
      cache,
    });
    expect(first.layers.map((l) => l.fromCache)).toEqual([false, false]);
    expect(second.layers.map((l) => l.fromCache)).toEqual([true, false]);
    expect(cache.size).toBe(3);
    // A diff id is only the config's claim about a blob's content; results are filed under what
    // was verified (the blob digest), so a recompressed copy is read again rather than trusted.
    const third = await walkImage(await onlyImage(new OciLayoutSource(c).images()), wants, {
      reader: READER,
      cache,
    });
    expect(third.layers.map((l) => l.fromCache)).toEqual([false]);
    expect(third.layers[0]?.diffId).toBe(first.layers[0]?.diffId);
    const otherReader = await walkImage(await onlyImage(new OciLayoutSource(b).images()), wants, {
      reader: readerId([{ id: 'test/all-files', version: 2 }]),
      cache,
    });
    expect(otherReader.layers.map((l) => l.fromCache)).toEqual([false, false]);
  });
});

describe('root filesystem directory source', () => {
  it('reads a directory as one layer, keeping symlinks as links', async () => {
    const root = path.join(work, 'rootfs');
    for (const f of derivedFiles('alpine-311')) {
      if (f.type === 'directory') mkdirSync(path.join(root, f.path), { recursive: true });
      else writeFileSync(path.join(root, f.path), f.content ?? '');
    }
    mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    symlinkSync('/etc/os-release', path.join(root, 'usr/lib/os-release'));
    symlinkSync('/etc/passwd-of-the-host', path.join(root, 'dangling'));
    const image = await onlyImage(new RootfsDirSource(root).images());
    const walk = await walkImage(image, wants, { reader: READER });
    expect(walk.tree.get('usr/lib/os-release')).toMatchObject({
      type: 'symlink',
      linkname: '/etc/os-release',
    });
    expect(walk.tree.read('usr/lib/os-release')?.toString()).toContain('VERSION_ID=3.11');
    expect(walk.tree.resolve('dangling')).toBeUndefined();
  });
});

describe('openImageSource', () => {
  it('chooses the source by transport prefix', () => {
    const client = () => new RegistryClient();
    expect(openImageSource('docker-archive:/tmp/a.tar', client)).toBeInstanceOf(
      DockerArchiveSource,
    );
    expect(openImageSource('oci:/tmp/layout:app', client)).toBeInstanceOf(OciLayoutSource);
    expect(openImageSource('oci-archive:/tmp/a.tar', client)).toBeInstanceOf(OciArchiveSource);
    expect(openImageSource('dir:/tmp/rootfs', client)).toBeInstanceOf(RootfsDirSource);
    expect(openImageSource('127.0.0.1:5000/app:1', client).constructor.name).toBe(
      'RegistryImageSource',
    );
  });
});

describe('refusals', () => {
  it('skips a cosign signature tag without asking the registry', async () => {
    const { RegistryImageSource } = await import('../../../shared/image/registry-source.js');
    const { parseReference } = await import('../../../shared/registry/reference.js');
    const client = new RegistryClient({
      fetch: () => Promise.reject(new Error('no request expected')),
    });
    const set = await new RegistryImageSource(
      client,
      parseReference(`127.0.0.1:1/app:sha256-${'c'.repeat(64)}.sig`),
    ).images();
    expect(set).toEqual({
      images: [],
      skipped: [{ reason: `cosign artifact tag sha256-${'c'.repeat(64)}.sig` }],
    });
  });

  it('refuses an image with an unknown layer media type, and one whose config is too large', async () => {
    const dir = path.join(work, 'odd-layer');
    const w = new LayoutWriter(dir);
    const layer = w.blob(
      await tarOf([{ path: 'a', content: 'a' }]),
      'application/vnd.oci.image.layer.v1.tar',
    );
    const odd = w.blob(Buffer.from('{}'), 'application/vnd.example.layer.v1+json');
    const config = w.jsonBlob(
      {
        os: 'linux',
        architecture: 'amd64',
        rootfs: { type: 'layers', diff_ids: [layer.digest, odd.digest] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = w.manifest(config, [layer, odd]);
    w.finish(manifest, 'odd');
    await expect(new OciLayoutSource(dir).images()).rejects.toThrow(
      /layer 1 of oci:.*: unsupported media type "application\/vnd.example.layer.v1\+json"/,
    );

    const big = path.join(work, 'big-config');
    const b = new LayoutWriter(big);
    const hugeConfig = b.blob(
      Buffer.alloc(9 * 1024 * 1024, 32),
      'application/vnd.oci.image.config.v1+json',
    );
    b.finish(b.manifest(hugeConfig, []), 'big');
    await expect(new OciLayoutSource(big).images()).rejects.toThrow(
      /is 9437184 bytes, over the 8388608-byte limit/,
    );
  });
});
