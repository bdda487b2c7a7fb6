/**
 * Builds test images at test time: tar layers from given files, compressed with gzip or zstd,
 * written as an OCI image layout that skopeo can push to the local registry.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { dataDir } from './fixtures.js';

export interface TarFile {
  readonly path: string;
  readonly content?: string | Buffer;
  readonly type?: 'file' | 'directory' | 'symlink' | 'link';
  readonly linkname?: string;
  readonly mode?: number;
}

/** A tar archive of exactly these entries, names as given (hostile ones included). */
export async function tarOf(files: readonly TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const f of files) {
    const type = f.type ?? 'file';
    const content = f.content === undefined ? Buffer.alloc(0) : Buffer.from(f.content);
    const header = {
      name: f.path,
      type,
      mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      ...(f.linkname === undefined ? {} : { linkname: f.linkname }),
      ...(type === 'file' ? { size: content.length } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, content, settle);
      else pack.entry(header, settle);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function zstdCompress(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A layer tarball as stored with that compression. */
export function compress(tarball: Buffer, compression: LayerCompression): Buffer {
  return compression === 'gzip'
    ? gzipSync(tarball)
    : compression === 'zstd'
      ? zstdCompress(tarball)
      : tarball;
}

const LAYER_TYPES: Record<LayerCompression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface TestImage {
  readonly os?: string;
  readonly architecture: string;
  readonly variant?: string;
  /** Uncompressed tar of each layer, base first. */
  readonly layers: readonly Buffer[];
  readonly compression?: LayerCompression;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** Writes blobs into an OCI layout folder, returning their descriptors. */
export class LayoutWriter {
  constructor(readonly dir: string) {
    mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  blob(data: Buffer, mediaType: string): Descriptor {
    const digest = sha256(data);
    writeFileSync(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { mediaType, digest, size: data.length };
  }

  jsonBlob(value: unknown, mediaType: string): Descriptor {
    return this.blob(Buffer.from(JSON.stringify(value)), mediaType);
  }

  manifest(config: Descriptor, layers: readonly Descriptor[]): Descriptor {
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    return this.jsonBlob({ schemaVersion: 2, mediaType, config, layers }, mediaType);
  }

  image(image: TestImage): Descriptor {
    const compression = image.compression ?? 'gzip';
    const layers = image.layers.map((tarball) =>
      this.blob(compress(tarball, compression), LAYER_TYPES[compression]),
    );
    const platform = {
      os: image.os ?? 'linux',
      architecture: image.architecture,
      ...(image.variant === undefined ? {} : { variant: image.variant }),
    };
    const config = this.jsonBlob(
      {
        ...platform,
        config: { Env: ['PATH=/usr/bin:/bin'] },
        rootfs: { type: 'layers', diff_ids: image.layers.map(sha256) },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    return { ...this.manifest(config, layers), platform };
  }

  /** A BuildKit-style attestation manifest for `subject`, as docker buildx pushes it. */
  attestation(subject: Descriptor): Descriptor {
    const statement = this.jsonBlob(
      {
        _type: 'https://in-toto.io/Statement/v0.1',
        predicateType: 'https://spdx.dev/Document',
        subject: [],
      },
      'application/vnd.in-toto+json',
    );
    const config = this.jsonBlob(
      {
        architecture: 'unknown',
        os: 'unknown',
        config: {},
        rootfs: { type: 'layers', diff_ids: [sha256(Buffer.from('x'))] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    return {
      ...this.manifest(config, [statement]),
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': subject.digest,
      },
    };
  }

  /** Writes index.json naming `top` (a manifest or an index written with `index`) as `ref`. */
  finish(top: Descriptor, ref: string): void {
    const { platform: _platform, ...described } = top;
    writeFileSync(
      path.join(this.dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ ...described, annotations: { 'org.opencontainers.image.ref.name': ref } }],
      }),
    );
  }

  index(manifests: readonly Descriptor[]): Descriptor {
    return this.blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests,
        }),
      ),
      'application/vnd.oci.image.index.v1+json',
    );
  }
}

/** Pushes an OCI layout's `ref` to the local registry with skopeo. */
export function pushLayout(
  dir: string,
  ref: string,
  destination: string,
  options: { format?: 'oci' | 'v2s2'; all?: boolean; creds?: string } = {},
): void {
  execFileSync(
    'skopeo',
    [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      ...(options.all === true ? ['--all', '--preserve-digests'] : []),
      ...(options.format === 'v2s2' ? ['--format', 'v2s2'] : []),
      ...(options.creds === undefined ? [] : ['--dest-creds', options.creds]),
      `oci:${dir}:${ref}`,
      `docker://${destination}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Every file under `root` as tar entries (directories too, unless `filesOnly`), in name order. */
export function filesUnder(root: string, options: { filesOnly?: boolean } = {}): TarFile[] {
  const out: TarFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (statSync(path.join(root, r)).isDirectory()) {
        if (options.filesOnly !== true) out.push({ path: `${r}/`, type: 'directory' });
        walk(r);
      } else {
        out.push({ path: r, content: readFileSync(path.join(root, r)) });
      }
    }
  };
  walk('');
  return out;
}

/** The files trivy's derived copy of a real Alpine release holds (os-release, apk database). */
export function derivedFiles(release: string): TarFile[] {
  return filesUnder(path.join(dataDir(), 'pkgdbs/trivy/derived', release));
}
