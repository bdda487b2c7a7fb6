/**
 * Where registry credentials come from: none, fixed per host, or ECR's GetAuthorizationToken.
 * ECR: https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
 * How they are presented to a registry (challenges, the token flow of the distribution spec)
 * is token-auth.ts's job.
 */
import {
  GetAuthorizationTokenCommand,
  type GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { RegistryAuthError } from './errors.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /**
   * An OAuth2 refresh token (Docker's "identity token", from `docker login` to a registry with
   * an OAuth-capable token service); token-auth.ts trades it for access tokens.
   */
  readonly identityToken?: string;
}

/** Basic credentials for a registry host, or undefined for anonymous access. */
export interface CredentialProvider {
  credentials(registry: string): Promise<Credentials | undefined>;
}

export const anonymous: CredentialProvider = { credentials: async () => undefined };

/** Fixed credentials per registry host (`127.0.0.1:5000`, `ghcr.io`). */
export class StaticCredentials implements CredentialProvider {
  constructor(private readonly byRegistry: Readonly<Record<string, Credentials>>) {}
  async credentials(registry: string): Promise<Credentials | undefined> {
    return this.byRegistry[registry];
  }
}

/** The first provider that has credentials for the registry answers; errors are not skipped. */
export class ChainedCredentials implements CredentialProvider {
  constructor(private readonly providers: readonly CredentialProvider[]) {}
  async credentials(registry: string): Promise<Credentials | undefined> {
    for (const provider of this.providers) {
      const found = await provider.credentials(registry);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The account of a private ECR registry host, or undefined for any other host. */
export function ecrAccountOf(registry: string): string | undefined {
  return ECR_HOST.exec(registry)?.[1];
}

/** The AWS region of a private ECR registry host, or undefined for any other host. */
export function ecrRegionOf(registry: string): string | undefined {
  return ECR_HOST.exec(registry)?.[2];
}

export interface EcrCredentialsOptions {
  /** An ECRClient; only GetAuthorizationToken is sent. */
  readonly client: {
    send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
  };
  /** Maps a registry host to its account; the default reads it from the ECR host name. */
  readonly accountOf?: (registry: string) => string | undefined;
  /** Refresh this long before the token expires. @default 5 minutes */
  readonly refreshMarginMs?: number;
  readonly now?: () => number;
}

/**
 * Credentials from ECR's GetAuthorizationToken: user `AWS` and a password valid for 12 hours,
 * cached per account until shortly before it expires.
 */
export class EcrCredentials implements CredentialProvider {
  private readonly cache = new Map<string, { credentials: Credentials; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<Credentials>>();
  constructor(private readonly options: EcrCredentialsOptions) {}

  async credentials(registry: string): Promise<Credentials | undefined> {
    const account = (this.options.accountOf ?? ecrAccountOf)(registry);
    if (account === undefined) return undefined;
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(account);
    if (cached !== undefined && cached.expiresAt - (this.options.refreshMarginMs ?? 300_000) > now)
      return cached.credentials;
    let inflight = this.pending.get(account);
    if (inflight === undefined) {
      inflight = this.fetchToken(account).finally(() => this.pending.delete(account));
      this.pending.set(account, inflight);
    }
    return inflight;
  }

  private async fetchToken(account: string): Promise<Credentials> {
    let out: GetAuthorizationTokenCommandOutput;
    try {
      out = await this.options.client.send(
        new GetAuthorizationTokenCommand({ registryIds: [account] }),
      );
    } catch (cause) {
      throw new RegistryAuthError(
        `ECR GetAuthorizationToken for account ${account} failed: ${(cause as Error).message}`,
        { cause },
      );
    }
    const data = out.authorizationData?.[0];
    const decoded =
      data?.authorizationToken === undefined
        ? ''
        : Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || data?.expiresAt === undefined) {
      throw new RegistryAuthError(
        `ECR GetAuthorizationToken for account ${account} returned no usable token`,
      );
    }
    const credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    this.cache.set(account, { credentials, expiresAt: data.expiresAt.getTime() });
    return credentials;
  }
}

// Importers of the challenge parsing from here keep working; it lives with the token flow.
export { basicAuthorization, type Challenge, parseChallenge } from './token-auth.js';
