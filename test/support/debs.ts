/**
 * Real Debian packages that `npm run setup` fetched with `apt-get download` into .local/debs,
 * and what dpkg itself makes of them: their control fields, their files, and a dpkg database
 * (status and info/*.list) written by `dpkg --root … --unpack`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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

/**
 * Unpacks the .deb into `root` with dpkg, which records it in `root`'s dpkg database (status
 * `install ok unpacked`: its maintainer scripts are not run) with its file list.
 */
export function dpkgUnpack(root: string, deb: string): void {
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
      '--unpack',
      deb,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}
