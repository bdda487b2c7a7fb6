/**
 * Which distribution an image is, and the OSV ecosystem its advisories use
 * (https://ossf.github.io/osv-schema/#defined-ecosystems): os-release first
 * (`etc/os-release`, then `usr/lib/os-release`), then the distro's own release files.
 */
import { parseOsRelease } from './os-release.js';

export interface OsInfo {
  /** os-release ID: `debian`, `ubuntu`, `alpine`, `almalinux`, ... */
  readonly family: string;
  readonly versionId?: string;
  readonly codename?: string;
  readonly prettyName?: string;
  /** Undefined when OSV has no ecosystem for this release (Debian sid, Alpine edge). */
  readonly ecosystem?: string;
}

export const OS_FILES = [
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
  'etc/redhat-release',
] as const;

const major = (v: string | undefined) => /^(\d+)/.exec(v ?? '')?.[1];

export function osvEcosystem(
  family: string,
  versionId: string | undefined,
  version: string | undefined,
): string | undefined {
  switch (family) {
    case 'debian':
      return major(versionId) === undefined ? undefined : `Debian:${major(versionId)}`;
    case 'ubuntu':
      return versionId === undefined
        ? undefined
        : `Ubuntu:${versionId}${/LTS/.test(version ?? '') ? ':LTS' : ''}`;
    case 'alpine': {
      // edge carries the next release with a suffix (3.19_alpha20230901): no OSV ecosystem.
      const m = /^(\d+)\.(\d+)(?:\.\d+)*$/.exec(versionId ?? '');
      return m === null ? undefined : `Alpine:v${m[1]}.${m[2]}`;
    }
    case 'almalinux':
      return major(versionId) === undefined ? undefined : `AlmaLinux:${major(versionId)}`;
    case 'rocky':
      return major(versionId) === undefined ? undefined : `Rocky Linux:${major(versionId)}`;
    case 'mariner':
    case 'azurelinux':
      return versionId === undefined ? undefined : `Mariner:${versionId}`;
    case 'opensuse-leap':
      return versionId === undefined ? undefined : `openSUSE:Leap ${versionId}`;
    default:
      return undefined;
  }
}

/** Reads what `read(path)` returns for the OS files (undefined when absent). */
export function detectOs(read: (path: string) => Buffer | undefined): OsInfo | undefined {
  for (const file of ['etc/os-release', 'usr/lib/os-release']) {
    const content = read(file);
    if (content === undefined) continue;
    const r = parseOsRelease(content.toString('utf8'));
    if (r.ID === undefined || r.ID === '') continue;
    const ecosystem = osvEcosystem(r.ID, r.VERSION_ID, r.VERSION);
    return {
      family: r.ID,
      ...(r.VERSION_ID === undefined ? {} : { versionId: r.VERSION_ID }),
      ...(r.VERSION_CODENAME === undefined ? {} : { codename: r.VERSION_CODENAME }),
      ...(r.PRETTY_NAME === undefined ? {} : { prettyName: r.PRETTY_NAME }),
      ...(ecosystem === undefined ? {} : { ecosystem }),
    };
  }
  const alpine = read('etc/alpine-release')?.toString('utf8').trim();
  if (alpine !== undefined && alpine !== '') {
    const ecosystem = osvEcosystem('alpine', alpine, undefined);
    return {
      family: 'alpine',
      versionId: alpine,
      ...(ecosystem === undefined ? {} : { ecosystem }),
    };
  }
  const debian = read('etc/debian_version')?.toString('utf8').trim();
  if (debian !== undefined && debian !== '') {
    // `12.5` on a release, `bookworm/sid` on testing and unstable.
    const ecosystem = osvEcosystem('debian', /^\d/.test(debian) ? debian : undefined, undefined);
    return {
      family: 'debian',
      versionId: debian,
      ...(ecosystem === undefined ? {} : { ecosystem }),
    };
  }
  return undefined;
}
