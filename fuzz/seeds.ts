/**
 * Where the fuzz targets' seeds come from: real files only, from the shared data folder
 * (BOSUN_DATA_DIR), the project's own files, and what `npm run setup` fetched into .local (the
 * Debian packages and the Go and Rust binaries). A seed that is missing is an error naming it:
 * a target never silently runs on fewer seeds than it names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR } from '../scripts/demo-data.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Seed {
  /** Where it came from, relative to its root (`data:pkgdbs/...`, `deb:ruby-rack:./usr/...`). */
  readonly name: string;
  readonly bytes: Buffer;
}

function read(file: string, name: string): Seed {
  if (!existsSync(file)) throw new Error(`fuzz seed ${name} is missing (${file})`);
  return { name, bytes: readFileSync(file) };
}

/** Files of the shared data folder. */
export const data = (...relatives: string[]): Seed[] =>
  relatives.map((r) => read(path.join(DATA_DIR, r), `data:${r}`));

/** Files of this repository (its lockfile, its installed packages' manifests, test fixtures). */
export const project = (...relatives: string[]): Seed[] =>
  relatives.map((r) => read(path.join(PROJECT_ROOT, r), `project:${r}`));

/** Files that `npm run setup` built or fetched under .local/tools. */
export const tool = (...relatives: string[]): Seed[] =>
  relatives.map((r) => read(path.join(PROJECT_ROOT, '.local/tools', r), `tool:${r}`));

/** Every file under a shared-data folder whose name matches, smallest first, at most `max`. */
export function dataFiles(relative: string, match: RegExp, max: number): Seed[] {
  const root = path.join(DATA_DIR, relative);
  const found: { file: string; size: number }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && match.test(p)) found.push({ file: p, size: statSync(p).size });
    }
  };
  walk(root);
  if (found.length === 0) throw new Error(`fuzz seeds: no file matching ${match} under ${root}`);
  return found
    .sort((a, b) => a.size - b.size || (a.file < b.file ? -1 : 1))
    .slice(0, max)
    .map((f) => read(f.file, `data:${path.relative(DATA_DIR, f.file)}`));
}

function debPath(pkg: string): string {
  const dir = path.join(PROJECT_ROOT, '.local/debs');
  const name = existsSync(dir)
    ? readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'))
    : undefined;
  if (name === undefined) throw new Error(`fuzz seed ${pkg}_*.deb is missing: run npm run setup`);
  return path.join(dir, name);
}

/** A real Debian package's file tree as the tar stream dpkg itself produces (`--fsys-tarfile`). */
const debTars = new Map<string, Buffer>();

export function debTar(pkg: string): Seed {
  const bytes =
    debTars.get(pkg) ??
    execFileSync('dpkg-deb', ['--fsys-tarfile', debPath(pkg)], {
      maxBuffer: 512 * 1024 * 1024,
    });
  debTars.set(pkg, bytes);
  return { name: `deb:${pkg}`, bytes };
}

/** One file of a real Debian package. */
export function debMember(pkg: string, member: string): Seed {
  const bytes = execFileSync('tar', ['-xO', `./${member}`], {
    input: debTar(pkg).bytes,
    maxBuffer: 512 * 1024 * 1024,
  });
  return { name: `deb:${pkg}:${member}`, bytes };
}

/** A seed compressed by the real zstd tool (Node 20 has no zstd encoder). */
export function zstd(seed: Seed): Seed {
  const bytes = execFileSync('zstd', ['-q', '-c', '-3'], {
    input: seed.bytes,
    maxBuffer: 512 * 1024 * 1024,
  });
  return { name: `zstd(${seed.name})`, bytes };
}
