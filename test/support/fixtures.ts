import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR } from '../../scripts/demo-data.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A file that `npm run setup` fetched or built under .local/tools, or an error saying so. */
export function setupFile(relative: string): string {
  const file = path.join(PROJECT_ROOT, '.local', 'tools', relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run setup`);
  return file;
}

/** Reads `test/fixtures/<relative>` as text. */
export function fixtureText(relative: string): string {
  return readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', relative), 'utf8');
}

export function fixtureJson<T = unknown>(relative: string): T {
  return JSON.parse(fixtureText(relative)) as T;
}

/** The shared real-data folder: BOSUN_DATA_DIR, or ../shared/data beside the project. */
export const dataDir = (): string => DATA_DIR;

/**
 * Every real os-release file of the OS-detection corpora in the shared data (syft's and
 * python-distro's, every family), sorted.
 */
export function osReleaseCorpus(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'os-release') out.push(p);
    }
  };
  for (const corpus of [
    'pkgdbs/syft/syft/linux/testdata/os',
    'pkgdbs/syft/internal/os/testdata',
    'pkgdbs/python-distro/tests/resources/distros',
  ])
    walk(path.join(DATA_DIR, corpus));
  // Trivy's os-release files, one per distribution, each named after it (`opensusetumbleweed`).
  const trivy = path.join(DATA_DIR, 'pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata');
  for (const name of readdirSync(trivy))
    if (statSync(path.join(trivy, name)).isFile()) out.push(path.join(trivy, name));
  return out.sort();
}

/**
 * A root filesystem of real Alpine 3.4 files under `dir`: claircore's os-release and trivy's apk
 * database (which has one deliberately broken entry). Returns its path.
 */
export function alpine34Rootfs(dir: string): string {
  const rootfs = path.join(dir, 'alpine-3.4');
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  mkdirSync(path.join(rootfs, 'lib/apk/db'), { recursive: true });
  copyFileSync(
    path.join(dataDir(), 'pkgdbs/claircore/alpine/testdata/3.4/etc/os-release'),
    path.join(rootfs, 'etc/os-release'),
  );
  copyFileSync(
    path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk'),
    path.join(rootfs, 'lib/apk/db/installed'),
  );
  return rootfs;
}

/** The real alpine:3.10 image (trivy's `docker save` archive) and its inventory. */
export async function alpine310() {
  const { DockerArchiveSource } = await import('../../shared/image/docker-archive.js');
  const { buildInventory } = await import('../../shared/inventory/inventory.js');
  const set = await new DockerArchiveSource(
    path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz'),
  ).images();
  const image = set.images[0];
  if (image === undefined) throw new Error('alpine-310.tar.gz holds no image');
  return { image, inventory: await buildInventory(image) };
}
