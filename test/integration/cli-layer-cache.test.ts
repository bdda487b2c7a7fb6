/**
 * The CLI's layer cache (shared/stores/file-layer-cache.ts) with real data: two images that share
 * a byte-identical Alpine 3.4 base layer, scanned by `bosun` as a user runs it. What is pinned:
 * a result per layer on disk, a shared base layer read from the cache instead of its blob, the
 * same names and bytes as the service's S3 layer cache (on the local stack's S3), `bosun cache
 * clean`, and an unreadable cache file taken as a miss. The tests run in order: each builds on
 * the cache the one before left.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import { checksCollector } from '../../shared/checks/collect.js';
import { openImageSource } from '../../shared/image/open-source.js';
import { inventoryAndWalk } from '../../shared/inventory/inventory.js';
import { decodeLayerResult } from '../../shared/layers/cache-format.js';
import { S3LayerCache } from '../../shared/stores/s3.js';
import { bosunWith } from '../support/cli.js';
import { alpine34Rootfs, dataDir } from '../support/fixtures.js';
import { type Descriptor, filesUnder, LayoutWriter, tarOf } from '../support/oci.js';

const state = inject('localStack');
const s3 = new S3Client({
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
  endpoint: state.services.fauxqs.endpoint,
  forcePathStyle: true,
});
const bucket = `bosun-cli-layer-cache-${process.pid}-${Date.now()}`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-layer-cache-'));
const SECDB_34 = path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.4');
const REF = 'v1';

/** The cache folder the first tests share (BOSUN_CACHE_DIR), and its layers folder. */
const cache = path.join(work, 'cache');
const layers = path.join(cache, 'layers');

interface Layout {
  readonly dir: string;
  readonly source: string;
  /** The blob digests of its layers, base first. */
  readonly layers: readonly string[];
}
let imageA: Layout;
let imageB: Layout;
/** A's files in the cache after A's scan (one per layer), and the report that scan printed. */
let filesOfA: string[];
let reportA: ScanImage;

interface ScanImage {
  packages: number;
  os?: { ecosystem: string };
  findings: unknown[];
  issues: string[];
}

/** An OCI layout holding the shared base layer and one layer of its own. */
async function layout(name: string, base: Buffer): Promise<Layout> {
  const dir = path.join(work, name);
  const writer = new LayoutWriter(dir);
  const own = await tarOf([{ path: `srv/${name}/README`, content: `image ${name}\n` }]);
  const manifest: Descriptor = writer.image({ architecture: 'amd64', layers: [base, own] });
  writer.finish(manifest, REF);
  const parsed = JSON.parse(
    readFileSync(path.join(dir, 'blobs/sha256', manifest.digest.slice('sha256:'.length)), 'utf8'),
  ) as { layers: Descriptor[] };
  return { dir, source: `oci:${dir}:${REF}`, layers: parsed.layers.map((l) => l.digest) };
}

const blobFile = (image: Layout, digest: string) =>
  path.join(image.dir, 'blobs/sha256', digest.slice('sha256:'.length));

/** The names in a cache's layers folder, sorted; none when it does not exist. */
const cached = (dir = layers) => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** `bosun scan <source> --advisories <3.4 secdb> --format json [more]` with BOSUN_CACHE_DIR. */
function scan(source: string, more: string[] = [], cacheDir = cache) {
  return bosunWith(
    { env: { BOSUN_CACHE_DIR: cacheDir } },
    'scan',
    source,
    '--advisories',
    SECDB_34,
    '--format',
    'json',
    ...more,
  );
}

function onlyImage(stdout: string): ScanImage {
  const report = JSON.parse(stdout) as { images: ScanImage[] };
  expect(report.images).toHaveLength(1);
  return report.images[0] as ScanImage;
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // One tar of the real Alpine 3.4 files, gzip'd by the same writer for both images: the same
  // blob, so the same cache key, as a base image shared by two applications.
  const base = await tarOf(filesUnder(alpine34Rootfs(work)));
  imageA = await layout('a', base);
  imageB = await layout('b', base);
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  // A stack reused from `npm run local:up` outlives the run: leave no bucket behind in it.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const { Key } of listed.Contents ?? [])
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
});

