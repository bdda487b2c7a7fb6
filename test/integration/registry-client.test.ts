import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type {
  GetAuthorizationTokenCommand,
  GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DockerArchiveSource } from '../../shared/image/docker-archive.js';
import { OciLayoutSource } from '../../shared/image/oci-layout.js';
import { RegistryImageSource } from '../../shared/image/registry-source.js';
import type { Image } from '../../shared/image/types.js';
import { walkImage } from '../../shared/inventory/walk.js';
import { readerId } from '../../shared/layers/reader-id.js';
import type { FileTree } from '../../shared/layers/tree.js';
import { EcrCredentials, StaticCredentials } from '../../shared/registry/auth.js';
import { RegistryClient } from '../../shared/registry/client.js';
import {
  DigestMismatchError,
  RegistryAuthError,
  RegistryError,
} from '../../shared/registry/errors.js';
import { MediaType } from '../../shared/registry/media-types.js';
import { parseReference } from '../../shared/registry/reference.js';
import { dataDir } from '../support/fixtures.js';
import { derivedFiles, LayoutWriter, pushLayout, tarOf } from '../support/oci.js';
import { startPasswordRegistry, startProxy, type TestRegistry } from '../support/registry.js';

const stack = inject('localStack');
const REGISTRY = `127.0.0.1:${stack.services.registry.port}`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-registry-'));
const READER = readerId([{ id: 'test/package-files', version: 1 }]);
const WANTED = new Set(['lib/apk/db/installed', 'etc/os-release', 'etc/alpine-release']);
const wants = (e: { path: string }) => WANTED.has(e.path);
const fast = { retry: { baseDelayMs: 5, maxDelayMs: 50 } };
const run = `${process.pid}`;

function listing(tree: FileTree): string[] {
  return [...tree.entries()].map((e) => `${e.type} ${e.path} ${e.size} ${e.linkname ?? ''}`);
}

async function walkAll(images: Image[]) {
  return Promise.all(
    images.map(async (image) => ({
      image,
      walk: await walkImage(image, wants, { reader: READER }),
    })),
  );
}

/** Pulls and walks the test image through a proxy on `port`; true when every layer was read. */
async function pullThroughProxy(
  port: number,
  credentials?: { username: string; password: string },
): Promise<boolean> {
  const client = new RegistryClient({
    ...fast,
    ...(credentials === undefined
      ? {}
      : { credentials: new StaticCredentials({ [`127.0.0.1:${port}`]: credentials }) }),
  });
  const set = await new RegistryImageSource(
    client,
    parseReference(`127.0.0.1:${port}/t${run}/oci:gzip`),
  ).images();
  return (await walkAll(set.images))[0]?.walk.complete === true;
}

let singleLayout: string;
let multiLayout: string;
let password: TestRegistry;

beforeAll(async () => {
  singleLayout = path.join(work, 'single');
  const w = new LayoutWriter(singleLayout);
  const base = await tarOf(derivedFiles('alpine-310'));
  const app = await tarOf([
    { path: 'etc/.wh.alpine-release' },
    { path: 'srv/', type: 'directory' },
    { path: 'srv/app.txt', content: 'bosun\n' },
  ]);
  w.finish(w.image({ architecture: 'amd64', layers: [base, app] }), 'gzip');
  w.finish(w.image({ architecture: 'amd64', layers: [base, app], compression: 'zstd' }), 'zstd');
  // finish() rewrites index.json; keep both names.
  const gzipIndex = new LayoutWriter(path.join(work, 'single-gzip'));
  gzipIndex.finish(gzipIndex.image({ architecture: 'amd64', layers: [base, app] }), 'gzip');

  multiLayout = path.join(work, 'multi');
  const m = new LayoutWriter(multiLayout);
  const layer = await tarOf(derivedFiles('alpine-311'));
  const amd64 = m.image({ architecture: 'amd64', layers: [layer] });
  const arm64 = m.image({ architecture: 'arm64', variant: 'v8', layers: [layer] });
  m.finish(m.index([amd64, arm64, m.attestation(amd64)]), 'multi');

  password = await startPasswordRegistry(
    path.join(work, 'password-registry'),
    'AWS',
    'ecr-token-1',
  );
}, 60_000);

