/**
 * A client of the OCI distribution API (spec v1.1):
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 * It pulls only: manifests and blobs, each verified against its digest while it streams.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BosunError } from '../errors.js';
import { anonymous, type CredentialProvider } from './auth.js';
import { digestOf, VerifyingStream } from './digest.js';
import { DigestMismatchError, ManifestError, RegistryError, TooLargeError } from './errors.js';
import { HostPolicy } from './hosts.js';
import { type ImageIndex, MANIFEST_MAX_BYTES, type Manifest, parseManifest } from './manifest.js';
import { MANIFEST_ACCEPT, MediaType } from './media-types.js';
import { apiHost, type ImageReference, manifestReference } from './reference.js';
import { Authenticator, type Scope } from './token-auth.js';
import {
  abortWhenIdle,
  type Method,
  readBounded,
  rejectResponse,
  Transport,
  type TransportOptions,
} from './transport.js';

// Importers of these from here keep working; they live with the transport now.
export { parseRetryAfter, type RetryOptions } from './transport.js';

/** Retries, timeouts, `fetch` and the User-Agent are the transport's options. */
export interface RegistryClientOptions extends TransportOptions {
  readonly credentials?: CredentialProvider;
  /** Hosts reached over plain HTTP. Loopback hosts always are. */
  readonly insecureRegistries?: readonly string[];
  /**
   * Base URLs of registries served somewhere other than their host name (a local registry
   * standing in for ECR in tests); credentials are still those of the registry host.
   */
  readonly endpoints?: ReadonlyMap<string, string>;
  /**
   * Hosts each registry may send us to besides its own and, for the known public registries,
   * their documented token and storage hosts (hosts.ts): `host`, `host:port` or `*.suffix`,
   * by registry name. A realm or redirect anywhere else is refused.
   */
  readonly allowedHosts?: Readonly<Record<string, readonly string[]>>;
  /**
   * The largest blob (a compressed layer) a manifest may declare; a larger one is refused before
   * a byte is fetched. @default BLOB_MAX_BYTES
   */
  readonly maxBlobBytes?: number;
}

/**
 * 8 GiB: larger than the compressed layers of the largest common images (CUDA and ML framework
 * layers are 2-5 GiB), and what a scan function can pull and read well within Lambda's 15
 * minutes. A manifest claiming more (10 GiB of zeros served slowly) is not read as far as it goes.
 */
export const BLOB_MAX_BYTES = 8 * 1024 ** 3;

/**
 * What a caller can bound a request with beyond the client's own limits: the per-image budget
 * hook. Aborting `signal` (an image's deadline, a cancelled scan) stops the request and any
 * transfer it started, with the signal's reason.
 */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

/** One page of a referrers list (OCI distribution spec 1.1, "Listing Referrers"). */
export interface ReferrersPage {
  readonly index: ImageIndex;
  /** The filters the registry says it applied (`OCI-Filters-Applied`), e.g. `artifactType`. */
  readonly filtersApplied: readonly string[];
  /** The path and query of the next page (the `Link` header's `rel="next"`), on this registry. */
  readonly next?: string;
}

export interface BlobRef {
  readonly digest: string;
  readonly size?: number;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/**
 * The registry API, built on the transport (retries, redirects, timeouts) and the authenticator
 * (challenges, tokens).
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly policies = new Map<string, HostPolicy>();
  private readonly maxBlobBytes: number;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.transport = new Transport(options);
    this.maxBlobBytes = options.maxBlobBytes ?? BLOB_MAX_BYTES;
    this.auth = new Authenticator({
      credentials: options.credentials ?? anonymous,
      fetch: this.transport.fetch,
      timeoutMs: this.transport.timeoutMs,
      hosts: (registry) => this.hosts(registry),
    });
  }

  /** Where `registry` may send us (realms, redirects); hosts.ts. */
  hosts(registry: string): HostPolicy {
    let policy = this.policies.get(registry);
    if (policy === undefined) {
      policy = new HostPolicy(
        registry,
        new URL(this.baseUrl(registry)),
        this.options.allowedHosts?.[registry] ?? [],
      );
      this.policies.set(registry, policy);
    }
    return policy;
  }

