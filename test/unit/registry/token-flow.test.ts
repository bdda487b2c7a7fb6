import { describe, expect, it } from 'vitest';
import { type CredentialProvider, StaticCredentials } from '../../../shared/registry/auth.js';
import { RegistryAuthError } from '../../../shared/registry/errors.js';
import { HostPolicy } from '../../../shared/registry/hosts.js';
import { Authenticator, type Scope } from '../../../shared/registry/token-auth.js';

const REGISTRY = 'r.example';
const app: Scope = { registry: REGISTRY, repository: 'team/app' };
const what = 'manifest r.example/team/app:1';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const BEARER =
  'Bearer realm="https://auth.r.example/token",service="r.example",scope="repository:other:pull"';

/**
 * A registry that wants `accepted` as the Authorization header and otherwise challenges with
 * `challenge`, and a token service answering `tokens` in turn. Both record what they receive.
 */
function registry(options: {
  challenge?: string;
  accepted: (authorization: string | undefined) => boolean;
  tokens?: (() => Response)[];
}) {
  const sent: (string | undefined)[] = [];
  const tokenRequests: { url: string; authorization: string | undefined }[] = [];
  const send = async (authorization: string | undefined) => {
    sent.push(authorization);
    if (options.accepted(authorization)) return new Response('{}');
    return new Response(null, {
      status: 401,
      headers: options.challenge === undefined ? {} : { 'www-authenticate': options.challenge },
    });
  };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const headers = init?.headers as Record<string, string>;
    tokenRequests.push({ url: String(input), authorization: headers.Authorization });
    const answer = options.tokens?.[tokenRequests.length - 1];
    if (answer === undefined) throw new Error('unexpected token request');
    return answer();
  };
  return { sent, tokenRequests, send, fetch };
}

const json =
  (body: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(body), { status });

function authenticator(fetch: typeof globalThis.fetch, credentials?: CredentialProvider) {
  return new Authenticator({
    credentials:
      credentials ?? new StaticCredentials({ [REGISTRY]: { username: 'u', password: 'p' } }),
    fetch,
    timeoutMs: 1_000,
    // The registry's token service is on another host it is allowed to name.
    hosts: (registry) =>
      new HostPolicy(registry, new URL(`https://${registry}`), ['auth.r.example']),
  });
}

describe('the Bearer token flow', () => {
  it('asks the realm for a pull token of the repository, with the service and Basic credentials', async () => {
    const r = registry({
      challenge: BEARER,
      accepted: (a) => a === 'Bearer tok-1',
      tokens: [json({ token: 'tok-1', expires_in: 300 })],
    });
    const auth = authenticator(r.fetch);
    const response = await auth.authenticate(app, what, r.send);
    expect(response.status).toBe(200);
    // The scope is our repository's, whatever the challenge named.
    expect(r.tokenRequests).toEqual([
      {
        url: 'https://auth.r.example/token?service=r.example&scope=repository%3Ateam%2Fapp%3Apull',
        authorization: basic('u', 'p'),
      },
    ]);
    expect(r.sent).toEqual([undefined, 'Bearer tok-1']);
  });

  it('sends a cached token up front, per repository', async () => {
    const r = registry({
      challenge: BEARER,
      accepted: (a) => a?.startsWith('Bearer ') === true,
      tokens: [json({ token: 'tok-app' }), json({ token: 'tok-lib' })],
    });
    const auth = authenticator(r.fetch);
    await auth.authenticate(app, what, r.send);
    await auth.authenticate(app, what, r.send);
    await auth.authenticate({ registry: REGISTRY, repository: 'team/lib' }, what, r.send);
    expect(r.sent).toEqual([
      undefined,
      'Bearer tok-app',
      'Bearer tok-app',
      undefined,
      'Bearer tok-lib',
    ]);
    expect(r.tokenRequests).toHaveLength(2);
  });

  it('asks anonymously when there are no credentials, and accepts access_token', async () => {
    const r = registry({
      challenge: BEARER,
      accepted: (a) => a === 'Bearer oauth',
      tokens: [json({ access_token: 'oauth' })],
    });
    const auth = authenticator(r.fetch, { credentials: async () => undefined });
    expect((await auth.authenticate(app, what, r.send)).status).toBe(200);
    expect(r.tokenRequests[0]?.authorization).toBeUndefined();
  });

  it('renews a token after 90% of its lifetime, counted from issued_at (60 s by default)', async () => {
    const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    for (const [body, reused] of [
      [{ token: 't', issued_at: ago(50) }, true], // 50 s < 54 s
      [{ token: 't', issued_at: ago(55) }, false],
      [{ token: 't', expires_in: 100, issued_at: ago(89) }, true], // 89 s < 90 s
      [{ token: 't', expires_in: 100, issued_at: ago(91) }, false],
      // Stated in the future (a skewed clock): counted from now.
      [{ token: 't', expires_in: 100, issued_at: ago(-3600) }, true],
    ] as const) {
      const r = registry({
        challenge: BEARER,
        accepted: (a) => a === 'Bearer t',
        tokens: [json(body), json(body)],
      });
      const auth = authenticator(r.fetch);
      await auth.authenticate(app, what, r.send);
      await auth.authenticate(app, what, r.send);
      expect(r.tokenRequests.length, JSON.stringify(body)).toBe(reused ? 1 : 2);
    }
  });

  it('forgets a token the registry refuses, and says so', async () => {
    let refuse = false;
    const r = registry({
      challenge: BEARER,
      accepted: (a) => a === 'Bearer t' && !refuse,
      tokens: [json({ token: 't' }), json({ token: 't' }), json({ token: 't' })],
    });
    const auth = authenticator(r.fetch);
    await auth.authenticate(app, what, r.send);
    refuse = true;
    const error = await auth.authenticate(app, what, r.send).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `${what}: the registry refused the credentials (HTTP 401)`,
    );
    refuse = false;
    r.sent.length = 0;
    await auth.authenticate(app, what, r.send);
    expect(r.sent).toEqual([undefined, 'Bearer t']);
  });

  it('fails with RegistryAuthError when the token service does not give a token', async () => {
    const cases: [() => Response, string][] = [
      [
        json({ error: 'denied' }, 401),
        `${what}: token endpoint https://auth.r.example/token answered HTTP 401`,
      ],
      [json({ token: '' }), `${what}: token endpoint returned no token`],
    ];
    for (const [answer, message] of cases) {
      const r = registry({ challenge: BEARER, accepted: () => false, tokens: [answer] });
      const error = await authenticator(r.fetch)
        .authenticate(app, what, r.send)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryAuthError);
      expect((error as Error).message).toBe(message);
    }
  });
});

