/**
 * A client of the OCI distribution API (spec v1.1):
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 * It pulls only: manifests and blobs, each verified against its digest while it streams.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { BosunError } from '../errors.js';
import { anonymous, basicAuthorization, type CredentialProvider, parseChallenge } from './auth.js';
import { digestOf, VerifyingStream } from './digest.js';
import { DigestMismatchError, NotFoundError, RegistryAuthError, RegistryError } from './errors.js';
import { MANIFEST_MAX_BYTES, type Manifest, parseManifest } from './manifest.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { apiHost, type ImageReference, manifestReference } from './reference.js';

export interface RetryOptions {
  /** Attempts per request, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Budget for all attempts of one request, waits included. @default 60 s */
  readonly maxElapsedMs?: number;
  /** First backoff step; each later one doubles, with full jitter. @default 200 ms */
  readonly baseDelayMs?: number;
  /** @default 10 s */
  readonly maxDelayMs?: number;
}

export interface RegistryClientOptions {
  readonly credentials?: CredentialProvider;
  readonly retry?: RetryOptions;
  /** Hosts reached over plain HTTP. Loopback hosts always are. */
  readonly insecureRegistries?: readonly string[];
  /**
   * Base URLs of registries served somewhere other than their host name (a local registry
   * standing in for ECR in tests); credentials are still those of the registry host.
   */
  readonly endpoints?: ReadonlyMap<string, string>;
  /** Time to wait for response headers, and between two chunks of a body. @default 30 s */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
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

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Retry-After is seconds or an HTTP date: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
}

interface Scope {
  readonly registry: string;
  readonly repository: string;
}