afterAll(async () => {
  await password?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('pulling from the local registry', () => {
  it('reads an image pushed as OCI (gzip and zstd layers) and as Docker schema 2 exactly as from its layout', async () => {
    const expected = listing(
      (
        await walkAll((await new OciLayoutSource(path.join(work, 'single-gzip')).images()).images)
      )[0]?.walk.tree as FileTree,
    );
    pushLayout(path.join(work, 'single-gzip'), 'gzip', `${REGISTRY}/t${run}/oci:gzip`);
    pushLayout(singleLayout, 'zstd', `${REGISTRY}/t${run}/oci:zstd`);
    pushLayout(path.join(work, 'single-gzip'), 'gzip', `${REGISTRY}/t${run}/docker:v2s2`, {
      format: 'v2s2',
    });
    const client = new RegistryClient(fast);
    const seen: Record<string, string> = {};
    for (const ref of [
      `${REGISTRY}/t${run}/oci:gzip`,
      `${REGISTRY}/t${run}/oci:zstd`,
      `${REGISTRY}/t${run}/docker:v2s2`,
    ]) {
      const manifest = await client.getManifest(parseReference(ref));
      seen[ref] = manifest.mediaType;
      const set = await new RegistryImageSource(client, parseReference(ref)).images();
      const [result] = await walkAll(set.images);
      expect(result?.walk.complete, ref).toBe(true);
      expect(listing(result?.walk.tree as FileTree), ref).toEqual(expected);
      expect(result?.image.manifestDigest).toBe(manifest.digest);
    }
    expect(Object.values(seen)).toEqual([
      MediaType.ociManifest,
      MediaType.ociManifest,
      MediaType.dockerManifest,
    ]);
  });

  it('resolves a tag to the digest the registry reports, and pulls by that digest', async () => {
    const client = new RegistryClient(fast);
    const digest = await client.resolve(parseReference(`${REGISTRY}/t${run}/oci:gzip`));
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const byDigest = await client.getManifest(parseReference(`${REGISTRY}/t${run}/oci@${digest}`));
    expect(byDigest.digest).toBe(digest);
  });

  it('pulls each platform of a multi-platform index and skips its attestation manifest', async () => {
    pushLayout(multiLayout, 'multi', `${REGISTRY}/t${run}/multi:1`, { all: true });
    const source = new RegistryImageSource(
      new RegistryClient(fast),
      parseReference(`${REGISTRY}/t${run}/multi:1`),
    );
    const set = await source.images();
    expect(set.images.map((i) => `${i.platform.architecture}${i.platform.variant ?? ''}`)).toEqual([
      'amd64',
      'arm64v8',
    ]);
    expect(set.skipped.map((s) => s.reason)).toEqual(['attestation manifest']);
    for (const { walk } of await walkAll(set.images)) {
      expect(walk.tree.read('etc/alpine-release')?.toString()).toBe('3.11.5\n');
      expect(walk.tree.get('lib/apk/db/installed')).toBeDefined();
    }
    const arm = await source.images({ platforms: ['linux/arm64/v8'] });
    expect(arm.images).toHaveLength(1);
  });

  it('reads the real Alpine images identically from their `docker save` archive and from the registry', async () => {
    for (const release of ['310', '311']) {
      const gz = path.join(
        dataDir(),
        `pkgdbs/trivy/pkg/fanal/test/testdata/alpine-${release}.tar.gz`,
      );
      const archive = path.join(work, `alpine-${release}.tar`);
      execFileSync('sh', ['-c', `gzip -dc "${gz}" > "${archive}"`]);
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        `docker-archive:${archive}`,
        `docker://${REGISTRY}/t${run}/alpine:${release}`,
      ]);
      const [fromArchive] = await walkAll((await new DockerArchiveSource(gz).images()).images);
      const [fromRegistry] = await walkAll(
        (
          await new RegistryImageSource(
            new RegistryClient(fast),
            parseReference(`${REGISTRY}/t${run}/alpine:${release}`),
          ).images()
        ).images,
      );
      expect(fromRegistry?.image.layers.map((l) => l.diffId)).toEqual(
        fromArchive?.image.layers.map((l) => l.diffId),
      );
      expect(listing(fromRegistry?.walk.tree as FileTree)).toEqual(
        listing(fromArchive?.walk.tree as FileTree),
      );
      expect(
        fromRegistry?.walk.tree
          .read('lib/apk/db/installed')
          ?.equals(fromArchive?.walk.tree.read('lib/apk/db/installed') ?? Buffer.alloc(0)),
      ).toBe(true);
    }
  }, 60_000);
});

