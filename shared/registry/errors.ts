import { BosunError } from '../errors.js';

/** Content whose digest is not the one it was addressed by. Never retried, never accepted. */
export class DigestMismatchError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what: string,
  ) {
    super(`${what}: digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A reference string that is not `[registry/]repository[:tag][@digest]`. */
export class InvalidReferenceError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
  }
}

/** A manifest or index that is malformed, oversized, or of a kind Bosun refuses (schema 1). */
export class ManifestError extends BosunError {
  readonly fatal = false;
}

/** A manifest or index larger than its reader's limit. */
export class ManifestTooLargeError extends ManifestError {}

/** A media type Bosun does not know how to read. */
export class UnsupportedMediaTypeError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly mediaType: string,
    readonly what: string,
  ) {
    super(`${what}: unsupported media type ${JSON.stringify(mediaType)}`);
  }
}

/** The registry refused our credentials, or we have none it accepts. */
export class RegistryAuthError extends BosunError {
  readonly fatal = true;
}

/** The registry answered with an error that retrying did not cure. */
export class RegistryError extends BosunError {
  readonly fatal = false;
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An answer (a manifest, a blob, a referrers list) larger than the limit its reader allows. */
export class TooLargeError extends RegistryError {}

/** The manifest or blob does not exist (HTTP 404). */
export class NotFoundError extends RegistryError {}

/**
 * A registry named a host it may not send us to (a Bearer realm, a redirect), or asked to go
 * from HTTPS to plain HTTP; nothing was sent there. hosts.ts says which hosts are allowed.
 */
export class HostNotAllowedError extends RegistryError {}