export class RegistryClient {
  private readonly credentials: CredentialProvider;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly tokens = new Map<string, { authorization: string; expiresAt: number }>();
  /** How each registry asked to be authenticated, so later requests authenticate up front. */
  private readonly schemes = new Map<string, 'basic' | 'bearer'>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.credentials = options.credentials ?? anonymous;
    this.fetchFn = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      maxElapsedMs: options.retry?.maxElapsedMs ?? 60_000,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
    };
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
    const what = `manifest ${ref.registry}/${ref.repository}@${reference}`;
    const response = await this.request(
      ref,
      `/v2/${ref.repository}/manifests/${reference}`,
      'GET',
      { Accept: MANIFEST_ACCEPT },
      what,
    );
    const bytes = await readBounded(response, MANIFEST_MAX_BYTES, what, this.timeoutMs);
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
    // One timer per transfer, not one per chunk: it re-arms itself from the last chunk's time.
    let lastData = Date.now();
    body.on('data', () => {
      lastData = Date.now();
    });
    const check = () => {
      const quiet = Date.now() - lastData;
      if (quiet >= this.timeoutMs) {
        controller.abort(new RegistryError(`${what}: no data for ${this.timeoutMs} ms`, undefined));
      } else {
        idle = setTimeout(check, this.timeoutMs - quiet);
      }
    };
    let idle = setTimeout(check, this.timeoutMs);
    const done = () => clearTimeout(idle);
    body.on('end', done).on('error', done).on('close', done);
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
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    what: string,
    controller = new AbortController(),
  ): Promise<Response> {
    const started = Date.now();
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      try {
        return await this.authenticatedRequest(
          scope,
          `${this.baseUrl(scope.registry)}${path}`,
          method,
          headers,
          what,
          controller,
        );
      } catch (error) {
        const code = networkCode(error);
        const retryable =
          error instanceof RetryableError || (code !== undefined && RETRY_CODES.has(code));
        if (!retryable || controller.signal.aborted) throw error;
        lastError = error;
        const backoff =
          Math.random() *
          Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const wait =
          error instanceof RetryableError && error.retryAfterMs !== undefined
            ? error.retryAfterMs
            : backoff;
        if (
          attempt === this.retry.maxAttempts ||
          Date.now() - started + wait > this.retry.maxElapsedMs
        )
          break;
        await sleep(wait);
      }
    }
    const status = lastError instanceof RetryableError ? lastError.status : undefined;
    throw new RegistryError(
      `${what}: gave up after ${Math.round((Date.now() - started) / 100) / 10} s: ${(lastError as Error)?.message ?? 'unknown error'}`,
      status,
      { cause: lastError },
    );
  }

  private async authenticatedRequest(
    scope: Scope,
    url: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    what: string,
    controller: AbortController,
  ): Promise<Response> {
    let authorization = await this.authorizationFor(scope);
    let response = await this.follow(url, method, headers, authorization, controller, what);
    if (response.status === 401) {
      await response.body?.cancel();
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (challenge === undefined)
        throw new RegistryAuthError(`${what}: 401 without a usable WWW-Authenticate challenge`);
      this.schemes.set(scope.registry, challenge.scheme);
      authorization = await this.answerChallenge(scope, challenge.scheme, challenge.params, what);
      response = await this.follow(url, method, headers, authorization, controller, what);
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        this.tokens.delete(tokenKey(scope));
        throw new RegistryAuthError(
          `${what}: the registry refused the credentials (HTTP ${response.status})`,
        );
      }
    }
    if (response.ok) return response;
    await response.body?.cancel();
    if (response.status === 404) throw new NotFoundError(`${what}: not found`, 404);
    if (response.status === 403) throw new RegistryAuthError(`${what}: access denied (HTTP 403)`);
    if (RETRY_STATUS.has(response.status)) {
      throw new RetryableError(
        `HTTP ${response.status}`,
        parseRetryAfter(response.headers.get('retry-after')),
        response.status,
      );
    }
    throw new RegistryError(`${what}: HTTP ${response.status}`, response.status);
  }

  /**
   * Follows redirects by hand: the registry's Authorization header goes only to the registry's
   * own host, never to the storage a blob is redirected to (ECR serves layers from S3).
   */
  private async follow(
    url: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    authorization: string | undefined,
    controller: AbortController,
    what: string,
  ): Promise<Response> {
    const origin = new URL(url).host;
    let current = url;
    for (let hop = 0; hop <= 5; hop++) {
      const sameHost = new URL(current).host === origin;
      const timer = setTimeout(
        () => controller.abort(new RetryableError(`no response within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      let response: Response;
      try {
        response = await this.fetchFn(current, {
          method,
          redirect: 'manual',
          signal: controller.signal,
          headers: {
            ...headers,
            'User-Agent': this.options.userAgent ?? 'bosun',
            ...(authorization !== undefined && sameHost ? { Authorization: authorization } : {}),
          },
        });
      } catch (error) {
        if (controller.signal.aborted && controller.signal.reason instanceof RetryableError) {
          throw new RegistryError(`${what}: ${controller.signal.reason.message}`, undefined, {
            cause: error,
          });
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response;
      await response.body?.cancel();
      current = new URL(location, current).toString();
    }
    throw new RegistryError(`${what}: more than 5 redirects`, undefined);
  }

  private async authorizationFor(scope: Scope): Promise<string | undefined> {
    const scheme = this.schemes.get(scope.registry);
    if (scheme === 'basic') {
      const credentials = await this.credentials.credentials(scope.registry);
      return credentials === undefined ? undefined : basicAuthorization(credentials);
    }
    const token = this.tokens.get(tokenKey(scope));
    return token !== undefined && token.expiresAt > Date.now() ? token.authorization : undefined;
  }

  private async answerChallenge(
    scope: Scope,
    scheme: 'basic' | 'bearer',
    params: Readonly<Record<string, string>>,
    what: string,
  ): Promise<string> {
    const credentials = await this.credentials.credentials(scope.registry);
    if (scheme === 'basic') {
      if (credentials === undefined)
        throw new RegistryAuthError(
          `${what}: the registry asks for a password and none is configured for ${scope.registry}`,
        );
      return basicAuthorization(credentials);
    }
    const realm = params.realm;
    if (realm === undefined)
      throw new RegistryAuthError(`${what}: Bearer challenge without a realm`);
    const tokenUrl = new URL(realm);
    if (params.service !== undefined) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', `repository:${scope.repository}:pull`);
    const response = await this.fetchFn(tokenUrl, {
      headers: credentials === undefined ? {} : { Authorization: basicAuthorization(credentials) },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryAuthError(
        `${what}: token endpoint ${tokenUrl.origin}${tokenUrl.pathname} answered HTTP ${response.status}`,
      );
    }
    const body = (await response.json()) as {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
      issued_at?: unknown;
    };
    const token =
      typeof body.token === 'string'
        ? body.token
        : typeof body.access_token === 'string'
          ? body.access_token
          : undefined;
    if (token === undefined || token.length === 0)
      throw new RegistryAuthError(`${what}: token endpoint returned no token`);
    // The spec's default lifetime is 60 s; refresh at 90% of it.
    const lifetimeS =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const issued =
      typeof body.issued_at === 'string' && !Number.isNaN(Date.parse(body.issued_at))
        ? Date.parse(body.issued_at)
        : Date.now();
    const authorization = `Bearer ${token}`;
    this.tokens.set(tokenKey(scope), {
      authorization,
      expiresAt: Math.min(issued, Date.now()) + lifetimeS * 900,
    });
    return authorization;
  }
}

function tokenKey(scope: Scope): string {
  return `${scope.registry}|repository:${scope.repository}:pull`;
}

async function readBounded(
  response: Response,
  maxBytes: number,
  what: string,
  idleMs: number,
): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RegistryError(
      `${what}: ${declared} bytes is over the ${maxBytes}-byte limit`,
      response.status,
    );
  }
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    let timeout: NodeJS.Timeout | undefined;
    const timer = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () => reject(new RegistryError(`${what}: no data for ${idleMs} ms`, undefined)),
        idleMs,
      );
    });
    let result: Awaited<ReturnType<typeof reader.read>>;
    try {
      result = await Promise.race([reader.read(), timer]);
    } finally {
      clearTimeout(timeout);
    }
    const { done, value } = result;
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new RegistryError(`${what}: more than ${maxBytes} bytes`, response.status);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
