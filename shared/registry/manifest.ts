/**
 * Image manifests and indexes (OCI image-spec v1.1 and Docker schema 2), validated on parse.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md
 */
import * as z from 'zod';
import { describeIssues } from '../zod-issues.js';
import { isDigest } from './digest.js';
import { ManifestError, ManifestTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { MediaType } from './media-types.js';

/** The distribution spec lets registries refuse manifests over 4 MiB; so do we. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** Image configs are small JSON documents; anything larger is hostile. */
export const CONFIG_MAX_BYTES = 8 * 1024 * 1024;

const digest = z.string().refine(isDigest, 'a sha256 or sha512 digest');

export const platformSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
});
export type Platform = z.infer<typeof platformSchema>;

export const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).max(1000),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema).max(10_000),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type ImageManifest = z.infer<typeof imageManifestSchema> & {
  readonly kind: 'image';
  readonly mediaType: string;
};
export type ImageIndex = z.infer<typeof indexSchema> & {
  readonly kind: 'index';
  readonly mediaType: string;
};
export type Manifest = ImageManifest | ImageIndex;

const IMAGE_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);

function baseType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function parseJson(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.length > maxBytes)
    throw new ManifestTooLargeError(
      `${what}: ${bytes.length} bytes is over the ${maxBytes}-byte limit`,
    );
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (cause) {
    throw new ManifestError(`${what}: not JSON (${(cause as Error).message})`, { cause });
  }
}

/**
 * Parses a manifest or index. Its `mediaType` field decides the kind; when the field is absent
 * (allowed by both specs) the HTTP Content-Type does, then the document's shape.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  what = 'manifest',
): Manifest {
  const json = parseJson(bytes, MANIFEST_MAX_BYTES, what);
  if (json === null || typeof json !== 'object')
    throw new ManifestError(`${what}: not a JSON object`);
  const doc = json as Record<string, unknown>;
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : baseType(contentType);
  if (
    doc.schemaVersion === 1 ||
    declared === MediaType.dockerSchema1 ||
    declared === MediaType.dockerSchema1Signed
  ) {
    throw new ManifestError(
      `${what}: Docker schema 1 manifests are deprecated and not supported; push the image again with a current client`,
    );
  }
  const isIndex =
    declared !== undefined && INDEX_TYPES.has(declared)
      ? true
      : declared !== undefined && IMAGE_TYPES.has(declared)
        ? false
        : undefined;
  const kind =
    isIndex ?? (Array.isArray(doc.manifests) ? true : 'config' in doc ? false : undefined);
  if (kind === undefined) throw new UnsupportedMediaTypeError(declared ?? '(none)', what);
  if (kind) {
    const parsed = indexSchema.safeParse(doc);
    if (!parsed.success)
      throw new ManifestError(`${what}: invalid index: ${describeIssues(parsed.error).join('; ')}`);
    return { ...parsed.data, kind: 'index', mediaType: declared ?? MediaType.ociIndex };
  }
  const parsed = imageManifestSchema.safeParse(doc);
  if (!parsed.success)
    throw new ManifestError(
      `${what}: invalid manifest: ${describeIssues(parsed.error).join('; ')}`,
    );
  return { ...parsed.data, kind: 'image', mediaType: declared ?? MediaType.ociManifest };
}

/** https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md */
const imageConfigSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  created: z.string().optional(),
  config: z
    .object({
      Env: z.array(z.string()).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      User: z.string().optional(),
      WorkingDir: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullish(),
    })
    .passthrough()
    .nullish(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digest).max(1000) }),
  history: z
    .array(
      z
        .object({
          created: z.string().optional(),
          created_by: z.string().optional(),
          empty_layer: z.boolean().optional(),
          comment: z.string().optional(),
        })
        .passthrough(),
    )
    .optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export function parseImageConfig(bytes: Uint8Array, what = 'image config'): ImageConfig {
  const json = parseJson(bytes, CONFIG_MAX_BYTES, what);
  const parsed = imageConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new ManifestError(
      `${what}: invalid image config: ${describeIssues(parsed.error).join('; ')}`,
    );
  return parsed.data;
}
