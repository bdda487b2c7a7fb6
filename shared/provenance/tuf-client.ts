/**
 * One target of a TUF repository, fetched with the full client workflow of the TUF
 * specification (https://theupdateframework.github.io/specification/latest/#detailed-client-workflow):
 * the root chain walked from a trusted root, then timestamp, snapshot and targets, each checked
 * for its signatures' threshold, version rollback and expiry, and the target's length and hashes
 * checked against the targets metadata. The workflow is tuf-js's (the client @sigstore/tuf
 * wraps for Sigstore's own clients); this module only gives it its trusted root, a cache and
 * bounded requests, and names what went wrong.
 *
 * This is how Sigstore clients obtain `trusted_root.json`: from the TUF repository at
 * https://tuf-repo-cdn.sigstore.dev (published from https://github.com/sigstore/root-signing),
 * trusting first the root.json embedded in the client (@sigstore/tuf's `seeds.json`).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Updater } from 'tuf-js';
import {
  DownloadError,
  DownloadLengthMismatchError,
  ExpiredMetadataError,
  RuntimeError,
} from 'tuf-js/dist/error.js';

export { SIGSTORE_PUBLIC_GOOD_MIRROR, shippedTufRoot } from './tuf-seeds.js';

/** Why a TUF fetch failed: the mirror could not be read, its metadata expired, or it did not verify. */
export type TufFailure = 'UNAVAILABLE' | 'EXPIRED' | 'VERIFICATION' | 'NO_TARGET';

export class TufFetchError extends Error {
  override readonly name = 'TufFetchError';
  constructor(
    readonly failure: TufFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TufTargetRequest {
  /** The repository's base URL: metadata at `<url>/N.root.json`, targets at `<url>/targets/`. */
  readonly mirrorUrl: string;
  /** The root.json bytes trusted first (version 1 or any later one). */
  readonly trustedRoot: Uint8Array;
  /** The target's path in the targets metadata (`trusted_root.json`). */
  readonly target: string;
  /**
   * A directory the client keeps its metadata and targets in (Lambda's /tmp). While it lasts
   * (a warm function), the newest verified metadata protects against a mirror rolling versions
   * back; a cold start begins again from `trustedRoot`.
   */
  readonly cacheDir: string;
  /** Milliseconds per request (default 15 s). */
  readonly timeoutMs?: number;
  /** Retries of a request that failed on the network or with a 5xx (default 2). */
  readonly retries?: number;
}

export interface TufTarget {
  readonly bytes: Buffer;
  /** The version of the targets metadata that listed it, and of the root that signed that. */
  readonly targetsVersion: number;
  readonly rootVersion: number;
}

/** Fetches and verifies one target; throws TufFetchError. */
export async function fetchTufTarget(request: TufTargetRequest): Promise<TufTarget> {
  const mirror = request.mirrorUrl.replace(/\/+$/, '');
  const dir = cacheFor(request, mirror);
  let updater: Updater;
  try {
    updater = new Updater({
      metadataBaseUrl: mirror,
      metadataDir: dir,
      targetBaseUrl: `${mirror}/targets`,
      targetDir: path.join(dir, 'targets'),
      config: {
        fetchTimeout: request.timeoutMs ?? 15_000,
        fetchRetry: request.retries ?? 2,
        userAgent: 'bosun-trust-refresh',
      },
    });
  } catch (error) {
    throw new TufFetchError('VERIFICATION', `${mirror}: the trusted TUF root is not valid`, {
      cause: error,
    });
  }
  try {
    await updater.refresh();
    const info = await updater.getTargetInfo(request.target);
    if (info === undefined)
      throw new TufFetchError(
        'NO_TARGET',
        `${mirror}: the targets metadata has no ${request.target}`,
      );
    // A cached copy is used only if it still has the length and hashes the metadata gives.
    const file = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
    // The store's state after refresh: read from the metadata it persisted, for the outcome.
    const version = (role: string) =>
      (JSON.parse(readFileSync(path.join(dir, `${role}.json`), 'utf8')) as Signed).signed.version;
    return {
      bytes: readFileSync(file),
      targetsVersion: version('targets'),
      rootVersion: version('root'),
    };
  } catch (error) {
    if (error instanceof TufFetchError) throw error;
    throw new TufFetchError(
      failureOf(error),
      `${mirror}: ${request.target}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

interface Signed {
  readonly signed: { readonly version: number };
}

/**
 * The cache of one (mirror, trusted root) pair, seeded with the trusted root. A different
 * trusted root gets a directory of its own, so changing the configured root takes effect
 * even in a warm function.
 */
function cacheFor(request: TufTargetRequest, mirror: string): string {
  const id = createHash('sha256')
    .update(mirror)
    .update('\u0000')
    .update(request.trustedRoot)
    .digest('hex')
    .slice(0, 32);
  const dir = path.join(request.cacheDir, id);
  mkdirSync(path.join(dir, 'targets'), { recursive: true });
  const root = path.join(dir, 'root.json');
  if (!existsSync(root)) writeFileSync(root, request.trustedRoot);
  return dir;
}

/**
 * tuf-js's errors by what they mean to an operator. Expiry is its own class (a mirror that
 * stopped publishing, or a freeze attack); a download that failed on the network or with an
 * HTTP error is the mirror being unavailable, except a length overrun, which is a mirror
 * sending more than the metadata allows; everything else is metadata or a target that did not
 * verify (signatures, thresholds, versions, hashes, malformed documents).
 *
 * tuf-js (5.0.1, updater.js loadSnapshot/loadTargets) rethrows the failures of snapshot and
 * targets as a RuntimeError whose message embeds the original one (`Unable to load snapshot
 * metadata error Error: snapshot.json is expired`), without a cause: those are told apart by
 * that text.
 */
function failureOf(error: unknown): TufFailure {
  if (error instanceof ExpiredMetadataError) return 'EXPIRED';
  if (error instanceof DownloadLengthMismatchError) return 'VERIFICATION';
  if (error instanceof DownloadError) return 'UNAVAILABLE';
  // fetch() rejects with a TypeError when the connection fails, and a TimeoutError on timeout.
  if (error instanceof TypeError && error.message === 'fetch failed') return 'UNAVAILABLE';
  if (error instanceof Error && error.name === 'TimeoutError') return 'UNAVAILABLE';
  if (error instanceof RuntimeError && /^Unable to load /.test(error.message)) {
    if (/ is expired$/.test(error.message)) return 'EXPIRED';
    if (/Max length reached$/.test(error.message)) return 'VERIFICATION';
    if (/(Failed to download|fetch failed|TimeoutError: .*)$/.test(error.message))
      return 'UNAVAILABLE';
  }
  return 'VERIFICATION';
}