describe('authentication', () => {
  it('sends basic credentials to a registry that asks for them, and fails clearly with wrong ones', async () => {
    pushLayout(path.join(work, 'single-gzip'), 'gzip', `${password.host}/private/app:1`, {
      creds: 'AWS:ecr-token-1',
    });
    const ref = parseReference(`${password.host}/private/app:1`);
    const good = new RegistryClient({
      ...fast,
      credentials: new StaticCredentials({
        [password.host]: { username: 'AWS', password: 'ecr-token-1' },
      }),
    });
    const set = await new RegistryImageSource(good, ref).images();
    expect((await walkAll(set.images))[0]?.walk.complete).toBe(true);

    const wrong = new RegistryClient({
      ...fast,
      credentials: new StaticCredentials({
        [password.host]: { username: 'AWS', password: 'nope' },
      }),
    });
    await expect(wrong.getManifest(ref)).rejects.toThrow(RegistryAuthError);
    await expect(new RegistryClient(fast).getManifest(ref)).rejects.toThrow(
      /asks for a password and none is configured for 127\.0\.0\.1:\d+/,
    );
  });

  it('pulls from ECR with a token from GetAuthorizationToken, fetched once (SDK client faked at its boundary)', async () => {
    const calls: string[][] = [];
    const ecr = {
      async send(
        command: GetAuthorizationTokenCommand,
      ): Promise<GetAuthorizationTokenCommandOutput> {
        calls.push(command.input.registryIds ?? []);
        return {
          $metadata: {},
          authorizationData: [
            {
              authorizationToken: Buffer.from('AWS:ecr-token-1').toString('base64'),
              expiresAt: new Date(Date.now() + 12 * 3600_000),
            },
          ],
        };
      },
    };
    // The local registry stands in for 123456789012.dkr.ecr.<region>.amazonaws.com; the pull is real.
    const credentials = new EcrCredentials({
      client: ecr,
      accountOf: (host) => (host === password.host ? '123456789012' : undefined),
    });
    const client = new RegistryClient({ ...fast, credentials });
    const set = await new RegistryImageSource(
      client,
      parseReference(`${password.host}/private/app:1`),
    ).images();
    const [result] = await walkAll(set.images);
    expect(result?.walk.tree.read('etc/os-release')?.toString()).toContain('Alpine');
    expect(calls).toEqual([['123456789012']]);
  });

  it('follows a Bearer challenge, asks for a repository pull scope, and reuses the token until it expires', async () => {
    const tokenRequests: string[] = [];
    const proxy = await startProxy(stack.services.registry.endpoint, (req, res, p) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        tokenRequests.push(
          `${url.searchParams.get('service')} ${url.searchParams.get('scope')} ${req.headers.authorization ?? ''}`,
        );
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token: 'tok-1', expires_in: 300 }));
        return true;
      }
      if (req.headers.authorization !== 'Bearer tok-1') {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://127.0.0.1:${p.port}/token",service="bosun-test",scope="repository:x:pull"`,
          })
          .end();
        return true;
      }
      return false;
    });
    try {
      expect(await pullThroughProxy(proxy.port, { username: 'u', password: 'p' })).toBe(true);
      expect(tokenRequests).toEqual([
        `bosun-test repository:t${run}/oci:pull Basic ${Buffer.from('u:p').toString('base64')}`,
      ]);
      const authorized = proxy.requests.filter(
        (r) => r.url.startsWith('/v2/') && r.authorization === 'Bearer tok-1',
      );
      expect(authorized.length).toBeGreaterThanOrEqual(4);
    } finally {
      await proxy.stop();
    }
  });
});

