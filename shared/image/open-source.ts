/**
 * Turns what a user types into an image source, with the transport prefixes skopeo uses:
 * `docker-archive:FILE`, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `dir:DIR` (a root
 * filesystem); without a prefix, a path that exists is read as what it holds (a `docker save`
 * or OCI archive, told apart by their index files; an OCI layout folder, by its `oci-layout`
 * file; any other folder as a root filesystem), and anything else as a registry reference.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { BosunError } from '../errors.js';
import type { RegistryClient, RequestOptions } from '../registry/client.js';
import { parseReference } from '../registry/reference.js';
import { DockerArchiveSource } from './docker-archive.js';
import { OciArchiveSource, OciLayoutSource } from './oci-layout.js';
import { RegistryImageSource } from './registry-source.js';
import { RootfsDirSource } from './rootfs-dir.js';
import { openTarArchive } from './tar-archive.js';
import type { ImageSet, ImageSource, SelectOptions } from './types.js';

/** What a user typed names no image Bosun can open. */
export class ImageSourceError extends BosunError {
  readonly fatal = true;
}

/**
 * A tar archive given by path alone: a `docker save` archive has `manifest.json` (Docker 25 and
 * later write an OCI layout beside it; its manifest.json still names the image), an OCI archive
 * only `oci-layout` and `index.json`.
 */
class ArchiveFileSource implements ImageSource {
  constructor(private readonly file: string) {}

  async images(options?: SelectOptions): Promise<ImageSet> {
    // Opened once: a gzip'd archive is inflated to be indexed, which is not done twice.
    const archive = await openTarArchive(path.resolve(this.file), this.file);
    if (archive.has('manifest.json'))
      return new DockerArchiveSource(this.file, archive).images(options);
    if (archive.has('oci-layout') || archive.has('index.json'))
      return new OciArchiveSource(this.file, undefined, archive).images(options);
    throw new ImageSourceError(
      `${this.file}: a tar archive with neither manifest.json (docker save) nor oci-layout (OCI)`,
    );
  }
}

function splitRef(value: string): [string, string | undefined] {
  // A ref name follows the last ':' unless that ':' is part of the path (a Windows drive, never here).
  const colon = value.lastIndexOf(':');
  return colon > 0 && !value.slice(colon + 1).includes('/')
    ? [value.slice(0, colon), value.slice(colon + 1)]
    : [value, undefined];
}

/**
 * `options.signal` bounds a registry pull as a whole (the per-image budget): aborting it stops
 * every request and transfer of the image. Local sources have no transfer to stop.
 */
export function openImageSource(
  input: string,
  client: () => RegistryClient,
  options: RequestOptions = {},
): ImageSource {
  if (input.startsWith('docker-archive:'))
    return new DockerArchiveSource(input.slice('docker-archive:'.length));
  if (input.startsWith('oci-archive:'))
    return new OciArchiveSource(...splitRef(input.slice('oci-archive:'.length)));
  if (input.startsWith('oci:')) return new OciLayoutSource(...splitRef(input.slice('oci:'.length)));
  if (input.startsWith('dir:')) return new RootfsDirSource(input.slice('dir:'.length));
  const local = statSync(input, { throwIfNoEntry: false });
  if (local?.isDirectory() === true)
    return existsSync(path.join(input, 'oci-layout'))
      ? new OciLayoutSource(input, undefined)
      : new RootfsDirSource(input);
  if (local?.isFile() === true) return new ArchiveFileSource(input);
  // A path that is not there is not a registry reference either: say what was looked for.
  if (/\.(tar|tgz|tar\.gz)$/.test(input) || /^\.{0,2}\//.test(input))
    throw new ImageSourceError(
      `${input}: no such file or folder (an image in a registry is written registry/repository:tag)`,
    );
  return new RegistryImageSource(
    client(),
    parseReference(input.startsWith('docker://') ? input.slice('docker://'.length) : input),
    options,
  );
}
