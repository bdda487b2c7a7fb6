/**
 * Installed, not declared: in an image, what `node_modules` holds is the truth, and a lockfile
 * beside it is only a declaration. Checked against npm itself on a real project that npm
 * installed at setup (scripts/npm-project.sh): `npm ci --omit=dev` leaves the development
 * dependencies out, a later layer removes a package, and a source checkout has only its lockfile.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { RootfsDirSource } from '../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../shared/image/types.js';
import { buildInventory } from '../../../shared/inventory/inventory.js';
import { setupFile } from '../../support/fixtures.js';
import { filesUnder, LayoutWriter, type TarFile, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-installed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let project = '';
beforeAll(() => {
  project = path.dirname(setupFile('npm-project/npm-ls.json'));
});

interface NpmLsNode {
  readonly version?: string;
  readonly missing?: boolean;
  readonly dependencies?: Record<string, NpmLsNode>;
}

/** `name@version` of every package `npm ls --all --json` says is installed. */
function installedByNpm(tree: NpmLsNode): string[] {
  const out = new Set<string>();
  const stack: NpmLsNode[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop() as NpmLsNode;
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.missing === true || child.version === undefined) continue;
      out.add(`${name}@${child.version}`);
      stack.push(child);
    }
  }
  return [...out].sort();
}

/** What npm says is installed in a copy of the project (offline: `npm ls` reads the disk). */
function npmLs(dir: string): string[] {
  const run = spawnSync('npm', ['ls', '--all', '--json', '--omit=dev'], {
    cwd: dir,
    encoding: 'utf8',
  });
  // npm ls exits 1 when a dependency is missing, and still prints the tree.
  return installedByNpm(JSON.parse(run.stdout) as NpmLsNode);
}

const npmPackages = async (image: Image) =>
  (await buildInventory(image)).packages
    .filter((p) => p.type === 'npm')
    .map((p) => `${p.name}@${p.version}`)
    .filter((v, i, all) => all.indexOf(v) === i)
    .sort();

/** The project's files in an image layer, in a folder whose name has a `#` (locations use one). */
const APP = 'srv/app#1';
const projectFiles = (): TarFile[] =>
  filesUnder(project)
    .filter((f) => !f.path.startsWith('npm-ls.json'))
    .map((f) => ({ ...f, path: `${APP}/${f.path}` }));

async function imageOf(name: string, layers: Buffer[]): Promise<Image> {
  const dir = path.join(work, name);
  const w = new LayoutWriter(dir);
  w.finish(w.image({ architecture: 'amd64', layers }), 'latest');
  return (await new OciLayoutSource(dir, 'latest').images()).images[0] as Image;
}

describe('installed, not declared', () => {
  it('reports what `npm ci --omit=dev` installed, not the lockfile: no development dependency', async () => {
    const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    // The lockfile declares the development dependencies npm did not install.
    expect(Object.entries(lock.packages).filter(([, e]) => e.dev === true).length).toBeGreaterThan(
      0,
    );
    const image = await imageOf('omit-dev', [await tarOf(projectFiles())]);
    const installed = JSON.parse(readFileSync(path.join(project, 'npm-ls.json'), 'utf8'));
    expect(await npmPackages(image)).toEqual(installedByNpm(installed));
    expect(await npmPackages(image)).not.toContain('supports-color@7.2.0');
  });

  it('drops a package a later layer removed from node_modules, as npm ls does', async () => {
    const removed = 'typedarray';
    const copy = path.join(work, 'removed-copy');
    cpSync(project, copy, { recursive: true });
    rmSync(path.join(copy, 'node_modules', removed), { recursive: true });
    const expected = npmLs(copy);
    expect(expected.some((p) => p.startsWith(`${removed}@`))).toBe(false);
    const image = await imageOf('removed', [
      await tarOf(projectFiles()),
      await tarOf([{ path: `${APP}/node_modules/.wh.${removed}` }]),
    ]);
    expect(await npmPackages(image)).toEqual(expected);
  });

  it('reads the lockfile of a source checkout with no installed tree, as declared and without dev entries', async () => {
    const checkout = path.join(work, 'checkout');
    cpSync(path.join(project, 'package.json'), path.join(checkout, 'package.json'));
    cpSync(path.join(project, 'package-lock.json'), path.join(checkout, 'package-lock.json'));
    const [image] = (await new RootfsDirSource(checkout).images()).images;
    const inventory = await buildInventory(image as Image);
    const declared = inventory.packages.filter((p) => p.type === 'npm');
    expect(declared.every((p) => p.declared === true)).toBe(true);
    // The same packages npm installs without development dependencies.
    const installed = JSON.parse(readFileSync(path.join(project, 'npm-ls.json'), 'utf8'));
    expect([...new Set(declared.map((p) => `${p.name}@${p.version}`))].sort()).toEqual(
      installedByNpm(installed),
    );
    // Asked for, the development dependencies are there too.
    const all = await buildInventory(image as Image, { devDependencies: true });
    expect(all.packages.map((p) => p.name)).toContain('supports-color');
  });
});
