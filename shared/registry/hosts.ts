/**
 * Which hosts a registry may send us to: the Bearer realm of its 401 challenge and the Location
 * of its redirects. A registry names them itself, so without a list a hostile or compromised
 * registry turns the scanner into a blind SSRF (a realm or redirect to the instance metadata
 * service, to a private address) and collects credentials at a host of its choosing.
 *
 * Allowed by default: the registry's own host, and for the public registries whose documented
 * token and storage hosts differ from the API host, those hosts. Anything else is configured per
 * registry (`RegistryClientOptions.allowedHosts`). Credentials still go only to the registry's
 * own host and its token realm (transport.ts, token-auth.ts): storage redirects carry pre-signed
 * URLs and no Authorization.
 */
import { ecrRegionOf } from './auth.js';

/**
 * Documented token and blob hosts of public registries, by registry name:
 * - Docker Hub: https://docs.docker.com/desktop/setup/allow-list/ (auth.docker.io, the
 *   Cloudflare/CloudFront CDN and the R2 bucket layers are redirected to);
 * - GitHub: https://docs.github.com/en/packages/working-with-a-github-packages-registry/working-with-the-container-registry
 *   (blobs from pkg-containers.githubusercontent.com);
 * - Quay: https://docs.quay.io/ (cdn*.quay.io, its S3 bucket);
 * - Microsoft: https://github.com/microsoft/containerregistry/blob/main/docs/client-firewall-rules.md
 *   (*.data.mcr.microsoft.com);
 * - Google (gcr.io, *-docker.pkg.dev): blobs from storage.googleapis.com;
 * - Amazon ECR Public: blobs from CloudFront;
 * - Azure (*.azurecr.io): https://learn.microsoft.com/en-us/azure/container-registry/container-registry-firewall-access-rules
 *   (blobs from *.blob.core.windows.net, or the dedicated data endpoints *.data.azurecr.io);
 * - GitLab.com: https://docs.gitlab.com/user/packages/container_registry/ (tokens from
 *   gitlab.com/jwt/auth, blobs from its CDN and Google Cloud Storage).
 */
const KNOWN: Readonly<Record<string, readonly string[]>> = {
  'docker.io': [
    'registry-1.docker.io',
    'auth.docker.io',
    'production.cloudflare.docker.com',
    'production.cloudfront.docker.com',
    '*.r2.cloudflarestorage.com',
  ],
  'ghcr.io': ['pkg-containers.githubusercontent.com'],
  'quay.io': ['*.quay.io', 'quay-registry.s3.amazonaws.com'],
  'mcr.microsoft.com': ['*.data.mcr.microsoft.com'],
  'gcr.io': ['storage.googleapis.com'],
  'public.ecr.aws': ['*.cloudfront.net'],
  'azurecr.io': ['*.blob.core.windows.net', '*.data.azurecr.io'],
  'registry.gitlab.com': ['gitlab.com', 'cdn.registry.gitlab-static.net', 'storage.googleapis.com'],
};

/** Names Docker Hub goes by; all are the one registry. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Private ECR redirects blob GETs to S3, to the bucket its VPC endpoint guide names
 * (`prod-<region>-starport-layer-bucket`):
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
 */
function ecrHosts(registry: string): string[] {
  const region = ecrRegionOf(registry);
  if (region === undefined) return [];
  const suffix = registry.endsWith('.cn') ? '.amazonaws.com.cn' : '.amazonaws.com';
  const bucket = `prod-${region}-starport-layer-bucket`;
  return [`${bucket}.s3.${region}${suffix}`, `${bucket}.s3${suffix}`];
}

/** The documented extra hosts of a registry, when it is one of the known public ones. */
export function knownHosts(registry: string): readonly string[] {
  const name = DOCKER_HUB.has(registry) ? 'docker.io' : registry;
  if (KNOWN[name] !== undefined) return KNOWN[name];
  if (/^([a-z0-9-]+\.)?gcr\.io$/.test(name) || /^[a-z0-9-]+-docker\.pkg\.dev$/.test(name))
    return KNOWN['gcr.io'] ?? [];
  if (/^[a-z0-9-]+\.azurecr\.io$/.test(name)) return KNOWN['azurecr.io'] ?? [];
  return ecrHosts(name);
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether `url` is on a host `pattern` names: `host`, `host:port`, or `*.suffix` (any name
 * under the suffix, not the suffix itself). A pattern without a port matches the scheme's
 * default port only.
 */
function matches(pattern: string, url: URL): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return url.port === '' && url.hostname.endsWith(p.slice(1));
  // URL.host leaves the scheme's default port out, as a pattern without a port does.
  return url.host === p;
}

/** The hosts one registry may name in realms and redirects. */
export class HostPolicy {
  private readonly patterns: readonly string[];

  /**
   * `apiUrl`: where the registry's API is reached (its own host, or the endpoint it is mapped
   * to); `extra`: configured host patterns for this registry.
   */
  constructor(
    readonly registry: string,
    private readonly apiUrl: URL,
    extra: readonly string[] = [],
  ) {
    this.patterns = [apiUrl.host, ...knownHosts(registry), ...extra];
  }

  /**
   * Whether a realm or redirect may lead to `url`. Never from HTTPS down to plain HTTP (a
   * downgrade would expose the token or the layer to the network); plain HTTP otherwise only
   * where the registry itself is plain HTTP (loopback or a configured insecure registry).
   */
  allows(url: URL, from: URL = this.apiUrl): boolean {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
    if (
      url.protocol === 'http:' &&
      (from.protocol === 'https:' || this.apiUrl.protocol === 'https:')
    )
      return false;
    if (url.username !== '' || url.password !== '') return false;
    if (this.patterns.some((p) => matches(p, url))) return true;
    // One machine under its loopback names (a test registry on 127.0.0.1 redirecting to
    // localhost on the same port): the same server, not another host.
    return (
      LOOPBACK_NAMES.has(this.apiUrl.hostname) &&
      LOOPBACK_NAMES.has(url.hostname) &&
      url.port === this.apiUrl.port
    );
  }
}

/** A host pattern as `allowedHosts` takes it: `host`, `host:port` or `*.suffix`. */
const HOST_PATTERN =
  /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** A pair of `REGISTRY=HOST` that is not one: its message names it and the expected form. */
export class AllowedHostSyntaxError extends Error {
  override readonly name = 'AllowedHostSyntaxError';
}

/**
 * `REGISTRY=HOST` pairs (the CLI's repeated `--allow-host`, the service's comma-separated
 * BOSUN_REGISTRY_ALLOWED_HOSTS) as the client's `allowedHosts`: the extra hosts each registry
 * may send realms and redirects to (a storage host that serves its blobs).
 */
export function parseAllowedHosts(pairs: readonly string[]): Record<string, string[]> {
  const byRegistry: Record<string, string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const registry = pair.slice(0, eq).trim().toLowerCase();
    const host = pair
      .slice(eq + 1)
      .trim()
      .toLowerCase();
    if (
      eq <= 0 ||
      !HOST_PATTERN.test(registry) ||
      registry.startsWith('*.') ||
      !HOST_PATTERN.test(host)
    )
      throw new AllowedHostSyntaxError(
        `invalid allowed host ${JSON.stringify(pair)}: REGISTRY=HOST, HOST as host, host:port or *.suffix`,
      );
    byRegistry[registry] = [...(byRegistry[registry] ?? []), host];
  }
  return byRegistry;
}
