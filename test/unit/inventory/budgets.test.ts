/**
 * Work budgets per image and isolated extractors (issue 17, build items 2 and 3): real images'
 * files with the hostile change beside them. Each budget is lowered here so the test stays fast;
 * the full-size hostile images are in bench/hostile-images.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTRACTORS } from '../../../shared/extractors/registry.js';
import type { Image } from '../../../shared/image/types.js';
import { buildInventory } from '../../../shared/inventory/inventory.js';
import { MemoryLayerCache } from '../../../shared/inventory/walk.js';
import { debFile } from '../../support/debs.js';
import { derivedFiles, type TarFile, tarOf } from '../../support/oci.js';
import { zipOf } from '../../support/zip.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-budgets-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An image whose layers are these gzip'd tarballs, or streams made afresh on each open. */
function imageOf(layers: readonly (Buffer | (() => Readable))[]): Image {
  return {
    source: 'test image',
    platform: { os: 'linux', architecture: 'amd64' },
    config: { architecture: 'amd64', os: 'linux' } as Image['config'],
    layers: layers.map((l, i) => ({
      digest: `sha256:${String(i).repeat(64)}`,
      open: async () => (Buffer.isBuffer(l) ? Readable.from([l]) : l()),
    })),
  };
}

const ALPINE = derivedFiles('alpine-310');
const apkPackages = (names: readonly string[]) => names.filter((n) => n.startsWith('pkg:apk/'));

let commonsLang: Buffer;
beforeAll(() => {
  const deb = debFile('libcommons-lang3-java');
  execFileSync('dpkg-deb', ['-x', deb, path.join(work, 'deb')]);
  commonsLang = readFileSync(path.join(work, 'deb/usr/share/java/commons-lang3.jar'));
});

describe('work budgets per image', () => {
  it('stops jar bombs at the image budget across all archives, keeping what was read', async () => {
    // Issue 17 #3: each jar stayed under its own cap (8 nested "jars" of zeros), so ten of
    // them inflated ten times the cap and the result was complete. Here: a real jar, then ten
    // bombs of 8 x 4 MiB, under an image budget of 48 MiB.
    const bomb = await zipOf(
      Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`lib/z${i}.jar`, Buffer.alloc(4 * 1024 * 1024)]),
      ),
    );
    expect(bomb.length).toBeLessThan(100_000);
    const files: TarFile[] = [
      ...ALPINE,
      { path: 'app/commons-lang3.jar', content: commonsLang },
      ...Array.from({ length: 10 }, (_, i) => ({ path: `app/bomb${i}.jar`, content: bomb })),
    ];
    const cache = new MemoryLayerCache();
    const inventory = await buildInventory(imageOf([gzipSync(await tarOf(files))]), {
      limits: { maxImageInflatedBytes: 48 * 1024 * 1024 },
      cache,
    });
    expect(inventory.complete).toBe(false);
    const purls = inventory.packages.map((p) => p.purl);
    expect(apkPackages(purls)).toHaveLength(14);
    expect(purls).toContainEqual(
      expect.stringMatching(/^pkg:maven\/org\.apache\.commons\/commons-lang3@/),
    );
    expect(inventory.issues).toContainEqual({
      location: 'layer 0',
      message: `read in part, what was read is kept: archives in the image inflate to more than ${48 * 1024 * 1024} bytes; the rest of them was not read`,
    });
    // A result the budget cut short is never cached as if it were the layer's whole.
    expect(cache.size).toBe(0);
  });

  it('stops at the image entry budget, with the packages of the entries read before', async () => {
    // Issue 17 #7: a million empty entries cost a gigabyte. The budget is lowered to 500 here.
    const files: TarFile[] = [
      ...ALPINE,
      ...Array.from({ length: 1000 }, (_, i) => ({ path: `empty/${i}` })),
    ];
    const layer = gzipSync(await tarOf(files));
    const inventory = await buildInventory(imageOf([layer, layer]), {
      limits: { maxImageEntries: 500 },
    });
    expect(inventory.complete).toBe(false);
    expect(apkPackages(inventory.packages.map((p) => p.purl))).toHaveLength(14);
    expect(inventory.issues.map((i) => i.message)).toContainEqual(
      expect.stringContaining('the image has more than 500 entries; reading stopped'),
    );
  });

  it('ends at the image deadline when a layer stops sending, with the other layers read', async () => {
    // A layer that sends its first bytes and then nothing: without a deadline over the whole
    // image the scan waits until Lambda ends it.
    const base = gzipSync(await tarOf(ALPINE));
    const stalled = gzipSync(await tarOf([{ path: 'big', content: Buffer.alloc(1024 * 1024, 1) }]));
    const hanging = () =>
      new Readable({
        read() {
          if (this.readableLength === 0 && !(this as { sent?: boolean }).sent) {
            (this as { sent?: boolean }).sent = true;
            this.push(stalled.subarray(0, 1000));
          }
        },
      });
    const started = Date.now();
    const inventory = await buildInventory(imageOf([base, hanging]), {
      limits: { maxImageMillis: 500 },
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(inventory.complete).toBe(false);
    expect(apkPackages(inventory.packages.map((p) => p.purl))).toHaveLength(14);
    expect(inventory.issues).toContainEqual({
      location: 'layer 1',
      message:
        'read in part, what was read is kept: the image took more than 500 ms to read; reading stopped',
    });
  });
});

describe('isolated extractors', () => {
  it('turns an exception of an extractor into an issue naming the file and the extractor', async () => {
    // A parser bug (a RangeError, as the rpm reader threw on mutated databases) ended the scan.
    const broken = EXTRACTORS.map((x) =>
      x.id === 'os/apk/installed'
        ? {
            ...x,
            extract: () => {
              throw new RangeError('The value of "offset" is out of range.');
            },
          }
        : x,
    );
    const inventory = await buildInventory(
      imageOf([gzipSync(await tarOf([...ALPINE, { path: 'app/lib.jar', content: commonsLang }]))]),
      { extractors: broken },
    );
    expect(inventory.issues).toContainEqual({
      extractor: 'os/apk/installed',
      location: 'lib/apk/db/installed',
      message:
        'lib/apk/db/installed: os/apk/installed failed: RangeError: The value of "offset" is out of range.',
    });
    expect(inventory.os?.family).toBe('alpine');
    expect(inventory.packages.map((p) => p.purl)).toEqual([
      expect.stringMatching(/^pkg:maven\/org\.apache\.commons\/commons-lang3@/),
    ]);
  });
});
