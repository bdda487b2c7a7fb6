/**
 * Discovery (issue 19, item 1): for an image digest, the signatures and attestations stored
 * beside it in its registry, fetched and checked against their digests, ready for the verifiers.
 *
 * Where they are looked for:
 * - cosign's tags `<alg>-<hex>.sig`, `.att` and `.sbom` (cosign/specs/SIGNATURE_SPEC.md,
 *   "Tag-based Discovery"; ATTESTATION_SPEC.md; SBOM_SPEC.md);
 * - the referrers of the digest: ECR's ListImageReferrers when the caller gives a lister for it,
 *   else the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`), and where that API
 *   answers 404, the referrers tag `<alg>-<hex>` holding an image index:
 *   https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
 *   https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#referrers-tag-schema
 *   Notation signatures (artifactType `application/vnd.cncf.notary.signature`) and cosign v3
 *   bundles (`application/vnd.dev.sigstore.bundle.v0.3+json`, cosign/specs/BUNDLE_SPEC.md) are
 *   found this way.
 *
 * Bounds: each manifest and blob is at most 4 MiB (`maxBytes`), an artifact has at most 64
 * layers, and at most 64 referrers (`maxArtifacts`) are read besides the three cosign tags. A
 * broken, oversized or lying artifact is a problem on the result and the others are still read;
 * only fatal errors (registry credentials refused) and the caller's signal stop discovery.
 * Discovery never follows the referrers of a referrer, so a cycle of subjects cannot loop it.
 */
