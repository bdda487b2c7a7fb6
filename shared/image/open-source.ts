/**
 * Turns what a user types into an image source, with the transport prefixes skopeo uses:
 * `docker-archive:FILE`, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `dir:DIR` (a root
 * filesystem), and anything else as a registry reference.
 */
import type { RegistryClient } from '../registry/client.js';
import { parseReference } from '../registry/reference.js';
import { DockerArchiveSource } from './docker-archive.js';
import { OciArchiveSource, OciLayoutSource } from './oci-layout.js';
import { RegistryImageSource } from './registry-source.js';
import { RootfsDirSource } from './rootfs-dir.js';
import type { ImageSource } from './types.js';

function splitRef(value: string): [string, string | undefined] {
  // A ref name follows the last ':' unless that ':' is part of the path (a Windows drive, never here).
  const colon = value.lastIndexOf(':');
  return colon > 0 && !value.slice(colon + 1).includes('/')
    ? [value.slice(0, colon), value.slice(colon + 1)]
    : [value, undefined];
}

export function openImageSource(input: string, client: () => RegistryClient): ImageSource {
  if (input.startsWith('docker-archive:'))
    return new DockerArchiveSource(input.slice('docker-archive:'.length));
  if (input.startsWith('oci-archive:'))
    return new OciArchiveSource(...splitRef(input.slice('oci-archive:'.length)));
  if (input.startsWith('oci:')) return new OciLayoutSource(...splitRef(input.slice('oci:'.length)));
  if (input.startsWith('dir:')) return new RootfsDirSource(input.slice('dir:'.length));
  return new RegistryImageSource(
    client(),
    parseReference(input.startsWith('docker://') ? input.slice('docker://'.length) : input),
  );
}
