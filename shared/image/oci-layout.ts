/**
 * OCI image layouts, as a directory or as a tar archive of one:
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
 */
import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { algorithmOf, VerifyingStream, verifyBytes } from '../registry/digest.js';
import { ManifestError } from '../registry/errors.js';
import {
  type Descriptor,
  MANIFEST_MAX_BYTES,
  type Manifest,
  parseManifest,
} from '../registry/manifest.js';
import { MediaType } from '../registry/media-types.js';
import { type BlobStore, imagesFrom } from './blob-store.js';
import { openTarArchive, type TarArchive } from './tar-archive.js';
import type { ImageSet, ImageSource, SelectOptions } from './types.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(digest: string): string {
  algorithmOf(digest);
  const [alg, hex] = digest.split(':') as [string, string];
  return `blobs/${alg}/${hex}`;
}

/** Where layout files come from: a directory or an archive. */
interface LayoutFiles {
  readonly name: string;
  read(relative: string, maxBytes: number): Promise<Buffer>;
  open(relative: string): Promise<Readable>;
}

class LayoutStore implements BlobStore {
  constructor(private readonly files: LayoutFiles) {}
  get name(): string {
    return this.files.name;
  }
  async manifest(descriptor: Descriptor): Promise<Manifest> {
    const what = `manifest ${descriptor.digest} of ${this.name}`;
    const bytes = await this.files.read(blobPath(descriptor.digest), MANIFEST_MAX_BYTES);
    verifyBytes(bytes, descriptor.digest, what);
    return parseManifest(bytes, descriptor.mediaType, what);
  }
  async readBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    const bytes = await this.files.read(blobPath(descriptor.digest), maxBytes);
    verifyBytes(bytes, descriptor.digest, `blob ${descriptor.digest} of ${this.name}`);
    return bytes;
  }
  async openBlob(descriptor: Descriptor): Promise<Readable> {
    const stream = await this.files.open(blobPath(descriptor.digest));
    const verifying = new VerifyingStream(
      descriptor.digest,
      `blob ${descriptor.digest} of ${this.name}`,
      descriptor.size,
    );
    stream.on('error', (error) => verifying.destroy(error));
    return stream.pipe(verifying);
  }

  /** The layout's images: those of `index.json`, or only those named `refName` there. */
  async images(options: SelectOptions, refName: string | undefined): Promise<ImageSet> {
    const indexBytes = await this.files.read('index.json', MANIFEST_MAX_BYTES);
    const index = parseManifest(indexBytes, MediaType.ociIndex, `index.json of ${this.name}`);
    if (index.kind !== 'index')
      throw new ManifestError(`${this.name}: index.json is not an image index`);
    const manifests =
      refName === undefined
        ? index.manifests
        : index.manifests.filter((m) => m.annotations?.[REF_NAME] === refName);
    if (manifests.length === 0)
      throw new ManifestError(
        `${this.name}: no manifest named ${JSON.stringify(refName)} in index.json`,
      );
    const tags = [
      ...new Set(
        manifests.flatMap((m) =>
          m.annotations?.[REF_NAME] === undefined ? [] : [m.annotations[REF_NAME]],
        ),
      ),
    ];
    return imagesFrom(
      this,
      { manifest: { ...index, manifests } },
      options,
      tags.length > 0 ? tags : undefined,
    );
  }
}

async function checkLayoutMarker(files: LayoutFiles): Promise<void> {
  let marker: unknown;
  try {
    marker = JSON.parse((await files.read('oci-layout', 4096)).toString('utf8'));
  } catch (cause) {
    throw new ManifestError(
      `${files.name}: not an OCI image layout (no readable oci-layout file)`,
      { cause },
    );
  }
  if ((marker as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== '1.0.0') {
    throw new ManifestError(`${files.name}: unsupported oci-layout ${JSON.stringify(marker)}`);
  }
}

/** An OCI layout directory; `dir:ref` selects the manifest annotated with that ref name. */
export class OciLayoutSource implements ImageSource {
  constructor(
    private readonly dir: string,
    private readonly refName?: string,
  ) {}

  async images(options: SelectOptions = {}): Promise<ImageSet> {
    const root = path.resolve(this.dir);
    const realRoot = await realpath(root).catch((cause: unknown) => {
      throw new ManifestError(`oci:${root}: cannot read the directory`, { cause });
    });
    const files: LayoutFiles = {
      name: `oci:${root}`,
      async read(relative, maxBytes) {
        const handle = await openInside(root, realRoot, relative);
        try {
          return await readAtMost(handle, maxBytes, `oci:${root}: ${relative}`);
        } finally {
          await handle.close();
        }
      },
      async open(relative) {
        const handle = await openInside(root, realRoot, relative);
        return handle.createReadStream({ highWaterMark: 1024 * 1024 });
      },
    };
    await checkLayoutMarker(files);
    return new LayoutStore(files).images(options, this.refName);
  }
}

/**
 * Opens a file of the layout for reading, refusing what a layout never holds: a symbolic link
 * leading out of it (`oci-layout -> /dev/zero`, a config blob `-> /etc/shadow`, whose digest a
 * mismatch message would print) and anything but a regular file (a FIFO `index.json` would
 * block the open, a device never ends). Links inside the layout are followed; the file is
 * checked on the open handle, and opened without following a link swapped in since.
 */
async function openInside(root: string, realRoot: string, relative: string): Promise<FileHandle> {
  const where = `oci:${root}: ${relative}`;
  const real = await realpath(path.join(root, relative)).catch((cause: unknown) => {
    throw new ManifestError(`oci:${root}: missing ${relative}`, { cause });
  });
  if (real !== realRoot && !real.startsWith(`${realRoot}${path.sep}`))
    throw new ManifestError(`${where} is a link out of the layout; not read`);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const handle = await open(
    real,
    constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW,
  ).catch((cause: unknown) => {
    throw new ManifestError(`${where} cannot be opened`, { cause });
  });
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new ManifestError(`${where} is not a regular file; not read`);
  }
  return handle;
}

/** Reads a file whole when it holds at most `maxBytes`, checking what is read, not only its size. */
async function readAtMost(handle: FileHandle, maxBytes: number, what: string): Promise<Buffer> {
  const { size } = await handle.stat();
  if (size > maxBytes)
    throw new ManifestError(`${what} is ${size} bytes, over the ${maxBytes}-byte limit`);
  const data = Buffer.alloc(size + 1);
  let filled = 0;
  while (filled < data.length) {
    const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  // One byte more than stat said: the file grew while read, and may not stop.
  if (filled > size) throw new ManifestError(`${what} grew while it was read; not read`);
  return data.subarray(0, filled);
}

/** A tar archive of an OCI layout (`skopeo copy … oci-archive:…`, `docker buildx --output type=oci`). */
export class OciArchiveSource implements ImageSource {
  /** `opened`: the archive already opened (a path told apart by content), not read again. */
  constructor(
    private readonly file: string,
    private readonly refName?: string,
    private readonly opened?: TarArchive,
  ) {}

  async images(options: SelectOptions = {}): Promise<ImageSet> {
    const name = `oci-archive:${path.resolve(this.file)}`;
    const archive: TarArchive =
      this.opened ?? (await openTarArchive(path.resolve(this.file), name));
    const files: LayoutFiles = {
      name,
      read: (relative, maxBytes) => archive.read(relative, maxBytes),
      open: (relative) => archive.open(relative),
    };
    await checkLayoutMarker(files);
    return new LayoutStore(files).images(options, this.refName);
  }
}