describe('where a Bearer realm may lead', () => {
  it('refuses a realm on a host the registry may not name, or over plain HTTP, before any request', async () => {
    for (const realm of [
      'https://attacker.example/token',
      'http://r.example/token',
      'http://169.254.169.254/latest/meta-data/',
      'not a url',
    ]) {
      const r = registry({
        challenge: `Bearer realm="${realm}",service="r.example"`,
        accepted: () => false,
        tokens: [json({ token: 't' })],
      });
      const error = await authenticator(r.fetch)
        .authenticate(app, what, r.send)
        .catch((e: unknown) => e);
      expect(error, realm).toBeInstanceOf(RegistryAuthError);
      expect((error as Error).message, realm).toMatch(/refused the Bearer realm|is not a URL/);
      expect(r.tokenRequests, realm).toEqual([]);
    }
  });

  it('does not follow a redirect of the token endpoint', async () => {
    const r = registry({
      challenge: BEARER,
      accepted: () => false,
      tokens: [
        () =>
          new Response(null, { status: 307, headers: { location: 'https://attacker.example/' } }),
      ],
    });
    const redirects: (string | undefined)[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      redirects.push(init?.redirect);
      return r.fetch(input, init);
    };
    const error = await authenticator(fetch)
      .authenticate(app, what, r.send)
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `${what}: token endpoint https://auth.r.example/token answered HTTP 307`,
    );
    expect(redirects).toEqual(['manual']);
  });
});

describe('challenges', () => {
  it('answers a Basic challenge and then sends Basic up front to every repository of the registry', async () => {
    const r = registry({
      challenge: 'Basic realm="Registry"',
      accepted: (a) => a === basic('u', 'p'),
    });
    const auth = authenticator(r.fetch);
    await auth.authenticate(app, what, r.send);
    await auth.authenticate({ registry: REGISTRY, repository: 'team/lib' }, what, r.send);
    expect(r.sent).toEqual([undefined, basic('u', 'p'), basic('u', 'p')]);
  });

  it('names the registry when it asks for a password and none is configured', async () => {
    const r = registry({ challenge: 'Basic realm="Registry"', accepted: () => false });
    const auth = authenticator(r.fetch, { credentials: async () => undefined });
    await expect(auth.authenticate(app, what, r.send)).rejects.toThrow(
      `${what}: the registry asks for a password and none is configured for r.example`,
    );
  });

  it('refuses a 401 without a challenge it can answer', async () => {
    for (const [challenge, message] of [
      [undefined, `${what}: 401 without a usable WWW-Authenticate challenge`],
      ['Negotiate abc', `${what}: 401 without a usable WWW-Authenticate challenge`],
      ['Bearer service="r.example"', `${what}: Bearer challenge without a realm`],
    ] as const) {
      const r = registry({ challenge, accepted: () => false });
      const error = await authenticator(r.fetch)
        .authenticate(app, what, r.send)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryAuthError);
      expect((error as Error).message).toBe(message);
    }
  });

  it('passes through any answer other than 401 untouched', async () => {
    const auth = authenticator(async () => {
      throw new Error('no token request expected');
    });
    const response = await auth.authenticate(
      app,
      what,
      async () => new Response(null, { status: 404 }),
    );
    expect(response.status).toBe(404);
  });
});