describe('the CLI layer cache', () => {
  it('keeps one result per layer in <BOSUN_CACHE_DIR>/layers after a scan', () => {
    expect(imageA.layers[0]).toBe(imageB.layers[0]);
    expect(imageA.layers[1]).not.toBe(imageB.layers[1]);
    const out = scan(imageA.source);
    expect(out.status, out.stderr).toBe(0);
    reportA = onlyImage(out.stdout);
    expect(reportA.os?.ecosystem).toBe('Alpine:v3.4');
    expect(reportA.packages).toBe(15);
    expect(reportA.findings.length).toBeGreaterThan(0);
    filesOfA = cached();
    expect(filesOfA).toHaveLength(2);
    // Named after the layer's blob digest: the key is the digest the bytes were verified against.
    for (const digest of imageA.layers)
      expect(filesOfA.filter((f) => f.startsWith(digest.replace(':', '_')))).toHaveLength(1);
  });

  it('reads a base layer shared with an image scanned before from the cache, not from its blob', () => {
    const [sharedBase, ownLayer] = imageB.layers;
    rmSync(blobFile(imageB, sharedBase as string));
    const out = scan(imageB.source);
    expect(out.status, out.stderr).toBe(0);
    const report = onlyImage(out.stdout);
    // B's own layer holds no package: its 15 packages and their findings can only have come
    // from the cached result of A's base layer.
    expect(report.packages).toBe(reportA.packages);
    expect(report.findings).toEqual(reportA.findings);
    expect(report.issues).toEqual(reportA.issues);
    const now = cached();
    expect(now).toHaveLength(3);
    expect(now.filter((f) => !filesOfA.includes(f))).toEqual([
      expect.stringMatching(new RegExp(`^${(ownLayer as string).replace(':', '_')}_`)),
    ]);
  });

  it('with --no-cache reads every blob, so the image without its base blob is not read whole', () => {
    const out = scan(imageB.source, ['--no-cache']);
    // An image not read whole exits 1; the layer's error is an issue of the report.
    expect(out.status).toBe(1);
    const report = onlyImage(out.stdout);
    expect(report.packages).toBe(0);
    expect(report.issues).toContain(
      `oci:${imageB.dir}: missing blobs/sha256/${(imageB.layers[0] as string).slice('sha256:'.length)}`,
    );
    // Nor does --no-cache write: the cache is as the scan before left it.
    expect(cached()).toHaveLength(3);
  });

  it('reports in `inspect --json` which layers came from the cache', () => {
    // inspect keeps other files than scan (its reader is part of the key): the first run reads
    // both layers, the second takes both from the cache.
    const inspect = () => {
      const out = bosunWith(
        { env: { BOSUN_CACHE_DIR: cache } },
        'inspect',
        '--json',
        imageA.source,
      );
      expect(out.status, out.stderr).toBe(0);
      const report = JSON.parse(out.stdout) as { images: { layers: { cached: boolean }[] }[] };
      return report.images[0]?.layers.map((l) => l.cached);
    };
    expect(inspect()).toEqual([false, false]);
    expect(cached()).toHaveLength(5);
    expect(inspect()).toEqual([true, true]);
    expect(cached()).toHaveLength(5);
  });

  it("files results under the service's S3 layer cache names, with the same content", async () => {
    const { images } = await openImageSource(imageA.source, () => {
      throw new Error('an OCI layout needs no registry');
    }).images();
    const image = images[0];
    if (image === undefined) throw new Error(`${imageA.source} holds no image`);
    // As the scan function reads it (pipeline/scan/pull-inventory.ts): one walk for the inventory
    // and the checks, so its results are the CLI scan's, under the same keys.
    const { inventory } = await inventoryAndWalk(image, {
      cache: new S3LayerCache(s3, bucket),
      collect: checksCollector(),
    });
    expect(inventory.packages).toHaveLength(reportA.packages);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
    expect(keys).toEqual(filesOfA.map((name) => `layer-cache/${name}`));
    for (const name of filesOfA) {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: `layer-cache/${name}` }),
      );
      const fromS3 = await object.Body?.transformToByteArray();
      if (fromS3 === undefined) throw new Error(`layer-cache/${name} has no body`);
      const fromFile = readFileSync(path.join(layers, name));
      const decoded = decodeLayerResult(fromS3);
      expect(decoded).toBeDefined();
      expect(decoded).toEqual(decodeLayerResult(fromFile));
      // Both are encodeLayerResult of the same result: the bytes are identical too.
      expect(Buffer.from(fromS3).equals(fromFile)).toBe(true);
    }
  });

  it('is emptied by `bosun cache clean`, which says how many results it removed and from where', () => {
    const bytes = cached().reduce((sum, name) => sum + statSync(path.join(layers, name)).size, 0);
    const clean = () => bosunWith({ env: { BOSUN_CACHE_DIR: cache } }, 'cache', 'clean');
    const first = clean();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(
      `removed 5 cached layer results (${(bytes / 1e6).toFixed(1)} MB) from ${layers}`,
    );
    expect(cached()).toEqual([]);
    const second = clean();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(`removed 0 cached layer results (0.0 MB) from ${layers}`);
  });

  it('uses --cache-dir over BOSUN_CACHE_DIR, for scan and for cache clean', () => {
    const flagged = path.join(work, 'flagged');
    const elsewhere = path.join(work, 'elsewhere');
    const out = scan(imageA.source, ['--cache-dir', flagged], elsewhere);
    expect(out.status, out.stderr).toBe(0);
    const flaggedLayers = path.join(flagged, 'layers');
    expect(cached(flaggedLayers)).toEqual(filesOfA);
    expect(existsSync(elsewhere)).toBe(false);
    const bytes = filesOfA.reduce((sum, f) => sum + statSync(path.join(flaggedLayers, f)).size, 0);
    const clean = bosunWith(
      { env: { BOSUN_CACHE_DIR: elsewhere } },
      'cache',
      'clean',
      '--cache-dir',
      flagged,
    );
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stdout.trim()).toBe(
      `removed 2 cached layer results (${(bytes / 1e6).toFixed(1)} MB) from ${flaggedLayers}`,
    );
    expect(cached(flaggedLayers)).toEqual([]);
  });

  it('takes an unreadable cache file as a miss: the scan reads the layer and rewrites the file', () => {
    const fresh = path.join(work, 'garbage');
    expect(scan(imageA.source, [], fresh).status).toBe(0);
    const baseFile = path.join(
      fresh,
      'layers',
      filesOfA.find((f) => f.startsWith((imageA.layers[0] as string).replace(':', '_'))) as string,
    );
    const good = readFileSync(baseFile);
    // Not gzip, as a file cut short by a full disk or written by another program would be.
    writeFileSync(baseFile, 'this is not a layer result');
    const out = scan(imageA.source, [], fresh);
    expect(out.status, out.stderr).toBe(0);
    const report = onlyImage(out.stdout);
    expect(report.packages).toBe(reportA.packages);
    expect(report.findings).toEqual(reportA.findings);
    expect(readFileSync(baseFile).equals(good)).toBe(true);
    expect(cached(path.join(fresh, 'layers'))).toEqual(filesOfA);
  });
});
