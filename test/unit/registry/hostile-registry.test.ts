/**
 * Hostile registries on loopback (issue 17 #4, #5, #6, #10 and the edge's realm and redirect
 * rules): a registry in this process serves a real image (trivy's Alpine 3.10 files) from an
 * OCI layout, with one answer changed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MANIFESTS } from '../../../shared/image/blob-store.js';
import { RegistryImageSource } from '../../../shared/image/registry-source.js';
import { walkImage } from '../../../shared/inventory/walk.js';
import { readerId } from '../../../shared/layers/reader-id.js';
import { StaticCredentials } from '../../../shared/registry/auth.js';
import { RegistryClient, type RegistryClientOptions } from '../../../shared/registry/client.js';
import {
  DigestMismatchError,
  HostNotAllowedError,
  RegistryAuthError,
  RegistryError,
} from '../../../shared/registry/errors.js';
import { parseReference } from '../../../shared/registry/reference.js';
import { TOKEN_RESPONSE_MAX_BYTES } from '../../../shared/registry/token-auth.js';
import { type Descriptor, derivedFiles, LayoutWriter, tarOf } from '../../support/oci.js';
import {
  type LayoutHook,
  type LayoutRegistry,
  startLayoutRegistry,
  trickle,
} from '../../support/registry.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-hostile-registry-'));
const layout = path.join(work, 'layout');
const fast: RegistryClientOptions = { retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 } };
const READER = readerId([{ id: 'test/package-files', version: 1 }]);
let image: Descriptor;
let layer: Descriptor;
let config: Descriptor;
const running: LayoutRegistry[] = [];

async function serve(hook?: LayoutHook): Promise<LayoutRegistry> {
  const registry = await startLayoutRegistry(layout, hook);
  running.push(registry);
  return registry;
}

const ref = (r: LayoutRegistry, tag = 'app') => parseReference(`${r.host}/team/app:${tag}`);
const blobRequests = (r: LayoutRegistry, digest: string) =>
  r.requests.filter((q) => q.url.endsWith(`/blobs/${digest}`));

beforeAll(async () => {
  const w = new LayoutWriter(layout);
  image = w.image({ architecture: 'amd64', layers: [await tarOf(derivedFiles('alpine-310'))] });
  w.finish(image, 'app');
  const parsed = JSON.parse(
    readFileSync(path.join(layout, 'blobs/sha256', image.digest.slice(7)), 'utf8'),
  ) as { config: Descriptor; layers: Descriptor[] };
  config = parsed.config;
  layer = parsed.layers[0] as Descriptor;
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe('Bearer realms', () => {
  /** A registry that wants `Bearer tok` and names `realm` in its challenge. */
  const challenging =
    (realm: (r: LayoutRegistry) => string): LayoutHook =>
    (req, res, r) => {
      if (req.headers.authorization === 'Bearer tok') return false;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm(r)}",service="test"` }).end();
      return true;
    };
  const tokenService = (): LayoutHook => (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok"}');
    return true;
  };

  it('refuses a realm on another host and sends it neither a request nor the credentials', async () => {
    const foreign = await serve(tokenService());
    const registry = await serve(challenging(() => `http://${foreign.host}/token`));
    const credentials = new StaticCredentials({
      [registry.host]: { username: 'u', password: 'p' },
    });
    const error = await new RegistryClient({ ...fast, credentials })
      .getManifest(ref(registry))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `manifest ${registry.host}/team/app:app: refused the Bearer realm http://${foreign.host}: not an allowed host for ${registry.host} (allow it: bosun --allow-host REGISTRY=HOST, or the construct's registryAllowedHosts)`,
    );
    expect(foreign.requests).toEqual([]);

    // The same token service, allowed for this registry: the token flow works and carries the
    // registry's credentials there.
    const allowed = new RegistryClient({
      ...fast,
      credentials,
      allowedHosts: { [registry.host]: [foreign.host] },
    });
    expect((await allowed.getManifest(ref(registry))).digest).toBe(image.digest);
    expect(foreign.requests.map((q) => q.authorization)).toEqual([
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    ]);
  });

  it('stops reading a token endpoint that never ends its body', async () => {
    let sent = 0;
    const registry = await serve((req, res, r) => {
      if (req.url?.startsWith('/token') === true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"token":"');
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const more = () => {
          while (!res.destroyed && res.write(chunk)) sent += chunk.length;
          if (!res.destroyed) res.once('drain', more);
        };
        more();
        return true;
      }
      return challenging(() => `http://${r.host}/token`)(req, res, r);
    });
    const started = Date.now();
    const error = await new RegistryClient({ ...fast, timeoutMs: 5_000 })
      .getManifest(ref(registry))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `manifest ${registry.host}/team/app:app: token endpoint http://${registry.host}/token: more than ${TOKEN_RESPONSE_MAX_BYTES} bytes`,
    );
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(sent).toBeLessThan(64 * TOKEN_RESPONSE_MAX_BYTES);
  });
});

