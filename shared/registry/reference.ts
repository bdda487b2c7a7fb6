/**
 * Image references as Docker and the distribution project parse them:
 * https://github.com/distribution/reference/blob/main/reference.go
 * `[registry/]repository[:tag][@digest]`; a bare `alpine` is `docker.io/library/alpine:latest`.
 */
import { isDigest } from './digest.js';
import { InvalidReferenceError } from './errors.js';

export interface ImageReference {
  /** Host (and port) of the registry, as written: `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
export const DOCKER_HUB = 'docker.io';

export function parseReference(input: string): ImageReference {
  if (input.length === 0 || input.length > 4096)
    throw new InvalidReferenceError(input, 'empty or too long');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      throw new InvalidReferenceError(
        input,
        `digest ${JSON.stringify(digest)} is not sha256:<64 hex> or sha512:<128 hex>`,
      );
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw new InvalidReferenceError(input, `tag ${JSON.stringify(tag)} is not valid`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (
    parts.length > 1 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase())
  ) {
    registry = first;
    parts.shift();
    if (!DOMAIN.test(registry))
      throw new InvalidReferenceError(
        input,
        `registry ${JSON.stringify(registry)} is not a host[:port]`,
      );
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw new InvalidReferenceError(
      input,
      'repository must be lowercase path components of letters, digits and separators',
    );
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255)
    throw new InvalidReferenceError(input, 'repository longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The digest when there is one, else the tag: what to put in `/v2/<name>/manifests/<ref>`. */
export function manifestReference(ref: ImageReference): string {
  const value = ref.digest ?? ref.tag;
  if (value === undefined)
    throw new InvalidReferenceError(formatReference(ref), 'neither tag nor digest');
  return value;
}

export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Docker Hub's API lives on another host than its name. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}