  private baseUrl(registry: string): string {
    const mapped = this.options.endpoints?.get(registry);
    if (mapped !== undefined) return mapped.replace(/\/+$/, '');
    const host = apiHost(registry);
    const plain = LOOPBACK.test(host) || (this.options.insecureRegistries ?? []).includes(registry);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /** GETs a JSON document of the registry API (a manifest, a referrers list), bounded. */
  private async getDocument(
    scope: Scope,
    path: string,
    accept: string,
    what: string,
    options: RequestOptions,
  ): Promise<{ bytes: Buffer; response: Response }> {
    const controller = new AbortController();
    const unlink = linkSignal(controller, options.signal);
    try {
      const response = await this.request(scope, path, 'GET', { Accept: accept }, what, controller);
      const bytes = await readBounded(
        response,
        MANIFEST_MAX_BYTES,
        what,
        this.transport.timeoutMs,
        this.transport.deadlineMs(MANIFEST_MAX_BYTES),
      );
      return { bytes, response };
    } catch (error) {
      throw stopped(error, options.signal, what);
    } finally {
      unlink();
    }
  }

  /** Fetches a manifest or index by tag or digest, verifying its digest. */
  async getManifest(ref: ImageReference, options: RequestOptions = {}): Promise<FetchedManifest> {
    const reference = manifestReference(ref);
    const what = `manifest ${ref.registry}/${ref.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    const { bytes, response } = await this.getDocument(
      ref,
      `/v2/${ref.repository}/manifests/${reference}`,
      MANIFEST_ACCEPT,
      what,
      options,
    );
    const algorithm = ref.digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = digestOf(bytes, algorithm);
    const expected = ref.digest ?? response.headers.get('docker-content-digest') ?? undefined;
    if (expected?.startsWith(`${algorithm}:`) && expected !== digest) {
      throw new DigestMismatchError(expected, digest, what);
    }
    const manifest = parseManifest(bytes, response.headers.get('content-type') ?? undefined, what);
    return { digest, mediaType: manifest.mediaType, bytes, manifest };
  }

  /** Resolves a tag to the digest of what it points at, without downloading the manifest. */
  async resolve(ref: ImageReference, options: RequestOptions = {}): Promise<string> {
    if (ref.digest !== undefined) return ref.digest;
    const what = `manifest ${ref.registry}/${ref.repository}:${ref.tag}`;
    const controller = new AbortController();
    const unlink = linkSignal(controller, options.signal);
    let response: Response;
    try {
      response = await this.request(
        ref,
        `/v2/${ref.repository}/manifests/${manifestReference(ref)}`,
        'HEAD',
        { Accept: MANIFEST_ACCEPT },
        what,
        controller,
      );
    } catch (error) {
      throw stopped(error, options.signal, what);
    } finally {
      unlink();
    }
    const digest = response.headers.get('docker-content-digest');
    if (digest !== null) return digest;
    // Some registries omit the header on HEAD; the manifest itself is authoritative.
    return (await this.getManifest(ref, options)).digest;
  }

  /**
   * Lists the manifests whose `subject` is `subject`:
   * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
   * A registry without the API answers 404 (NotFoundError); the caller then reads the referrers
   * tag. The answer is an image index read with the bounds of a manifest (4 MiB). `page` is a
   * `next` of an earlier page; a `Link` to another host is not followed.
   */
  async getReferrers(
    scope: Scope,
    subject: string,
    options: RequestOptions & { readonly artifactType?: string; readonly page?: string } = {},
  ): Promise<ReferrersPage> {
    const base = `/v2/${scope.repository}/referrers/${subject}`;
    const path =
      options.page ??
      (options.artifactType === undefined
        ? base
        : `${base}?artifactType=${encodeURIComponent(options.artifactType)}`);
    if (!path.startsWith(`${base}?`) && path !== base)
      throw new RegistryError(
        `referrers ${scope.registry}${base}: next page ${path} is not a page of this list`,
        undefined,
      );
    const what = `referrers ${scope.registry}/${scope.repository}@${subject}`;
    const { bytes, response } = await this.getDocument(
      scope,
      path,
      MediaType.ociIndex,
      what,
      options,
    );
    const index = parseManifest(bytes, response.headers.get('content-type') ?? undefined, what);
    if (index.kind !== 'index')
      throw new ManifestError(`${what}: the answer is not an image index`);
    const filtersApplied = (response.headers.get('oci-filters-applied') ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    const next = nextPage(response.headers.get('link'), `${this.baseUrl(scope.registry)}${path}`);
    return {
      index,
      filtersApplied,
      ...(next !== undefined && (next === base || next.startsWith(`${base}?`)) ? { next } : {}),
    };
  }

  /** Streams a blob; the stream fails with DigestMismatchError if its content is not `blob.digest`. */
  async openBlob(scope: Scope, blob: BlobRef, options: RequestOptions = {}): Promise<Readable> {
    const what = `blob ${scope.registry}/${scope.repository}@${blob.digest}`;
    if (blob.size !== undefined && blob.size > this.maxBlobBytes)
      throw new TooLargeError(
        `${what}: the manifest declares ${blob.size} bytes, over the ${this.maxBlobBytes}-byte limit for a blob`,
        undefined,
      );
    const controller = new AbortController();
    const unlink = linkSignal(controller, options.signal);
    let response: Response;
    try {
      response = await this.request(
        scope,
        `/v2/${scope.repository}/blobs/${blob.digest}`,
        'GET',
        {},
        what,
        controller,
      );
    } catch (error) {
      unlink();
      throw stopped(error, options.signal, what);
    }
    // The descriptor's size is part of what its digest was computed over (the manifest): a body
    // announced as longer is not this blob, and is refused before it is read.
    const length = response.headers.get('content-length');
    if (
      blob.size !== undefined &&
      length !== null &&
      response.headers.get('content-encoding') === null &&
      Number(length) !== blob.size
    ) {
      unlink();
      await response.body?.cancel();
      throw new DigestMismatchError(blob.digest, `${length} bytes instead of ${blob.size}`, what);
    }
    if (response.body === null) {
      unlink();
      throw new RegistryError(`${what}: empty response`, response.status);
    }
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    const verifying = new VerifyingStream(blob.digest, what, blob.size);
    // A stalled transfer is aborted, and so is one trickling past its deadline (scaled by the
    // size it declares), instead of holding the scan.
    const done = abortWhenIdle(
      body,
      controller,
      this.transport.timeoutMs,
      what,
      this.transport.deadlineMs(blob.size ?? this.maxBlobBytes),
    );
    // A transfer that breaks off (reset, abort, stall) is a registry problem worth retrying,
    // not a corrupt layer.
    body.on('error', (error) =>
      verifying.destroy(
        error instanceof BosunError
          ? error
          : new RegistryError(`${what}: transfer failed: ${error.message}`, undefined, {
              cause: error,
            }),
      ),
    );
    verifying.on('close', () => {
      done();
      unlink();
      if (!body.destroyed) body.destroy();
    });
    return body.pipe(verifying);
  }

  /** Reads a small blob (an image config) whole, verified. */
  async readBlob(
    scope: Scope,
    blob: BlobRef,
    maxBytes: number,
    options: RequestOptions = {},
  ): Promise<Buffer> {
    const what = `blob ${scope.registry}/${scope.repository}@${blob.digest}`;
    if (blob.size !== undefined && blob.size > maxBytes) {
      throw new TooLargeError(
        `${what}: ${blob.size} bytes is over the ${maxBytes}-byte limit`,
        undefined,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.openBlob(scope, blob, options)) {
      total += (chunk as Buffer).length;
      if (total > maxBytes)
        throw new TooLargeError(`${what}: more than ${maxBytes} bytes`, undefined);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * One API request with authentication, redirects and retries. Returns a 2xx response whose
   * body the caller consumes.
   */
  private async request(
    scope: Scope,
    path: string,
    method: Method,
    headers: Record<string, string>,
    what: string,
    controller = new AbortController(),
  ): Promise<Response> {
    return this.transport.withRetries(what, controller, async () => {
      const url = `${this.baseUrl(scope.registry)}${path}`;
      const policy = this.hosts(scope.registry);
      const response = await this.auth.authenticate(scope, what, (authorization) =>
        this.transport.follow(url, method, headers, authorization, controller, what, policy),
      );
      return response.ok ? response : rejectResponse(response, what);
    });
  }
}

/**
 * The path and query of a `Link: <url>; rel="next"` header (RFC 8288) resolved against the
 * request, when it stays on the request's origin; undefined otherwise.
 */
export function nextPage(link: string | null, requestUrl: string): string | undefined {
  if (link === null) return undefined;
  for (const part of link.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m === null || !/(^|;)\s*rel="?next"?\s*(;|$)/i.test(m[2] as string)) continue;
    let url: URL;
    try {
      url = new URL(m[1] as string, requestUrl);
    } catch {
      return undefined;
    }
    return url.origin === new URL(requestUrl).origin ? `${url.pathname}${url.search}` : undefined;
  }
  return undefined;
}

/** Aborts `controller` when `signal` does (the caller's budget); returns the unlinking function. */
function linkSignal(controller: AbortController, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => undefined;
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => undefined;
  }
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  return () => signal.removeEventListener('abort', abort);
}

/**
 * The error a request stopped by the caller's signal ends with: the signal's reason when it is
 * one of ours (a budget the caller names), else a RegistryError saying so; other errors as they are.
 */
function stopped(error: unknown, signal: AbortSignal | undefined, what: string): unknown {
  if (signal?.aborted !== true) return error;
  const reason: unknown = signal.reason;
  if (reason instanceof BosunError) return reason;
  return new RegistryError(
    `${what}: stopped: ${reason instanceof Error ? reason.message : String(reason)}`,
    undefined,
    { cause: reason },
  );
}
