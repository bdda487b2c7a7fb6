/**
 * Which distribution an image is, and the advisory ecosystems its packages are matched against
 * (shared/ecosystems.ts, OS_FAMILIES): os-release first (`etc/os-release`, then
 * `usr/lib/os-release`), then the families' own release files.
 */
import { advisoryEcosystemsOf, OS_FAMILIES, type OsRelease } from '../../../ecosystems.js';
import { parseOsRelease } from './os-release.js';

export interface OsInfo {
  /** os-release ID: `debian`, `ubuntu`, `alpine`, `almalinux`, ... */
  readonly family: string;
  readonly versionId?: string;
  readonly codename?: string;
  readonly prettyName?: string;
  /**
   * The advisory ecosystem OS packages are keyed by; undefined when there is none for this
   * release (Debian sid, Alpine edge) or family (OS_FAMILIES says why).
   */
  readonly ecosystem?: string;
  /** Further advisory ecosystems OS packages are matched against (Red Hat's per repository). */
  readonly extraEcosystems?: readonly string[];
  /**
   * The repositories (content sets) the image's RPMs came from, as its Red Hat content
   * manifests name them (content-manifests.ts); sorted, without repeats.
   */
  readonly contentSets?: readonly string[];
  /**
   * The day the release's support ends (os-release `SUPPORT_END`, YYYY-MM-DD), when the image
   * says: past it, the publisher fixes nothing more, whatever the advisories say.
   * https://www.freedesktop.org/software/systemd/man/latest/os-release.html#SUPPORT_END=
   */
  readonly supportEnd?: string;
}

const OS_RELEASE_FILES = ['etc/os-release', 'usr/lib/os-release'] as const;

/** Every file OS detection reads. */
export const OS_FILES: readonly string[] = [
  ...OS_RELEASE_FILES,
  ...OS_FAMILIES.flatMap((f) => (f.releaseFile === undefined ? [] : [f.releaseFile.path])),
];

function osInfo(
  release: OsRelease,
  more: { codename?: string; prettyName?: string; supportEnd?: string },
): OsInfo {
  const [ecosystem, ...extra] = advisoryEcosystemsOf(release);
  return {
    family: release.id,
    ...(release.versionId === undefined ? {} : { versionId: release.versionId }),
    ...(more.codename === undefined ? {} : { codename: more.codename }),
    ...(more.prettyName === undefined ? {} : { prettyName: more.prettyName }),
    ...(more.supportEnd === undefined ? {} : { supportEnd: more.supportEnd }),
    ...(ecosystem === undefined ? {} : { ecosystem }),
    ...(extra.length === 0 ? {} : { extraEcosystems: extra }),
  };
}

/** Reads what `read(path)` returns for the OS files (undefined when absent). */
export function detectOs(read: (path: string) => Buffer | undefined): OsInfo | undefined {
  for (const file of OS_RELEASE_FILES) {
    const content = read(file);
    if (content === undefined) continue;
    const r = parseOsRelease(content.toString('utf8'));
    if (r.ID === undefined || r.ID === '') continue;
    return osInfo(
      {
        id: r.ID,
        ...(r.VERSION_ID === undefined ? {} : { versionId: r.VERSION_ID }),
        ...(r.VERSION === undefined ? {} : { version: r.VERSION }),
      },
      {
        ...(r.VERSION_CODENAME === undefined ? {} : { codename: r.VERSION_CODENAME }),
        ...(r.PRETTY_NAME === undefined ? {} : { prettyName: r.PRETTY_NAME }),
        // Only a real date: os-release says YYYY-MM-DD; anything else is not a date we can act on.
        ...(/^\d{4}-\d{2}-\d{2}$/.test(r.SUPPORT_END ?? '') &&
        !Number.isNaN(Date.parse(r.SUPPORT_END as string))
          ? { supportEnd: r.SUPPORT_END as string }
          : {}),
      },
    );
  }
  for (const family of OS_FAMILIES) {
    const file = family.releaseFile;
    const content = file === undefined ? undefined : read(file.path)?.toString('utf8');
    const versionId = content === undefined ? undefined : file?.versionId(content);
    const id = family.osReleaseIds[0];
    if (versionId !== undefined && id !== undefined) return osInfo({ id, versionId }, {});
  }
  return undefined;
}
