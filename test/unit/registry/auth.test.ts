import type {
  GetAuthorizationTokenCommand,
  GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { EcrCredentials, ecrAccountOf, parseChallenge } from '../../../shared/registry/auth.js';
import { parseRetryAfter } from '../../../shared/registry/client.js';
import { RegistryAuthError } from '../../../shared/registry/errors.js';

describe('parseChallenge', () => {
  it('reads Bearer and Basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/alpine:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter('Sat, 28 Nov 2026 12:00:10 GMT', Date.parse('Sat, 28 Nov 2026 12:00:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

/** ECR has no local emulator: the client is faked at its SDK boundary, as the guide allows. */
function fakeEcr(expiresInMs: number) {
  const calls: (string[] | undefined)[] = [];
  return {
    calls,
    client: {
      async send(
        command: GetAuthorizationTokenCommand,
      ): Promise<GetAuthorizationTokenCommandOutput> {
        calls.push(command.input.registryIds);
        return {
          $metadata: {},
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:token-${calls.length}`).toString('base64'),
              expiresAt: new Date(Date.now() + expiresInMs),
              proxyEndpoint: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com',
            },
          ],
        };
      },
    },
  };
}

describe('EcrCredentials', () => {
  it('derives the account from the registry host and caches the token until near expiry', async () => {
    const ecr = fakeEcr(12 * 3600_000);
    const creds = new EcrCredentials({ client: ecr.client });
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    expect(await creds.credentials(host)).toEqual({ username: 'AWS', password: 'token-1' });
    expect(await creds.credentials(host)).toEqual({ username: 'AWS', password: 'token-1' });
    expect(ecr.calls).toEqual([['123456789012']]);
    expect(await creds.credentials('ghcr.io')).toBeUndefined();
  });

  it('fetches a new token once the cached one is within the refresh margin', async () => {
    const ecr = fakeEcr(60_000);
    const creds = new EcrCredentials({ client: ecr.client, refreshMarginMs: 120_000 });
    await creds.credentials('123456789012.dkr.ecr.us-east-1.amazonaws.com');
    expect(
      (await creds.credentials('123456789012.dkr.ecr.us-east-1.amazonaws.com'))?.password,
    ).toBe('token-2');
  });

  it('turns an SDK failure into RegistryAuthError naming the account', async () => {
    const creds = new EcrCredentials({
      client: {
        send: async () => {
          throw new Error(
            'AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken',
          );
        },
      },
    });
    await expect(creds.credentials('210987654321.dkr.ecr.eu-west-1.amazonaws.com')).rejects.toThrow(
      RegistryAuthError,
    );
    await expect(creds.credentials('210987654321.dkr.ecr.eu-west-1.amazonaws.com')).rejects.toThrow(
      /account 210987654321/,
    );
  });

  it('recognises ECR hosts only', () => {
    expect(ecrAccountOf('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toBe('123456789012');
    expect(ecrAccountOf('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com')).toBe('123456789012');
    expect(ecrAccountOf('public.ecr.aws')).toBeUndefined();
  });
});