describe('redirects', () => {
  it('refuses a blob redirect to a host not allowed for the registry, and sends it nothing', async () => {
    const storage = await serve();
    const registry = await serve((req, res) => {
      if (!req.url?.includes('/blobs/')) return false;
      res
        .writeHead(307, { location: `http://${storage.host}${req.url}?X-Amz-Signature=abc` })
        .end();
      return true;
    });
    const error = await new RegistryImageSource(new RegistryClient(fast), ref(registry))
      .images()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotAllowedError);
    expect((error as Error).message).toBe(
      `blob ${registry.host}/team/app@${config.digest}: refused a redirect to http://${storage.host}: not an allowed host for ${registry.host} (allow it: bosun --allow-host REGISTRY=HOST, or the construct's registryAllowedHosts)`,
    );
    expect(storage.requests).toEqual([]);

    // Allowed, as ECR's S3 bucket is by default: followed, without the registry's credentials.
    const set = await new RegistryImageSource(
      new RegistryClient({ ...fast, allowedHosts: { [registry.host]: [storage.host] } }),
      ref(registry),
    ).images();
    const walk = await walkImage(set.images[0] as never, () => true, { reader: READER });
    expect(walk.complete).toBe(true);
    expect(storage.requests.map((q) => q.url.split('?')[0])).toEqual([
      `/v2/team/app/blobs/${config.digest}`,
      `/v2/team/app/blobs/${layer.digest}`,
    ]);
  });
});