describe('transport', () => {
  it('follows a blob redirect to another host without sending the registry credentials there', async () => {
    const proxy = await startProxy(stack.services.registry.endpoint, (req, res, p) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/storage/')) {
        p.relay(req, res, url.pathname.slice('/storage'.length));
        return true;
      }
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
        return true;
      }
      if (url.pathname.includes('/blobs/')) {
        // Another host name for the same server: the storage a registry redirects to (S3 for ECR).
        res
          .writeHead(307, {
            location: `http://localhost:${p.port}/storage${url.pathname}?X-Amz-Signature=abc`,
          })
          .end();
        return true;
      }
      return false;
    });
    try {
      expect(await pullThroughProxy(proxy.port, { username: 'u', password: 'p' })).toBe(true);
      const storage = proxy.requests.filter((r) => r.url.startsWith('/storage/'));
      expect(storage.length).toBe(3);
      for (const r of storage) {
        expect(r.host).toBe(`localhost:${proxy.port}`);
        expect(r.authorization).toBeUndefined();
      }
    } finally {
      await proxy.stop();
    }
  });

  it('retries 503s (honouring Retry-After) and connection resets, then succeeds', async () => {
    let manifestFailures = 0;
    let blobResets = 0;
    const proxy = await startProxy(stack.services.registry.endpoint, (req, res) => {
      if (req.url?.includes('/manifests/') && manifestFailures < 2) {
        manifestFailures++;
        res.writeHead(503, { 'retry-after': '0' }).end();
        return true;
      }
      if (req.url?.includes('/blobs/') && blobResets < 1) {
        blobResets++;
        req.socket.destroy();
        return true;
      }
      return false;
    });
    try {
      const client = new RegistryClient(fast);
      const set = await new RegistryImageSource(
        client,
        parseReference(`127.0.0.1:${proxy.port}/t${run}/oci:gzip`),
      ).images();
      expect((await walkAll(set.images))[0]?.walk.complete).toBe(true);
      expect([manifestFailures, blobResets]).toEqual([2, 1]);
    } finally {
      await proxy.stop();
    }
  });

  it('gives up after the configured attempts with the last status', async () => {
    let hits = 0;
    const proxy = await startProxy(stack.services.registry.endpoint, (_req, res) => {
      hits++;
      res.writeHead(503).end();
      return true;
    });
    try {
      const client = new RegistryClient({
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      });
      const error = await client
        .getManifest(parseReference(`127.0.0.1:${proxy.port}/t${run}/oci:gzip`))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).status).toBe(503);
      expect((error as Error).message).toMatch(/gave up after .* s: HTTP 503/);
      expect(hits).toBe(3);
    } finally {
      await proxy.stop();
    }
  });

  it('aborts a blob transfer that stalls, instead of hanging', async () => {
    const proxy = await startProxy(stack.services.registry.endpoint, (req, res) => {
      if (!req.url?.includes('/blobs/')) return false;
      // Headers and a few bytes, then silence: a registry or network that stopped mid-layer.
      // (No Content-Length: one unlike the blob's declared size is refused before reading.)
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(10));
      return true;
    });
    try {
      const client = new RegistryClient({ ...fast, timeoutMs: 500 });
      const started = Date.now();
      const error = await new RegistryImageSource(
        client,
        parseReference(`127.0.0.1:${proxy.port}/t${run}/oci:gzip`),
      )
        .images()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message ?? error)).toMatch(/no data for 500 ms|aborted/i);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await proxy.stop();
    }
  });

  it('fails a blob whose bytes do not match its digest, and a manifest whose digest header lies', async () => {
    const proxy = await startProxy(stack.services.registry.endpoint, (req, res, p) => {
      if (req.url?.includes('/blobs/')) {
        p.relay(req, res, undefined, (body) => {
          const copy = Buffer.from(body);
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0xff;
          return copy;
        });
        return true;
      }
      if (req.url?.includes('/manifests/gzip')) {
        // Same JSON, one more byte: no longer the content the registry's digest header names.
        p.relay(req, res, undefined, (body) => Buffer.concat([body, Buffer.from('\n')]));
        return true;
      }
      return false;
    });
    try {
      const client = new RegistryClient(fast);
      const digest = await new RegistryClient(fast).resolve(
        parseReference(`${REGISTRY}/t${run}/oci:gzip`),
      );
      const set = await new RegistryImageSource(
        client,
        parseReference(`127.0.0.1:${proxy.port}/t${run}/oci@${digest}`),
      )
        .images()
        .catch((e: unknown) => e);
      // The config blob is read whole first, so the mismatch surfaces there.
      expect(set).toBeInstanceOf(DigestMismatchError);
      expect((set as Error).message).toMatch(
        /^blob 127\.0\.0\.1:\d+\/t\d+\/oci@sha256:[a-f0-9]{64}: digest mismatch/,
      );
      const byTag = await client
        .getManifest(parseReference(`127.0.0.1:${proxy.port}/t${run}/oci:gzip`))
        .catch((e: unknown) => e);
      expect(byTag).toBeInstanceOf(DigestMismatchError);
      expect((byTag as Error).message).toMatch(
        /^manifest 127\.0\.0\.1:\d+\/t\d+\/oci:gzip: digest mismatch: expected sha256:/,
      );
    } finally {
      await proxy.stop();
    }
  });
});
