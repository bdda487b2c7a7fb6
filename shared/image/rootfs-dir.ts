/**
 * A plain root filesystem directory (a debootstrap or an unpacked image) read as an image with
 * one layer. The layer is a tar stream made on the fly, so the same walker reads it; symbolic
 * links are stored as links, never followed out of the directory.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { ManifestError } from '../registry/errors.js';
import type { ImageSet, ImageSource, SelectOptions } from './types.js';

const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

async function packDirectory(root: string, pack: tar.Pack): Promise<void> {
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(path.join(root, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(root, rel);
      const st = await lstat(full);
      const base = { name: rel, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        pack.entry({ ...base, type: 'directory' });
        await walk(rel);
      } else if (st.isSymbolicLink()) {
        pack.entry({ ...base, type: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        const entry = pack.entry({ ...base, type: 'file', size: st.size });
        await pipeline(createReadStream(full), entry);
      }
      // Sockets, devices and fifos carry no software to inventory.
    }
  };
  await walk('');
  pack.finalize();
}

export class RootfsDirSource implements ImageSource {
  constructor(private readonly dir: string) {}

  async images(_options: SelectOptions = {}): Promise<ImageSet> {
    const root = path.resolve(this.dir);
    const st = await lstat(root).catch((cause: unknown) => {
      throw new ManifestError(`dir:${root}: cannot read the directory`, { cause });
    });
    if (!st.isDirectory()) throw new ManifestError(`dir:${root}: not a directory`);
    const architecture = ARCH[process.arch] ?? process.arch;
    return {
      images: [
        {
          source: `dir:${root}`,
          platform: { os: 'linux', architecture },
          // A directory has no config; this one records what is known and no diff ids.
          config: { os: 'linux', architecture, rootfs: { type: 'layers', diff_ids: [] } },
          layers: [
            {
              open: async (): Promise<Readable> => {
                const pack = tar.pack();
                packDirectory(root, pack).catch((error: unknown) => pack.destroy(error as Error));
                return pack as unknown as Readable;
              },
            },
          ],
        },
      ],
      skipped: [],
    };
  }
}
