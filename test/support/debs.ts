/**
 * Real Debian packages that `npm run setup` fetched with `apt-get download` into .local/debs,
 * and what dpkg itself makes of them: their control fields, their files, and a dpkg database
 * (status and info/*.list) written by `dpkg --root … --unpack`.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from './fixtures.js';

const DEBS = path.join(PROJECT_ROOT, '.local', 'debs');

export function debFile(pkg: string): string {
  const file = readdirSync(DEBS, { withFileTypes: true }).find(
    (f) => f.isFile() && f.name.startsWith(`${pkg}_`) && f.name.endsWith('.deb'),
  );
  if (file === undefined)
    throw new Error(`${pkg}_*.deb is not in ${DEBS}: run npm run setup (apt-get download)`);
  return path.join(DEBS, file.name);
}

/** A Debian version without its epoch and revision: the upstream version packages carry. */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]+$/, '');
}

/** One control field of a .deb, as dpkg-deb reads it. */
export function debField(deb: string, field: string): string {
  return execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();
}

/** The .deb's files (all, or only those under the `only` paths) extracted into `dir`. */
function debExtract(deb: string, dir: string, only?: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  const files = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir, ...(only ?? []).map((p) => `./${p}`)], { input: files });
}

/**
 * Unpacks the .deb into `root` with dpkg, which records it in `root`'s dpkg database (status
 * `install ok unpacked`) with its file list. The package is first rebuilt without its
 * maintainer scripts: dpkg would run them on this machine, not in `root`. `only` keeps just
 * the files under those paths (and the directories above them), for packages whose thousands
 * of other files a test does not need; the control data stays the package's own.
 */
export function dpkgUnpack(root: string, deb: string, only?: readonly string[]): void {
  const work = mkdtempSync(path.join(tmpdir(), 'bosun-deb-'));
  try {
    const tree = path.join(work, 'tree');
    debExtract(deb, tree, only);
    execFileSync('dpkg-deb', ['-e', deb, path.join(tree, 'DEBIAN')]);
    for (const script of ['preinst', 'postinst', 'prerm', 'postrm'])
      rmSync(path.join(tree, 'DEBIAN', script), { force: true });
    // dpkg-deb refuses conffiles that the tree does not hold (those `only` left out).
    const conffiles = path.join(tree, 'DEBIAN', 'conffiles');
    if (existsSync(conffiles)) {
      const kept = readFileSync(conffiles, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('/') && existsSync(path.join(tree, line)));
      if (kept.length === 0) rmSync(conffiles);
      else writeFileSync(conffiles, `${kept.join('\n')}\n`);
    }
    const rebuilt = path.join(work, 'rebuilt.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '-b', tree, rebuilt], {
      stdio: 'ignore',
    });
    mkdirSync(path.join(root, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(path.join(root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(path.join(root, 'var/lib/dpkg/status'), '', { flag: 'a' });
    execFileSync(
      'dpkg',
      [
        '--root',
        root,
        '--force-depends',
        '--force-not-root',
        '--force-script-chrootless',
        '--force-unsafe-io',
        '--unpack',
        rebuilt,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
