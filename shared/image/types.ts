import type { Readable } from 'node:stream';
import type { ImageConfig, Platform } from '../registry/manifest.js';

/** One layer of an image, opened on demand as its stored (usually compressed) byte stream. */
export interface ImageLayer {
  /** Digest of the stored blob, when the source has one; its content is verified against it. */
  readonly digest?: string;
  /**
   * Digest of the uncompressed tar (`rootfs.diff_ids` of the config). The same for the same
   * layer whether it came from a registry, an archive or a layout (a claim of the config: only
   * legacy archives verify layers by it).
   */
  readonly diffId?: string;
  readonly mediaType?: string;
  readonly size?: number;
  open(): Promise<Readable>;
}

/** What every image source yields, whatever the source: the same walker reads them all. */
export interface Image {
  /** Where it came from, for messages: `127.0.0.1:5000/app:1.0`, `docker-archive:/tmp/a.tar`. */
  readonly source: string;
  readonly manifestDigest?: string;
  /** The index it was chosen from, for multi-platform images. */
  readonly indexDigest?: string;
  readonly platform: Platform;
  readonly config: ImageConfig;
  readonly configDigest?: string;
  readonly layers: readonly ImageLayer[];
  readonly tags?: readonly string[];
}

export interface SkippedManifest {
  readonly digest?: string;
  readonly reason: string;
  /** The image's platform, when it was skipped for not being one of those asked for. */
  readonly platform?: string;
}

export interface ImageSet {
  readonly images: Image[];
  /** Attestations, signatures, SBOMs and platforms not asked for. */
  readonly skipped: SkippedManifest[];
}

export interface SelectOptions {
  /** `os/architecture[/variant]` to keep, e.g. `linux/arm64/v8`; all platforms when absent. */
  readonly platforms?: readonly string[];
}

export interface ImageSource {
  images(options?: SelectOptions): Promise<ImageSet>;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

/** `linux/arm64` matches `linux/arm64/v8` too: a missing variant in the request is a wildcard. */
export function platformMatches(p: Platform, wanted: readonly string[] | undefined): boolean {
  if (wanted === undefined || wanted.length === 0) return true;
  return wanted.some((w) => {
    const [os, arch, variant] = w.split('/');
    return (
      os === p.os && arch === p.architecture && (variant === undefined || variant === p.variant)
    );
  });
}
