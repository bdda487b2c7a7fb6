/**
 * Issue 17 #9: an `oci:` layout directory is the user's, but what it links to is not part of
 * it. A layout made from a real image (trivy's Alpine 3.10 files), then one file replaced by a
 * link out of it, a FIFO or a device.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { walkImage } from '../../../shared/inventory/walk.js';
import { readerId } from '../../../shared/layers/reader-id.js';
import { ManifestError } from '../../../shared/registry/errors.js';
import { type Descriptor, derivedFiles, LayoutWriter, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-oci-links-'));
const pristine = path.join(work, 'pristine');
const READER = readerId([{ id: 'test/package-files', version: 1 }]);
let image: Descriptor;
let configFile: string;
let n = 0;
const fifos: string[] = [];

/** A fresh copy of the real layout, to change one file of. */
function copy(): string {
  const dir = path.join(work, `copy-${n++}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function replaceWithLink(dir: string, relative: string, target: string): void {
  rmSync(path.join(dir, relative));
  symlinkSync(target, path.join(dir, relative));
}

async function failure(dir: string): Promise<Error> {
  const error = await new OciLayoutSource(dir).images().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ManifestError);
  return error as Error;
}

beforeAll(async () => {
  const w = new LayoutWriter(pristine);
  image = w.image({ architecture: 'amd64', layers: [await tarOf(derivedFiles('alpine-310'))] });
  w.finish(image, 'app');
  const manifest = JSON.parse(
    readFileSync(path.join(pristine, 'blobs/sha256', image.digest.slice(7)), 'utf8'),
  ) as { config: Descriptor };
  configFile = `blobs/sha256/${manifest.config.digest.slice(7)}`;
});

afterEach(() => {
  // A reader blocked on a FIFO (the defect) is released by a writer coming and going.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader waiting.
    }
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('oci: layout directories', () => {
  it('read the real layout, and a blob linked to another file inside it', async () => {
    const dir = copy();
    const inside = path.join(dir, 'config-copy.json');
    cpSync(path.join(dir, configFile), inside);
    replaceWithLink(dir, configFile, inside);
    const set = await new OciLayoutSource(dir).images();
    const walk = await walkImage(set.images[0] as never, () => true, { reader: READER });
    expect(walk.complete).toBe(true);
  });

  it('refuse an oci-layout file linked out of the layout', async () => {
    const dir = copy();
    const outside = path.join(work, 'outside-oci-layout');
    writeFileSync(outside, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    replaceWithLink(dir, 'oci-layout', outside);
    const error = await failure(dir);
    expect(error.message).toBe(`oci:${dir}: not an OCI image layout (no readable oci-layout file)`);
    expect((error.cause as Error).message).toBe(
      `oci:${dir}: oci-layout is a link out of the layout; not read`,
    );
  });

  it('refuse oci-layout linked to /dev/zero instead of reading it without end', async () => {
    const dir = copy();
    replaceWithLink(dir, 'oci-layout', '/dev/zero');
    expect(((await failure(dir)).cause as Error).message).toBe(
      `oci:${dir}: oci-layout is a link out of the layout; not read`,
    );
  });

  it('refuse a FIFO index.json instead of waiting for a writer', async () => {
    const dir = copy();
    const fifo = path.join(dir, 'index.json');
    rmSync(fifo);
    execFileSync('mkfifo', [fifo]);
    fifos.push(fifo);
    expect((await failure(dir)).message).toBe(
      `oci:${dir}: index.json is not a regular file; not read`,
    );
  });

  it("refuse a config blob linked to a file outside, never printing that file's digest", async () => {
    const dir = copy();
    const secret = path.join(work, 'shadow');
    writeFileSync(secret, 'root:$6$salt$hash:19000:0:99999:7:::\n');
    const secretDigest = createHash('sha256')
      .update('root:$6$salt$hash:19000:0:99999:7:::\n')
      .digest('hex');
    replaceWithLink(dir, configFile, secret);
    const error = await failure(dir);
    expect(error.message).toBe(`oci:${dir}: ${configFile} is a link out of the layout; not read`);
    expect(error.message).not.toContain(secretDigest);
  });
});
