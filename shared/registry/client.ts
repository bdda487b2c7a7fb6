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
import { DigestMismatchError, RegistryError } from './errors.js';
import { MANIFEST_MAX_BYTES, type Manifest, parseManifest } from './manifest.js';
import { MANIFEST_ACCEPT } from './media-types.js';
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
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
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

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.transport = new Transport(options);
    this.auth = new Authenticator({
      credentials: options.credentials ?? anonymous,
      fetch: this.transport.fetch,
      timeoutMs: this.transport.timeoutMs,
    });
  }

  private baseUrl(registry: string): string {
    const mapped = this.options.endpoints?.get(registry);
    if (mapped !== undefined) return mapped.replace(/\/+$/, '');
    const host = apiHost(registry);
    const plain = LOOPBACK.test(host) || (this.options.insecureRegistries ?? []).includes(registry);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /** Fetches a manifest or index by tag or digest, verifying its digest. */
  async getManifest(ref: ImageReference): Promise<FetchedManifest> {
    const reference = manifestReference(ref);
    const what = `manifest ${ref.registry}/${ref.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    const response = await this.request(
      ref,
      `/v2/${ref.repository}/manifests/${reference}`,
      'GET',
      { Accept: MANIFEST_ACCEPT },
      what,
    );
    const bytes = await readBounded(response, MANIFEST_MAX_BYTES, what, this.transport.timeoutMs);
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
  async resolve(ref: ImageReference): Promise<string> {
    if (ref.digest !== undefined) return ref.digest;
    const what = `manifest ${ref.registry}/${ref.repository}:${ref.tag}`;
    const response = await this.request(
      ref,
      `/v2/${ref.repository}/manifests/${manifestReference(ref)}`,
      'HEAD',
      { Accept: MANIFEST_ACCEPT },
      what,
    );
    const digest = response.headers.get('docker-content-digest');
    if (digest !== null) return digest;
    // Some registries omit the header on HEAD; the manifest itself is authoritative.
    return (await this.getManifest(ref)).digest;
  }

  /** Streams a blob; the stream fails with DigestMismatchError if its content is not `blob.digest`. */
  async openBlob(scope: Scope, blob: BlobRef): Promise<Readable> {
    const what = `blob ${scope.registry}/${scope.repository}@${blob.digest}`;
    const controller = new AbortController();
    const response = await this.request(
      scope,
      `/v2/${scope.repository}/blobs/${blob.digest}`,
      'GET',
      {},
      what,
      controller,
    );
    if (response.body === null) throw new RegistryError(`${what}: empty response`, response.status);
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    const verifying = new VerifyingStream(blob.digest, what, blob.size);
    // A stalled transfer is aborted instead of hanging the scan.
    const done = abortWhenIdle(body, controller, this.transport.timeoutMs, what);
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
      if (!body.destroyed) body.destroy();
    });
    return body.pipe(verifying);
  }

  /** Reads a small blob (an image config) whole, verified. */
  async readBlob(scope: Scope, blob: BlobRef, maxBytes: number): Promise<Buffer> {
    const what = `blob ${scope.registry}/${scope.repository}@${blob.digest}`;
    if (blob.size !== undefined && blob.size > maxBytes) {
      throw new RegistryError(
        `${what}: ${blob.size} bytes is over the ${maxBytes}-byte limit`,
        undefined,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.openBlob(scope, blob)) {
      total += (chunk as Buffer).length;
      if (total > maxBytes)
        throw new RegistryError(`${what}: more than ${maxBytes} bytes`, undefined);
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
      const response = await this.auth.authenticate(scope, what, (authorization) =>
        this.transport.follow(url, method, headers, authorization, controller, what),
      );
      return response.ok ? response : rejectResponse(response, what);
    });
  }
}