import {
  ListImageReferrersCommand,
  type ListImageReferrersCommandOutput,
} from '@aws-sdk/client-ecr';
import { BosunError } from '../errors.js';
import { ecrAccountOf } from '../registry/auth.js';
import type { RegistryClient } from '../registry/client.js';
import { algorithmOf, digestOf, isDigest } from '../registry/digest.js';
import {
  DigestMismatchError,
  ManifestError,
  ManifestTooLargeError,
  NotFoundError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from '../registry/errors.js';
import type { Descriptor, ImageManifest } from '../registry/manifest.js';
import { MANIFEST_MAX_BYTES } from '../registry/manifest.js';
import type { Scope } from '../registry/token-auth.js';
import { ArtifactType, type DiscoveredArtifact, type DiscoveryRoute } from './types.js';

export { ArtifactType };

/** The suffixes of cosign's tags: signatures, attestations, attached SBOMs. */
export const COSIGN_TAG_SUFFIXES = ['sig', 'att', 'sbom'] as const;
export type CosignTagSuffix = (typeof COSIGN_TAG_SUFFIXES)[number];

/** Signature manifests and payloads are a few KiB; 4 MiB is the spec's manifest limit. */
export const ARTIFACT_MAX_BYTES = MANIFEST_MAX_BYTES;
/** Referrers read per image: far more than the signers of any real image. */
export const MAX_ARTIFACTS = 64;
/** Layers read per artifact (cosign appends one per signature to the `.sig` manifest). */
export const MAX_LAYERS = 64;
/**
 * Bytes of manifests and blobs kept for one image, all artifacts together: 64 artifacts of 64
 * layers of 4 MiB each would otherwise be 16 GiB held from one hostile registry. Real signatures
 * of an image are a few KiB each.
 */
export const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Pages of a referrers list read before giving up on the rest. */
const MAX_PAGES = 16;

export type DiscoveryProblemCode =
  /**
   * A manifest or blob over `maxBytes`, an artifact with more than MAX_LAYERS layers, or one that
   * would take the image's artifacts past `maxTotalBytes`.
   */
  | 'TOO_LARGE'
  /** More referrers than `maxArtifacts`: the rest were not read. */
  | 'TOO_MANY'
  /** Bytes that do not hash to the digest (or size) they were addressed by. */
  | 'DIGEST_MISMATCH'
  /** A referrer that is the subject itself. */
  | 'LOOP'
  /** A referrer whose manifest names another subject (or none) than the one it was listed for. */
  | 'SUBJECT_MISMATCH'
  | 'MALFORMED'
  /** An index where an artifact manifest was expected, or a media type we do not read. */
  | 'UNSUPPORTED'
  /** Listed but absent, or an error the registry answered with. */
  | 'REGISTRY';

export interface DiscoveryProblem {
  /** What was being read: `cosign-tag sha256-….sig`, `referrers-api`, `artifact sha256:…`. */
  readonly where: string;
  readonly code: DiscoveryProblemCode;
  readonly message: string;
}

export interface DiscoveryResult {
  readonly artifacts: DiscoveredArtifact[];
  readonly problems: DiscoveryProblem[];
}

/** Lists an image's referrers by some API other than the registry's own (ECR's). */
export interface ReferrerLister {
  /** The descriptors of the manifests whose subject is `subject`, at most `limit + 1`. */
  list(
    scope: Scope,
    subject: string,
    options: { artifactTypes?: readonly string[]; limit: number; signal?: AbortSignal },
  ): Promise<Descriptor[]>;
}

export interface DiscoveryOptions {
  /**
   * Only referrers of these types (the manifest's artifactType rule); all when absent. The list
   * is filtered here whatever the registry says it applied. cosign's tags are chosen by name.
   */
  readonly artifactTypes?: readonly string[];
  /** Which cosign tags to read. @default all three */
  readonly cosignTags?: readonly CosignTagSuffix[];
  /** Whether to list referrers at all. @default true */
  readonly referrers?: boolean;
  /** ECR's ListImageReferrers (ecrReferrers); used in place of the referrers API when given. */
  readonly ecr?: ReferrerLister;
  /** @default ARTIFACT_MAX_BYTES */
  readonly maxBytes?: number;
  /** @default MAX_ARTIFACTS */
  readonly maxArtifacts?: number;
  /** @default MAX_TOTAL_BYTES */
  readonly maxTotalBytes?: number;
  readonly signal?: AbortSignal;
}

/** `sha256:<hex>` as a tag: `sha256-<hex>`, the hex cut to 64 characters (the spec's rule). */
export function referrersTag(digest: string): string {
  algorithmOf(digest);
  const [algorithm, hex] = digest.split(':') as [string, string];
  return `${algorithm}-${hex.slice(0, 64)}`;
}

/**
 * cosign's tag for `digest` (`ociremote.SignatureTag` and friends): the digest with `:` made `-`
 * and the suffix, uncut; undefined for a sha512 digest, whose tag would pass the 128-character
 * limit of a tag.
 */
export function cosignTag(digest: string, suffix: CosignTagSuffix): string | undefined {
  algorithmOf(digest);
  const tag = `${digest.replace(':', '-')}.${suffix}`;
  return tag.length <= 128 ? tag : undefined;
}

/** The image spec's artifact type of a manifest: its artifactType, else its config's media type. */
export function artifactTypeOf(manifest: Pick<ImageManifest, 'artifactType' | 'config'>): string {
  return manifest.artifactType ?? manifest.config.mediaType;
}

/**
 * The descriptors of a referrers list to read, in order: of the wanted types (a registry that
 * did not say it applied the filter is filtered here), each digest once, the subject itself
 * refused as a loop, cut at `limit`.
 */
export function selectReferrers(
  descriptors: readonly Descriptor[],
  subject: string,
  options: { artifactTypes?: readonly string[]; limit: number; seen?: ReadonlySet<string> },
): { selected: Descriptor[]; loops: number; dropped: number } {
  const wanted = options.artifactTypes === undefined ? undefined : new Set(options.artifactTypes);
  const seen = new Set(options.seen);
  const selected: Descriptor[] = [];
  let loops = 0;
  let dropped = 0;
  for (const d of descriptors) {
    // A referrers index gives each entry the artifactType of its manifest (the spec's rule).
    if (wanted !== undefined && !wanted.has(d.artifactType ?? '')) continue;
    if (d.digest === subject) {
      loops++;
      continue;
    }
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    if (selected.length >= options.limit) dropped++;
    else selected.push(d);
  }
  return { selected, loops, dropped };
}

/**
 * Finds and fetches the signatures and attestations of `subject` in `repository`'s registry.
 * Every manifest and blob is checked against its digest; one that fails is a problem, and the
 * others are still returned.
 */
export async function discoverArtifacts(
  client: RegistryClient,
  repository: Scope,
  subject: string,
  options: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  if (!isDigest(subject))
    throw new DiscoveryError(
      `discovery needs an image digest, not ${JSON.stringify(subject)} (resolve the tag first)`,
    );
  const scope: Scope = { registry: repository.registry, repository: repository.repository };
  const run = new Discovery(client, scope, subject, {
    maxBytes: options.maxBytes ?? ARTIFACT_MAX_BYTES,
    maxArtifacts: options.maxArtifacts ?? MAX_ARTIFACTS,
    maxTotalBytes: options.maxTotalBytes ?? MAX_TOTAL_BYTES,
    ...(options.artifactTypes === undefined ? {} : { artifactTypes: options.artifactTypes }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for (const suffix of options.cosignTags ?? COSIGN_TAG_SUFFIXES) await run.cosignTag(suffix);
  if (options.referrers ?? true) await run.referrers(options.ecr);
  return { artifacts: run.artifacts, problems: run.problems };
}

/** A discovery that cannot start (its subject is not a digest). */
export class DiscoveryError extends BosunError {
  readonly fatal = false;
}

/** An artifact that failed a check of ours (the registry's answers have their own errors). */
class ArtifactProblem extends Error {
  constructor(
    readonly code: DiscoveryProblemCode,
    message: string,
  ) {
    super(message);
  }
}

interface Limits {
  readonly maxBytes: number;
  readonly maxArtifacts: number;
  readonly maxTotalBytes: number;
  readonly artifactTypes?: readonly string[];
  readonly signal?: AbortSignal;
}

/** The state of one discovery: what was found, what went wrong, which digests were read. */
class Discovery {
  readonly artifacts: DiscoveredArtifact[] = [];
  readonly problems: DiscoveryProblem[] = [];
  private readonly read = new Set<string>();
  private readonly blobs = new Map<string, Buffer>();
  /** Bytes of the manifests and blobs kept so far (a blob shared by artifacts counts once). */
  private held = 0;

  constructor(
    private readonly client: RegistryClient,
    private readonly scope: Scope,
    private readonly subject: string,
    private readonly limits: Limits,
  ) {}

  async cosignTag(suffix: CosignTagSuffix): Promise<void> {
    const tag = cosignTag(this.subject, suffix);
    if (tag === undefined) return;
    const where = `cosign-tag ${tag}`;
    await this.guard(where, async () => {
      let fetched: Awaited<ReturnType<RegistryClient['getManifest']>>;
      try {
        fetched = await this.client.getManifest({ ...this.scope, tag }, this.request());
      } catch (error) {
        if (error instanceof NotFoundError) return; // Not signed this way: nothing to report.
        throw error;
      }
      if (this.read.has(fetched.digest)) return;
      this.read.add(fetched.digest);
      const artifact = await this.complete('cosign-tag', fetched, false);
      if (artifact !== undefined) this.artifacts.push(artifact);
    });
  }

  async referrers(ecr: ReferrerLister | undefined): Promise<void> {
    if (ecr !== undefined) {
      const listed = await this.guard('ecr-api', () =>
        ecr.list(this.scope, this.subject, {
          ...(this.limits.artifactTypes === undefined
            ? {}
            : { artifactTypes: this.limits.artifactTypes }),
          limit: this.limits.maxArtifacts,
          ...(this.limits.signal === undefined ? {} : { signal: this.limits.signal }),
        }),
      );
      if (listed !== undefined) return this.fetchAll('ecr-api', listed);
    }
    // A failure other than 404 is a problem, and the tag is read all the same: a registry may
    // refuse the API in other ways (400, 405) and still hold the tag.
    const listed = await this.referrersApi();
    if (listed !== undefined) return this.fetchAll('referrers-api', listed);
    const tagged = await this.referrersTagIndex();
    if (tagged !== undefined) await this.fetchAll('referrers-tag', tagged);
  }

  /** The referrers API's list, all pages; undefined when the registry has no such API. */
  private async referrersApi(): Promise<Descriptor[] | undefined> {
    const types = this.limits.artifactTypes;
    // The API filters by one artifactType; for several, the whole list is filtered here.
    const filter = types?.length === 1 ? types[0] : undefined;
    return this.guard('referrers-api', async () => {
      const all: Descriptor[] = [];
      let page: string | undefined;
      for (let n = 0; n < MAX_PAGES; n++) {
        let answer: Awaited<ReturnType<RegistryClient['getReferrers']>>;
        try {
          answer = await this.client.getReferrers(this.scope, this.subject, {
            ...this.request(),
            ...(filter === undefined ? {} : { artifactType: filter }),
            ...(page === undefined ? {} : { page }),
          });
        } catch (error) {
          // No referrers API: the caller reads the referrers tag, as the spec says.
          if (n === 0 && error instanceof NotFoundError) return undefined;
          if (n === 0) throw error;
          // A later page that fails loses only itself: the pages read are kept.
          if (this.limits.signal?.aborted === true || (error instanceof BosunError && error.fatal))
            throw error;
          this.problems.push({
            where: 'referrers-api',
            code: codeOf(error),
            message: `page ${n + 1}: ${messageOf(error)}`,
          });
          return all;
        }
        all.push(...answer.index.manifests);
        page = answer.next;
        // Enough to know the list is over the limit; the rest is not read.
        if (page === undefined || all.length > this.limits.maxArtifacts) return all;
      }
      return all;
    });
  }

  /** The index under the referrers tag; an empty list when there is none. */
  private async referrersTagIndex(): Promise<Descriptor[] | undefined> {
    const tag = referrersTag(this.subject);
    return this.guard(`referrers-tag ${tag}`, async () => {
      let fetched: Awaited<ReturnType<RegistryClient['getManifest']>>;
      try {
        fetched = await this.client.getManifest({ ...this.scope, tag }, this.request());
      } catch (error) {
        if (error instanceof NotFoundError) return [];
        throw error;
      }
      if (fetched.manifest.kind !== 'index')
        throw new ArtifactProblem(
          'UNSUPPORTED',
          `the referrers tag holds a ${fetched.mediaType}, not an image index`,
        );
      return fetched.manifest.manifests;
    });
  }

  private async fetchAll(via: DiscoveryRoute, listed: readonly Descriptor[]): Promise<void> {
    const { selected, loops, dropped } = selectReferrers(listed, this.subject, {
      ...(this.limits.artifactTypes === undefined
        ? {}
        : { artifactTypes: this.limits.artifactTypes }),
      limit: this.limits.maxArtifacts,
      seen: this.read,
    });
    if (loops > 0)
      this.problems.push({
        where: via,
        code: 'LOOP',
        message: `the referrers of ${this.subject} list ${this.subject} itself; not read`,
      });
    if (dropped > 0)
      this.problems.push({
        where: via,
        code: 'TOO_MANY',
        message: `${selected.length + dropped} referrers listed; only the first ${this.limits.maxArtifacts} are read`,
      });
    for (const descriptor of selected) {
      this.read.add(descriptor.digest);
      const where = `artifact ${descriptor.digest}`;
      await this.guard(where, async () => {
        if (descriptor.size > this.limits.maxBytes)
          throw new ArtifactProblem(
            'TOO_LARGE',
            `the index declares ${descriptor.size} bytes, over the ${this.limits.maxBytes}-byte limit`,
          );
        const fetched = await this.client.getManifest(
          { ...this.scope, digest: descriptor.digest },
          this.request(),
        );
        if (fetched.bytes.length !== descriptor.size)
          throw new ArtifactProblem(
            'DIGEST_MISMATCH',
            `${fetched.bytes.length} bytes where the index declares ${descriptor.size}`,
          );
        const artifact = await this.complete(via, fetched, true);
        if (artifact !== undefined) this.artifacts.push(artifact);
      });
    }
  }

  /**
   * Checks an artifact manifest and fetches its layers. A referrer must name our subject; a
   * cosign tag's manifest has no subject (the tag is the link), and if it has one, it must be ours.
   */
  private async complete(
    via: DiscoveryRoute,
    fetched: Awaited<ReturnType<RegistryClient['getManifest']>>,
    referrer: boolean,
  ): Promise<DiscoveredArtifact | undefined> {
    const manifest = fetched.manifest;
    if (fetched.bytes.length > this.limits.maxBytes)
      throw new ArtifactProblem(
        'TOO_LARGE',
        `${fetched.bytes.length} bytes, over the ${this.limits.maxBytes}-byte limit`,
      );
    this.hold(fetched.bytes.length, fetched.digest);
    if (manifest.kind !== 'image')
      throw new ArtifactProblem(
        'UNSUPPORTED',
        `${fetched.digest} is an image index (${fetched.mediaType}), not an artifact manifest`,
      );
    const named = manifest.subject?.digest;
    if ((referrer || named !== undefined) && named !== this.subject)
      throw new ArtifactProblem(
        'SUBJECT_MISMATCH',
        `${fetched.digest} names ${named === undefined ? 'no subject' : `subject ${named}`}, not ${this.subject}`,
      );
    const artifactType = artifactTypeOf(manifest);
    // The type filter is for referrers; cosign's tags are chosen by name (`cosignTags`).
    if (
      referrer &&
      this.limits.artifactTypes !== undefined &&
      !this.limits.artifactTypes.includes(artifactType)
    )
      return undefined;
    if (manifest.layers.length > MAX_LAYERS)
      throw new ArtifactProblem(
        'TOO_LARGE',
        `${manifest.layers.length} layers, over the limit of ${MAX_LAYERS}`,
      );
    const layers: DiscoveredArtifact['layers'][number][] = [];
    try {
      for (const layer of manifest.layers) {
        layers.push({ descriptor: describe(layer), bytes: await this.blob(layer) });
      }
    } catch (error) {
      // An artifact not returned gives its manifest's bytes back (its blobs stay cached).
      this.held -= fetched.bytes.length;
      throw error;
    }
    return {
      subject: this.subject,
      via,
      digest: fetched.digest,
      artifactType,
      manifest: JSON.parse(fetched.bytes.toString('utf8')) as unknown,
      manifestBytes: new Uint8Array(fetched.bytes),
      layers,
    };
  }

  /** A layer's bytes, read once per digest, verified by the client against digest and size. */
  private async blob(layer: Descriptor): Promise<Buffer> {
    const cached = this.blobs.get(layer.digest);
    if (cached !== undefined && cached.length === layer.size) return cached;
    if (layer.size > this.limits.maxBytes)
      throw new ArtifactProblem(
        'TOO_LARGE',
        `blob ${layer.digest}: the manifest declares ${layer.size} bytes, over the ${this.limits.maxBytes}-byte limit`,
      );
    this.hold(layer.size, `blob ${layer.digest}`);
    let bytes: Buffer;
    try {
      bytes = await this.client.readBlob(
        this.scope,
        { digest: layer.digest, size: layer.size },
        this.limits.maxBytes,
        this.request(),
      );
    } catch (error) {
      this.held -= layer.size;
      throw error;
    }
    // readBlob has checked the digest while streaming; this repeats it on the bytes we keep.
    if (digestOf(bytes, algorithmOf(layer.digest)) !== layer.digest)
      throw new DigestMismatchError(
        layer.digest,
        digestOf(bytes, algorithmOf(layer.digest)),
        `blob ${layer.digest}`,
      );
    this.blobs.set(layer.digest, bytes);
    return bytes;
  }

  /** Counts `bytes` against the image's budget, or refuses them before they are read. */
  private hold(bytes: number, what: string): void {
    if (this.held + bytes > this.limits.maxTotalBytes)
      throw new ArtifactProblem(
        'TOO_LARGE',
        `${what}: ${bytes} more bytes would take this image's signatures and attestations past ${this.limits.maxTotalBytes} bytes`,
      );
    this.held += bytes;
  }

  private request(): { signal?: AbortSignal } {
    return this.limits.signal === undefined ? {} : { signal: this.limits.signal };
  }

  /**
   * Runs one step; a failure that concerns only this step becomes a problem and the step's
   * result undefined. Fatal errors (credentials refused) and the caller's abort are thrown.
   */
  private async guard<T>(where: string, step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (error) {
      if (this.limits.signal?.aborted === true) throw error;
      if (error instanceof BosunError && error.fatal) throw error;
      this.problems.push({ where, code: codeOf(error), message: messageOf(error) });
      return undefined;
    }
  }
}

function describe(layer: Descriptor): DiscoveredArtifact['layers'][number]['descriptor'] {
  return {
    mediaType: layer.mediaType,
    digest: layer.digest,
    size: layer.size,
    ...(layer.annotations === undefined ? {} : { annotations: layer.annotations }),
  };
}

/** The problem code of a failure. */
function codeOf(error: unknown): DiscoveryProblemCode {
  if (error instanceof ArtifactProblem) return error.code;
  if (error instanceof DigestMismatchError) return 'DIGEST_MISMATCH';
  if (error instanceof UnsupportedMediaTypeError) return 'UNSUPPORTED';
  if (error instanceof TooLargeError || error instanceof ManifestTooLargeError) return 'TOO_LARGE';
  if (error instanceof ManifestError) return 'MALFORMED';
  if (error instanceof SyntaxError) return 'MALFORMED';
  return 'REGISTRY';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The subset of an ECRClient that ecrReferrers uses. */
export interface EcrReferrersClient {
  send(
    command: ListImageReferrersCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<ListImageReferrersCommandOutput>;
}

/**
 * ECR's ListImageReferrers (ListImageReferrersCommand of the installed @aws-sdk/client-ecr,
 * 3.1169.0): the referrers of an image through the AWS API, with IAM credentials instead of a
 * registry token. `registryId` is the account of the ECR host when not given. Pages are read
 * until `limit + 1` entries are known.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImageReferrers.html
 */
export function ecrReferrers(client: EcrReferrersClient, registryId?: string): ReferrerLister {
  return {
    async list(scope, subject, options) {
      const account = registryId ?? ecrAccountOf(scope.registry);
      const out: Descriptor[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const response = await client.send(
          new ListImageReferrersCommand({
            ...(account === undefined ? {} : { registryId: account }),
            repositoryName: scope.repository,
            subjectId: { imageDigest: subject },
            ...(options.artifactTypes === undefined
              ? {}
              : { filter: { artifactTypes: [...options.artifactTypes] } }),
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
          options.signal === undefined ? {} : { abortSignal: options.signal },
        );
        for (const r of response.referrers ?? []) {
          if (!isDigest(r.digest ?? '') || typeof r.size !== 'number' || r.mediaType === undefined)
            throw new ManifestError(
              `ECR ListImageReferrers for ${scope.repository}@${subject}: an entry without a digest, size or media type`,
            );
          out.push({
            mediaType: r.mediaType,
            digest: r.digest as string,
            size: r.size,
            ...(r.artifactType === undefined ? {} : { artifactType: r.artifactType }),
            ...(r.annotations === undefined ? {} : { annotations: r.annotations }),
          });
        }
        nextToken = response.nextToken;
        if (nextToken === undefined || out.length > options.limit) break;
      }
      return out;
    },
  };
}