describe('transfer deadlines', () => {
  const options: RegistryClientOptions = {
    ...fast,
    timeoutMs: 2_000,
    transferDeadline: { floorMs: 400, minBytesPerSecond: 16 * 1024 * 1024 },
  };

  it('fails a blob that trickles in past its deadline, though never idle for the idle timeout', async () => {
    const registry = await serve((req, res, r) => {
      if (!req.url?.includes('/blobs/')) return false;
      const found = r.content(config.digest);
      trickle(res, found?.bytes ?? Buffer.alloc(0), 50);
      return true;
    });
    const started = Date.now();
    const error = await new RegistryImageSource(new RegistryClient(options), ref(registry))
      .images()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(
      new RegExp(`^blob ${registry.host}/team/app@${config.digest}: .*not received within 401 ms`),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('fails a manifest that trickles in past its deadline', async () => {
    const registry = await serve((req, res, r) => {
      if (!req.url?.includes('/manifests/')) return false;
      trickle(res, r.content('app')?.bytes ?? Buffer.alloc(0), 50);
      return true;
    });
    const started = Date.now();
    const error = await new RegistryClient(options)
      .getManifest(ref(registry))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    // The deadline of a manifest is that of the largest one allowed (4 MiB): 400 + 250 ms.
    expect((error as Error).message).toBe(
      `manifest ${registry.host}/team/app:app: not received within 650 ms`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('bounds reading the manifests of a reference as a whole, not only each one', async () => {
    const w = new LayoutWriter(layout);
    const children = Array.from({ length: 5 }, (_, i) =>
      w.index([{ ...image, annotations: { n: String(i) } }]),
    );
    const top = w.index(children);
    // Every manifest below the top trickles: each within its own deadline, all far beyond one.
    const registry = await serve((req, res, r) => {
      const m = /\/manifests\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
      if (m === null || m[1] === top.digest) return false;
      trickle(res, r.content(m[1] as string)?.bytes ?? Buffer.alloc(0), 20);
      return true;
    });
    const started = Date.now();
    const error = await new RegistryImageSource(
      new RegistryClient({ ...fast, transferDeadline: { floorMs: 10_000 } }),
      parseReference(`${registry.host}/team/app@${top.digest}`),
      { resolveBudgetMs: 1_000 },
    )
      .images()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(
      `${registry.host}/team/app@${top.digest}: manifests and image configs not read within 1000 ms`,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops every transfer of an image when the caller aborts its budget', async () => {
    const registry = await serve((req, res, r) => {
      if (!req.url?.includes(layer.digest)) return false;
      trickle(res, r.content(layer.digest)?.bytes ?? Buffer.alloc(0), 20);
      return true;
    });
    const budget = new AbortController();
    const source = new RegistryImageSource(new RegistryClient(fast), ref(registry), {
      signal: budget.signal,
    });
    const set = await source.images();
    setTimeout(
      () => budget.abort(new RegistryError('image budget of 300 ms spent', undefined)),
      300,
    );
    const started = Date.now();
    const walk = await walkImage(set.images[0] as never, () => true, { reader: READER });
    expect(walk.complete).toBe(false);
    expect(String(walk.layers[0]?.error)).toContain('image budget of 300 ms spent');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('declared sizes', () => {
  const TEN_GIB = 10 * 1024 ** 3;

  it('does not fetch a layer whose manifest claims 10 GiB, and records why it is unread', async () => {
    const registry = await serve((req, res, r) => {
      if (!req.url?.includes('/manifests/')) return false;
      const found = r.content('app');
      const doc = JSON.parse(found?.bytes.toString('utf8') ?? '{}') as { layers: Descriptor[] };
      (doc.layers[0] as { size: number }).size = TEN_GIB;
      res.writeHead(200, { 'content-type': found?.mediaType ?? '' }).end(JSON.stringify(doc));
      return true;
    });
    const set = await new RegistryImageSource(new RegistryClient(fast), ref(registry)).images();
    const walk = await walkImage(set.images[0] as never, () => true, { reader: READER });
    expect(walk.complete).toBe(false);
    expect(String(walk.layers[0]?.error)).toMatch(
      /^ManifestError: layer 0 of .*: the manifest declares 10737418240 bytes, over the 8589934592-byte limit for a layer$/,
    );
    expect(blobRequests(registry, layer.digest)).toEqual([]);
  });

  it('refuses a blob whose Content-Length is not the size its descriptor declares', async () => {
    const registry = await serve((req, res) => {
      if (!req.url?.includes(layer.digest)) return false;
      res.writeHead(200, { 'content-length': String(TEN_GIB) });
      const zeros = Buffer.alloc(1024 * 1024);
      const more = () => {
        while (!res.destroyed && res.write(zeros));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
      return true;
    });
    const error = await new RegistryClient(fast)
      .openBlob({ registry: registry.host, repository: 'team/app' }, layer)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toBe(
      `blob ${registry.host}/team/app@${layer.digest}: digest mismatch: expected ${layer.digest}, got ${TEN_GIB} bytes instead of ${layer.size}`,
    );
  });
});

describe('index fan-out', () => {
  it('reads an image named a thousand times through nested indexes once', async () => {
    const w = new LayoutWriter(layout);
    // Ten indexes of ten indexes, each naming the same image ten times (distinct documents,
    // so that only the image repeats): 1,000 images and 1,110 manifests for the old walk.
    const inner = Array.from({ length: 100 }, (_, i) =>
      w.blob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: Array.from({ length: 10 }, () => image),
            annotations: { n: String(i) },
          }),
        ),
        'application/vnd.oci.image.index.v1+json',
      ),
    );
    const middle = Array.from({ length: 10 }, (_, i) => w.index(inner.slice(i * 10, i * 10 + 10)));
    const top = w.index(middle);
    const registry = await serve();
    const set = await new RegistryImageSource(
      new RegistryClient(fast),
      parseReference(`${registry.host}/team/app@${top.digest}`),
    ).images();
    expect(set.images.map((i) => i.manifestDigest)).toEqual([image.digest]);
    const manifestRequests = registry.requests.filter((q) => q.url.includes('/manifests/'));
    // The top, its 10 and 100 indexes, the image once.
    expect(manifestRequests).toHaveLength(112);
  });

  it(`reads at most ${MAX_MANIFESTS} manifests below one reference and says which were left`, async () => {
    const w = new LayoutWriter(layout);
    const images = Array.from({ length: MAX_MANIFESTS + 20 }, (_, i) => {
      // Distinct images of the same layer: the config differs by a label.
      const c = w.jsonBlob(
        {
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: { n: String(i) } },
          rootfs: { type: 'layers', diff_ids: [layerDiffId()] },
        },
        'application/vnd.oci.image.config.v1+json',
      );
      return w.manifest(c, [layer]);
    });
    const top = w.index(images);
    const registry = await serve();
    const set = await new RegistryImageSource(
      new RegistryClient(fast),
      parseReference(`${registry.host}/team/app@${top.digest}`),
    ).images();
    expect(set.images).toHaveLength(MAX_MANIFESTS);
    expect(set.skipped).toHaveLength(20);
    expect(set.skipped[0]?.reason).toBe(
      `not read: more than ${MAX_MANIFESTS} manifests below one reference`,
    );
  });
});

function layerDiffId(): string {
  const stored = JSON.parse(
    readFileSync(path.join(layout, 'blobs/sha256', config.digest.slice(7)), 'utf8'),
  ) as { rootfs: { diff_ids: string[] } };
  return stored.rootfs.diff_ids[0] as string;
}
