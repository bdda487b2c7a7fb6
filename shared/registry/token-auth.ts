/**
 * How a request proves who sends it, as the registry's 401 challenge asks: Basic credentials,
 * or a Bearer token from the registry's token service (the Docker/distribution token flow):
 * https://distribution.github.io/distribution/spec/auth/token/
 * Where the credentials come from (static, ECR) is auth.ts's job.
 */
import type { CredentialProvider, Credentials } from './auth.js';
import { RegistryAuthError } from './errors.js';
import type { HostPolicy } from './hosts.js';
import { readBounded } from './transport.js';

/**
 * A token response is a JSON object with a token of a few kilobytes (JWTs of the big registries
 * are 1-8 KiB); a larger body is not a token response, and an endless one must not fill memory.
 */
export const TOKEN_RESPONSE_MAX_BYTES = 1024 * 1024;

/** The repository a request reads; tokens are granted per repository. */
export interface Scope {
  readonly registry: string;
  readonly repository: string;
}

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (RFC 7235). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (header === null) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(match[2] ?? ''); m !== null; m = re.exec(match[2] ?? '')) {
    params[(m[1] ?? '').toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/**
 * The resource scope a pull token is asked for, also the key of the token cache:
 * https://distribution.github.io/distribution/spec/auth/scope/
 */
function tokenKey(scope: Scope): string {
  return `${scope.registry}|repository:${scope.repository}:pull`;
}

export interface AuthenticatorOptions {
  readonly credentials: CredentialProvider;
  /** Used for token requests only; they are neither retried nor redirected by hand. */
  readonly fetch: typeof fetch;
  /** Time allowed for one token request, its body included. */
  readonly timeoutMs: number;
  /** Where each registry may send us for tokens (hosts.ts). */
  readonly hosts: (registry: string) => HostPolicy;
}

/**
 * Answers registry challenges and remembers the answers: the scheme each registry asked for,
 * and each repository's pull token until shortly before it expires.
 */
export class Authenticator {
  private readonly tokens = new Map<string, { authorization: string; expiresAt: number }>();
  /** How each registry asked to be authenticated, so later requests authenticate up front. */
  private readonly schemes = new Map<string, 'basic' | 'bearer'>();

  constructor(private readonly options: AuthenticatorOptions) {}

  /**
   * Sends a request through `send` with what this registry is known to want, and on a 401
   * answers the challenge and sends it once more. Returns the response, which may still be a
   * failure other than 401/403 after a challenge; throws RegistryAuthError when the challenge
   * cannot be answered or the answer is refused.
   */
  async authenticate(
    scope: Scope,
    what: string,
    send: (authorization: string | undefined) => Promise<Response>,
  ): Promise<Response> {
    let response = await send(await this.authorizationFor(scope));
    if (response.status === 401) {
      await response.body?.cancel();
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (challenge === undefined)
        throw new RegistryAuthError(`${what}: 401 without a usable WWW-Authenticate challenge`);
      this.schemes.set(scope.registry, challenge.scheme);
      response = await send(
        await this.answerChallenge(scope, challenge.scheme, challenge.params, what),
      );
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        this.tokens.delete(tokenKey(scope));
        throw new RegistryAuthError(
          `${what}: the registry refused the credentials (HTTP ${response.status})`,
        );
      }
    }
    return response;
  }

  /** The Authorization header to send before any challenge, if one is known to be wanted. */
  private async authorizationFor(scope: Scope): Promise<string | undefined> {
    const scheme = this.schemes.get(scope.registry);
    if (scheme === 'basic') {
      const credentials = await this.options.credentials.credentials(scope.registry);
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
    const credentials = await this.options.credentials.credentials(scope.registry);
    if (scheme === 'basic') {
      if (credentials === undefined)
        throw new RegistryAuthError(
          `${what}: the registry asks for a password and none is configured for ${scope.registry}`,
        );
      if (credentials.identityToken !== undefined && credentials.password === '')
        throw new RegistryAuthError(
          `${what}: the registry asks for a password and only an identity token is configured for ${scope.registry}`,
        );
      return basicAuthorization(credentials);
    }
    // The token request: GET realm?service=…&scope=…, with Basic credentials if we have any
    // (anonymous otherwise, which public registries grant for pulls); the spec's "Requesting a
    // Token" section.
    const realm = params.realm;
    if (realm === undefined)
      throw new RegistryAuthError(`${what}: Bearer challenge without a realm`);
    const tokenUrl = URL.canParse(realm) ? new URL(realm) : undefined;
    if (tokenUrl === undefined)
      throw new RegistryAuthError(`${what}: Bearer realm ${JSON.stringify(realm)} is not a URL`);
    // The realm is the registry's word only: credentials go there only when it is the registry
    // itself or a token host allowed for it, never over plain HTTP from an HTTPS registry.
    const policy = this.options.hosts(scope.registry);
    if (!policy.allows(tokenUrl))
      throw new RegistryAuthError(
        `${what}: refused the Bearer realm ${tokenUrl.origin}: not an allowed host for ${scope.registry} (allow it: bosun --allow-host REGISTRY=HOST, or the construct's registryAllowedHosts)`,
      );
    if (params.service !== undefined) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', `repository:${scope.repository}:pull`);
    // An identity token is an OAuth2 refresh token: POSTed to the realm instead, as the spec's
    // oauth.md asks (https://distribution.github.io/distribution/spec/auth/oauth/); the answer
    // has the same fields.
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const response =
      credentials?.identityToken === undefined
        ? await this.options.fetch(tokenUrl, {
            headers:
              credentials === undefined ? {} : { Authorization: basicAuthorization(credentials) },
            // A redirect would carry the credentials to a host nobody allowed.
            redirect: 'manual',
            signal,
          })
        : await this.options.fetch(new URL(realm), {
            method: 'POST',
            redirect: 'manual',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: credentials.identityToken,
              client_id: 'bosun',
              scope: `repository:${scope.repository}:pull`,
              ...(params.service === undefined ? {} : { service: params.service }),
            }),
            signal,
          });
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryAuthError(
        `${what}: token endpoint ${tokenUrl.origin}${tokenUrl.pathname} answered HTTP ${response.status}`,
      );
    }
    // `token`, or `access_token` (its OAuth 2 name, accepted for compatibility), with optional
    // `expires_in` seconds and an RFC 3339 `issued_at`; the spec's "Token Response Fields".
    let body: {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
      issued_at?: unknown;
    };
    try {
      const bytes = await readBounded(
        response,
        TOKEN_RESPONSE_MAX_BYTES,
        `${what}: token endpoint ${tokenUrl.origin}${tokenUrl.pathname}`,
        this.options.timeoutMs,
        this.options.timeoutMs,
      );
      body = JSON.parse(bytes.toString('utf8')) ?? {};
    } catch (cause) {
      throw new RegistryAuthError(
        cause instanceof SyntaxError
          ? `${what}: token endpoint ${tokenUrl.origin}${tokenUrl.pathname} answered something other than JSON`
          : (cause as Error).message,
        { cause },
      );
    }
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
