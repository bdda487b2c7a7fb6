/**
 * Which Debian package owns which files: dpkg keeps one `var/lib/dpkg/info/<package>.list`
 * per installed package (`<package>:<arch>.list` for multi-arch ones), one absolute path a
 * line. The inventory uses it to mark language packages that a Debian package installed
 * (python3-urllib3's urllib3 egg-info): Debian backports fixes into them without changing the
 * upstream version, so upstream advisories would be false positives.
 * https://manpages.debian.org/bookworm/dpkg/dpkg.1.en.html (FILES: /var/lib/dpkg/info)
 */
import type { Extractor, ExtractResult } from '../../types.js';

const LIST = /^var\/lib\/dpkg\/info\/([^/]+)\.list$/;

export const dpkgFiles: Extractor = {
  id: 'os/dpkg/files',
  version: 1,
  packageTypes: [],
  required: (path, size) => size < 16 * 1024 * 1024 && LIST.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const file = LIST.exec(path)?.[1] ?? '';
    const owner = file.includes(':') ? file.slice(0, file.indexOf(':')) : file;
    const files = content
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('/') && line !== '/.')
      .map((line) => line.slice(1));
    return { packages: [], issues: [], owners: [{ owner, files }] };
  },
};
