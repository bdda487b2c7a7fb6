/**
 * Real Debian images, built once and cached under .local: a debootstrap'd bookworm root
 * filesystem (minbase plus the packages asked for, one per package set), split into two gzip layers (/usr, then the
 * rest), optionally with an application layer of real files on top, written as a `docker save`
 * archive (Docker 25+ layout: layers under blobs/sha256/). The benchmarks use a large one with
 * a few hundred MB of packages; the demo and bench:pipeline a minimal one with an application.
 * The Debian mirror is the one this machine's apt uses, so nothing here names a host.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './local/services.js';

export const BENCH_DIR = path.join(PROJECT_ROOT, '.local', 'bench');
const BENCH_PACKAGES = [
  'python3',
  'perl',
  'git',
  'curl',
  'gcc',
  'g++',
  'make',
  'openssh-client',
  'libssl-dev',
  'vim-tiny',
  'ca-certificates',
];

export interface DebianImageOptions {
  /** Cache folder: the root filesystem, the archive and its record live here. */
  readonly dir: string;
  /** Packages debootstrap adds to minbase. */
  readonly packages: readonly string[];
  /** Files of an application layer on top: path in the image -> file on this machine. */
  readonly app?: Readonly<Record<string, string>>;
  readonly repoTag: string;
}

/** The benchmarks' large image (bench:layers, bench:inventory). */
export const BENCH_IMAGE: DebianImageOptions = {
  dir: BENCH_DIR,
  packages: BENCH_PACKAGES,
  repoTag: 'bosun-bench/debian:bookworm',
};

/** The first Debian mirror in apt's sources (deb822 or one-line format). */
export function aptMirror(): string {
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+)/m.exec(text);
    if (deb822?.[1] !== undefined && !deb822[1].includes('security')) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text);
    if (oneLine?.[1] !== undefined) return oneLine[1];
  }
  throw new Error('no Debian mirror found in apt sources; cannot debootstrap');
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export interface BenchImage {
  /** The `docker save` archive. */
  readonly archive: string;
  /** The gzip layer files, for the floor measurement. */
  readonly layers: string[];
  readonly rootfsBytes: number;
}

export async function debianImage(
  log: (line: string) => void,
  options: DebianImageOptions = BENCH_IMAGE,
): Promise<BenchImage> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  // The root filesystem depends only on the package set: images with the same set (the demo's
  // and the language benchmark's minbase) share one debootstrap.
  const rootfs = path.join(
    PROJECT_ROOT,
    '.local',
    'debian-rootfs',
    options.packages.length === 0
      ? 'minbase'
      : `minbase-${createHash('sha256')
          .update([...options.packages].sort().join(','))
          .digest('hex')
          .slice(0, 12)}`,
  );
  const staging = path.join(dir, 'debian-archive');
  const archive = path.join(dir, 'debian.docker.tar');
  const done = path.join(dir, 'debian.done.json');
  // The record names files relative to its folder: a checkout moved elsewhere keeps its cache.
  if (existsSync(done) && existsSync(archive)) {
    const cached = JSON.parse(readFileSync(done, 'utf8')) as BenchImage;
    return {
      ...cached,
      archive: path.resolve(dir, cached.archive),
      layers: cached.layers.map((l) => path.resolve(dir, l)),
    };
  }

  if (!existsSync(path.join(rootfs, 'etc', 'debian_version'))) {
    rmSync(rootfs, { recursive: true, force: true });
    const tmp = `${rootfs}.partial`;
    mkdirSync(path.dirname(rootfs), { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    log(
      `debootstrap bookworm (minbase${options.packages.length === 0 ? '' : ` + ${options.packages.length} packages`}; once, a few minutes)`,
    );
    execFileSync(
      'debootstrap',
      [
        '--variant=minbase',
        ...(options.packages.length === 0 ? [] : [`--include=${options.packages.join(',')}`]),
        'bookworm',
        tmp,
        aptMirror(),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    renameSync(tmp, rootfs);
  }
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'blobs', 'sha256'), { recursive: true });
  const layers: { file: string; digest: string; diffId: string }[] = [];
  // Two layers: /usr, then everything else, as a base and an application layer would be.
  const splits: [string, string[]][] = [
    ['usr', ['./usr']],
    [
      'rest',
      ['--exclude=./usr', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*', '.'],
    ],
  ];
  const appRoot = path.join(staging, 'app-root');
  if (options.app !== undefined) {
    for (const [inImage, source] of Object.entries(options.app)) {
      mkdirSync(path.dirname(path.join(appRoot, inImage)), { recursive: true });
      copyFileSync(source, path.join(appRoot, inImage));
    }
  }
  const layerSources: [string, string, string[]][] = [
    ...splits.map(([name, args]): [string, string, string[]] => [name, rootfs, args]),
    ...(options.app === undefined ? [] : [['app', appRoot, ['.']] as [string, string, string[]]]),
  ];
  for (const [name, root, args] of layerSources) {
    const tarFile = path.join(staging, `${name}.tar`);
    execFileSync('tar', ['--numeric-owner', '--sort=name', '-C', root, '-cf', tarFile, ...args]);
    const diffId = await sha256File(tarFile);
    execFileSync('gzip', ['-6', '-n', tarFile]);
    const gz = `${tarFile}.gz`;
    const digest = await sha256File(gz);
    const blob = path.join(staging, 'blobs', 'sha256', digest.slice(7));
    renameSync(gz, blob);
    layers.push({ file: blob, digest, diffId });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  writeFileSync(path.join(staging, 'blobs', 'sha256', configDigest.slice(7)), config);
  writeFileSync(
    path.join(staging, 'manifest.json'),
    JSON.stringify([
      {
        Config: `blobs/sha256/${configDigest.slice(7)}`,
        RepoTags: [options.repoTag],
        Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]),
  );
  execFileSync('tar', ['-C', staging, '-cf', archive, 'manifest.json', 'blobs']);
  const rootfsBytes = Number(
    execFileSync('du', ['-sb', rootfs], { encoding: 'utf8' }).split('\t')[0],
  );
  const image: BenchImage = { archive, layers: layers.map((l) => l.file), rootfsBytes };
  writeFileSync(
    done,
    JSON.stringify({
      ...image,
      archive: path.relative(dir, image.archive),
      layers: image.layers.map((l) => path.relative(dir, l)),
    }),
  );
  log(
    `image written: ${archive} (${(statSync(archive).size / 1e6).toFixed(0)} MB, rootfs ${(rootfsBytes / 1e6).toFixed(0)} MB)`,
  );
  return image;
}
