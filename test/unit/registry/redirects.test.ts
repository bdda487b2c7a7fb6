import { describe, expect, it } from 'vitest';
import { HostNotAllowedError, RegistryError } from '../../../shared/registry/errors.js';
import { HostPolicy } from '../../../shared/registry/hosts.js';
import { Transport } from '../../../shared/registry/transport.js';

const what = 'blob r.example/app@sha256:0';

/** A fake fetch answering each URL from `routes`, recording what was sent. */
function server(routes: Record<string, () => Response>) {
  const sent: { url: string; headers: Record<string, string>; redirect?: string }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = String(input);
    sent.push({
      url,
      headers: init?.headers as Record<string, string>,
      redirect: init?.redirect as string,
    });
    const route = routes[url];
    if (route === undefined) throw new Error(`unexpected request ${url}`);
    return route();
  };
  return { sent, fetch };
}

const redirect = (location: string) => () =>
  new Response(null, { status: 307, headers: { location } });

describe('Transport.follow', () => {
  it('follows redirects itself and sends the Authorization header only to the first host', async () => {
    const s = server({
      'https://r.example/v2/app/blobs/x': redirect('/v2/app/blobs/y'),
      'https://r.example/v2/app/blobs/y': redirect('https://bucket.s3.example/layer?sig=1'),
      'https://bucket.s3.example/layer?sig=1': () => new Response('layer'),
    });
    const transport = new Transport({ fetch: s.fetch, userAgent: 'bosun-test' });
    const response = await transport.follow(
      'https://r.example/v2/app/blobs/x',
      'GET',
      { Accept: '*/*' },
      'Bearer t',
      new AbortController(),
      what,
    );
    expect(await response.text()).toBe('layer');
    expect(s.sent.map((r) => [r.url, r.headers.Authorization, r.redirect])).toEqual([
      ['https://r.example/v2/app/blobs/x', 'Bearer t', 'manual'],
      ['https://r.example/v2/app/blobs/y', 'Bearer t', 'manual'],
      ['https://bucket.s3.example/layer?sig=1', undefined, 'manual'],
    ]);
    for (const r of s.sent)
      expect(r.headers).toMatchObject({ Accept: '*/*', 'User-Agent': 'bosun-test' });
  });

  it('returns a 3xx without a Location, and any other status, as it is', async () => {
    const s = server({
      'https://r.example/a': () => new Response(null, { status: 304 }),
      'https://r.example/b': () => new Response(null, { status: 404 }),
    });
    const transport = new Transport({ fetch: s.fetch });
    for (const [path, status] of [
      ['a', 304],
      ['b', 404],
    ] as const) {
      const response = await transport.follow(
        `https://r.example/${path}`,
        'GET',
        {},
        undefined,
        new AbortController(),
        what,
      );
      expect(response.status).toBe(status);
    }
  });

  it('never follows a redirect from HTTPS down to plain HTTP, and sends nothing there', async () => {
    const s = server({
      'https://r.example/v2/app/blobs/x': redirect('http://r.example/v2/app/blobs/x'),
    });
    const error = await new Transport({ fetch: s.fetch })
      .follow(
        'https://r.example/v2/app/blobs/x',
        'GET',
        {},
        'Bearer t',
        new AbortController(),
        what,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotAllowedError);
    expect((error as Error).message).toBe(
      `${what}: refused a redirect to http://r.example: a redirect from HTTPS to plain HTTP`,
    );
    expect(s.sent.map((r) => r.url)).toEqual(['https://r.example/v2/app/blobs/x']);
  });

  it("follows ECR's blob redirect to its S3 bucket by default, without the registry's Authorization", async () => {
    const ecr = 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    const s3 =
      'https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/ab/cd?X-Amz-Signature=1';
    const s = server({
      [`${ecr}/v2/app/blobs/x`]: redirect(s3),
      [s3]: () => new Response('layer'),
    });
    const policy = new HostPolicy('123456789012.dkr.ecr.eu-west-1.amazonaws.com', new URL(ecr));
    const response = await new Transport({ fetch: s.fetch }).follow(
      `${ecr}/v2/app/blobs/x`,
      'GET',
      {},
      'Basic QVdTOnRva2Vu',
      new AbortController(),
      what,
      policy,
    );
    expect(await response.text()).toBe('layer');
    expect(s.sent.map((r) => [r.url, r.headers.Authorization])).toEqual([
      [`${ecr}/v2/app/blobs/x`, 'Basic QVdTOnRva2Vu'],
      [s3, undefined],
    ]);
  });

  it('follows redirects only to hosts the registry is allowed to name', async () => {
    const s = server({
      'https://r.example/v2/app/blobs/x': redirect('https://169.254.169.254/latest/meta-data/'),
    });
    const policy = new HostPolicy('r.example', new URL('https://r.example'));
    const error = await new Transport({ fetch: s.fetch })
      .follow(
        'https://r.example/v2/app/blobs/x',
        'GET',
        {},
        undefined,
        new AbortController(),
        what,
        policy,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotAllowedError);
    expect((error as Error).message).toBe(
      `${what}: refused a redirect to https://169.254.169.254: not an allowed host for r.example (allow it: bosun --allow-host REGISTRY=HOST, or the construct's registryAllowedHosts)`,
    );
    expect(s.sent).toHaveLength(1);
  });

  it('refuses a sixth redirect', async () => {
    const s = server({ 'https://r.example/loop': redirect('/loop') });
    const transport = new Transport({ fetch: s.fetch });
    const error = await transport
      .follow('https://r.example/loop', 'GET', {}, undefined, new AbortController(), what)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(`${what}: more than 5 redirects`);
    expect(s.sent).toHaveLength(6);
  });

  it('aborts a request whose headers do not come in time, and does not retry it', async () => {
    let calls = 0;
    // Like fetch, rejects with the signal's reason when aborted.
    const hanging: typeof fetch = (_input, init) => {
      calls++;
      return new Promise((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    };
    const transport = new Transport({ fetch: hanging, timeoutMs: 20, retry: { baseDelayMs: 1 } });
    const controller = new AbortController();
    const error = await transport
      .withRetries(what, controller, () =>
        transport.follow('https://r.example/x', 'GET', {}, undefined, controller, what),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(`${what}: no response within 20 ms`);
    expect(calls).toBe(1);
  });
});
