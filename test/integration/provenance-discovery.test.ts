/**
 * Discovery of an image's signatures and attestations (shared/provenance/discovery.ts) against
 * real registries:
 * - Debian's docker-registry (distribution 2.8, no referrers API): an image pushed with skopeo
 *   from an OCI layout, with cosign's `.sig` and `.att` tags and a cosign v3 bundle referrer
 *   listed under the referrers tag, laid out as cosign lays them out and signed at test time;
 *   and connaisseur's real Notation signature with its real referrers-tag index.
 * - A loopback server in front of it that adds the OCI 1.1 referrers API, and that serves
 *   connaisseur's real cosign `.sig` manifests and blobs byte for byte, and hostile artifacts.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ListImageReferrersCommand } from '@aws-sdk/client-ecr';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ArtifactType,
  type DiscoveryProblem,
  type DiscoveryResult,
  discoverArtifacts,
  ecrReferrers,
  MAX_ARTIFACTS,
} from '../../shared/provenance/discovery.js';
import { RegistryClient } from '../../shared/registry/client.js';
import { MANIFEST_MAX_BYTES } from '../../shared/registry/manifest.js';
import { parseReference } from '../../shared/registry/reference.js';
import {
  cosignConfig,
  json,
  OCI_INDEX,
  OCI_MANIFEST,
  putBlob,
  putManifest,
  sha256,
  simpleSigning,
} from '../support/cosign.js';
import { dataDir } from '../support/fixtures.js';
import { type Descriptor, LayoutWriter, pushLayout, tarOf } from '../support/oci.js';
import { startProxy, type TestProxy } from '../support/registry.js';

const stack = inject('localStack');
const REGISTRY = `127.0.0.1:${stack.services.registry.port}`;
const ENDPOINT = `http://${REGISTRY}`;
const run = `${process.pid}`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-discovery-'));
const fast = { retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 2 } };
const connaisseur = path.join(dataDir(), 'provenance', 'connaisseur', 'test', 'testdata');
const COSIGN_DATA = path.join(connaisseur, 'cosign', 'securesystemsengineering', 'testimage');
const NOTATION_DATA = path.join(connaisseur, 'notation', 'sse-secure-systems', 'testimage');
/** The real Notation-signed image of connaisseur's data, and its real signature manifest. */
const NOTATION_SUBJECT = 'sha256:a136cc4e785798e5e8483047cf621cf0a0300a93d47703a3f066c340c070f5cf';
const NOTATION_SIGNATURE =
  'sha256:d397b30282982b80818b2705f8d542d35158bc59d8bf42549f3e898f23d55a77';
const EMPTY_JSON = Buffer.from('{}');

const codes = (problems: readonly DiscoveryProblem[]) =>
  problems.map((p) => `${p.code} ${p.where}`);

// --- signing at test time (no network, a key made here) ---

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** A Sigstore bundle v0.3 with a DSSE in-toto statement about `digest`, built by @sigstore/sign. */
async function dsseBundle(digest: string) {
  const builder = new DSSEBundleBuilder({
    witnesses: [],
    signer: {
      async sign(data: Buffer) {
        return {
          signature: sign('sha256', data, key.privateKey),
          key: { $case: 'publicKey' as const, publicKey: publicPem, hint: 'discovery-test' },
        };
      },
    },
  });
  const statement = json({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: digest.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { buildType: 'https://example.com/test' } },
  });
  return bundleToJSON(
    await builder.create({ data: statement, type: 'application/vnd.in-toto+json' }),
  );
}

/** The DSSE pre-authentication encoding: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md */
function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);
}

// --- a loopback registry front: the referrers API, and repositories served from memory ---

interface Store {
  readonly manifests: Map<string, Buffer>;
  readonly blobs: Map<string, Buffer>;
  /** The referrers API's list for a subject; undefined answers 404 (no API). */
  referrers?(subject: string): Descriptor[] | undefined;
  /** Pages of this many entries, linked by `Link: <…?last=<digest>>; rel="next"`. */
  readonly pageSize?: number;
}

interface Front {
  proxy: TestProxy;
  host: string;
  /** Whether the referrers API applies `artifactType` (and says so in OCI-Filters-Applied). */
  filters: boolean;
}

/** The referrers of `subject` among a store's manifests, as a registry with the API builds them. */
function referrersAmong(manifests: Map<string, Buffer>, subject: string): Descriptor[] {
  const out = new Map<string, Descriptor>();
  for (const bytes of manifests.values()) {
    const m = JSON.parse(bytes.toString('utf8')) as {
      mediaType?: string;
      artifactType?: string;
      config?: { mediaType: string };
      subject?: { digest: string };
      annotations?: Record<string, string>;
    };
    if (m.subject?.digest !== subject) continue;
    out.set(sha256(bytes), {
      mediaType: m.mediaType ?? OCI_MANIFEST,
      digest: sha256(bytes),
      size: bytes.length,
      artifactType: m.artifactType ?? m.config?.mediaType ?? '',
      ...(m.annotations === undefined ? {} : { annotations: m.annotations }),
    });
  }
  return [...out.values()];
}

function serveStore(
  store: Store,
  front: Front,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
) {
  const url = new URL(req.url ?? '/', 'http://x');
  const referrers = /^referrers\/([^/]+)$/.exec(rest);
  const manifest = /^manifests\/([^/]+)$/.exec(rest);
  const blob = /^blobs\/([^/]+)$/.exec(rest);
  if (referrers !== null) {
    const listed = store.referrers?.(decodeURIComponent(referrers[1] as string));
    if (listed === undefined) return void res.writeHead(404).end();
    const wanted = url.searchParams.get('artifactType');
    const filtered = wanted !== null && front.filters;
    let manifests = filtered ? listed.filter((d) => d.artifactType === wanted) : listed;
    let link: string | undefined;
    if (store.pageSize !== undefined) {
      const last = url.searchParams.get('last');
      const from = last === null ? 0 : manifests.findIndex((d) => d.digest === last) + 1;
      const page = manifests.slice(from, from + store.pageSize);
      if (from + store.pageSize < manifests.length)
        link = `<${url.pathname}?last=${page.at(-1)?.digest}>; rel="next"`;
      manifests = page;
    }
    const body = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
    res.writeHead(200, {
      'content-type': OCI_INDEX,
      'content-length': String(body.length),
      ...(filtered ? { 'oci-filters-applied': 'artifactType' } : {}),
      ...(link === undefined ? {} : { link }),
    });
    return void res.end(body);
  }
  const bytes =
    manifest !== null
      ? store.manifests.get(decodeURIComponent(manifest[1] as string))
      : blob !== null
        ? store.blobs.get(decodeURIComponent(blob[1] as string))
        : undefined;
  if (bytes === undefined) return void res.writeHead(404).end();
  const mediaType =
    manifest !== null
      ? ((JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? OCI_MANIFEST)
      : 'application/octet-stream';
  res.writeHead(200, {
    'content-type': mediaType,
    'content-length': String(bytes.length),
    ...(manifest !== null ? { 'docker-content-digest': sha256(bytes) } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Reads a connaisseur mock-registry folder (`manifests/<tag or digest>.json`, `blobs/<digest>.json`). */
function dataStore(dir: string, withReferrersApi: boolean): Store {
  const manifests = new Map<string, Buffer>();
  const blobs = new Map<string, Buffer>();
  for (const file of readdirSync(path.join(dir, 'manifests'))) {
    const bytes = readFileSync(path.join(dir, 'manifests', file));
    manifests.set(file.replace(/\.json$/, ''), bytes);
    manifests.set(sha256(bytes), bytes);
  }
  for (const file of readdirSync(path.join(dir, 'blobs')))
    blobs.set(file.replace(/\.json$/, ''), readFileSync(path.join(dir, 'blobs', file)));
  return {
    manifests,
    blobs,
    ...(withReferrersApi ? { referrers: (s: string) => referrersAmong(manifests, s) } : {}),
  };
}

async function startFront(
  stores: Map<string, Store>,
  upstreamReferrers: (subject: string) => Descriptor[] | undefined,
): Promise<Front> {
  const front = { filters: true } as Front;
  front.proxy = await startProxy(ENDPOINT, (req, res) => {
    const m = /^\/v2\/(.+?)\/((?:manifests|blobs|referrers)\/[^/]+)$/.exec(
      new URL(req.url ?? '/', 'http://x').pathname,
    );
    if (m === null) return false;
    const store = stores.get(m[1] as string);
    if (store !== undefined) {
      serveStore(store, front, req, res, m[2] as string);
      return true;
    }
    // The real registry's repositories: the referrers API is ours, the rest is relayed.
    if (!(m[2] as string).startsWith('referrers/')) return false;
    serveStore(
      { manifests: new Map(), blobs: new Map(), referrers: upstreamReferrers },
      front,
      req,
      res,
      m[2] as string,
    );
    return true;
  });
  front.host = `127.0.0.1:${front.proxy.port}`;
  return front;
}

// --- the image and its signatures ---

const APP = `d${run}/app`;
const NOTATION_REPO = `d${run}/notation`;
let image: { digest: string; size: number; mediaType: string };
let bundleManifest: { digest: string; bytes: Buffer };
let bundleJson: Buffer;
let sigLayer: { payload: Buffer; signature: string };
let attEnvelope: Buffer;
let front: Front;
const upstreamReferrers = new Map<string, Descriptor[]>();
const stores = new Map<string, Store>();

beforeAll(async () => {
  const layout = path.join(work, 'app');
  const w = new LayoutWriter(layout);
  const layer = await tarOf([{ path: 'srv/app.txt', content: `signed by discovery ${run}\n` }]);
  w.finish(w.image({ architecture: 'amd64', layers: [layer] }), 'v1');
  pushLayout(layout, 'v1', `${REGISTRY}/${APP}:v1`);
  const client = new RegistryClient(fast);
  const pushed = await client.getManifest(parseReference(`${REGISTRY}/${APP}:v1`));
  image = { digest: pushed.digest, size: pushed.bytes.length, mediaType: pushed.mediaType };
  const hex = image.digest.slice(7);

  // cosign sign --key: one simple-signing layer with the signature annotation, tag `.sig`.
  sigLayer = simpleSigning(`${REGISTRY}/${APP}`, image.digest, key.privateKey);
  const payloadDigest = await putBlob(ENDPOINT, APP, sigLayer.payload);
  const sigConfig = cosignConfig([payloadDigest]);
  await putBlob(ENDPOINT, APP, sigConfig);
  await putManifest(
    ENDPOINT,
    APP,
    `sha256-${hex}.sig`,
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: sigConfig.length,
        digest: sha256(sigConfig),
      },
      layers: [
        {
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          size: sigLayer.payload.length,
          digest: payloadDigest,
          annotations: { 'dev.cosignproject.cosign/signature': sigLayer.signature },
        },
      ],
    }),
  );

  // cosign attest --key: a DSSE envelope layer (signed by @sigstore/sign), tag `.att`.
  const bundle = await dsseBundle(image.digest);
  attEnvelope = json(bundle.dsseEnvelope);
  const attDigest = await putBlob(ENDPOINT, APP, attEnvelope);
  const attConfig = cosignConfig([attDigest]);
  await putBlob(ENDPOINT, APP, attConfig);
  await putManifest(
    ENDPOINT,
    APP,
    `sha256-${hex}.att`,
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: attConfig.length,
        digest: sha256(attConfig),
      },
      layers: [
        {
          mediaType: 'application/vnd.dsse.envelope.v1+json',
          size: attEnvelope.length,
          digest: attDigest,
          annotations: {
            'dev.cosignproject.cosign/signature': '',
            predicateType: 'https://slsa.dev/provenance/v1',
          },
        },
      ],
    }),
  );

  // cosign v3: the bundle as a referrer (cosign/specs/BUNDLE_SPEC.md), and, the registry having
  // no referrers API, the referrers tag index that lists it.
  bundleJson = json(bundle);
  await putBlob(ENDPOINT, APP, bundleJson);
  await putBlob(ENDPOINT, APP, EMPTY_JSON);
  const annotations = {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
  };
  const bundleBytes = json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ArtifactType.sigstoreBundleV03,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_JSON), size: 2 },
    layers: [
      {
        mediaType: ArtifactType.sigstoreBundleV03,
        digest: sha256(bundleJson),
        size: bundleJson.length,
      },
    ],
    subject: image,
    annotations,
  });
  bundleManifest = {
    digest: await putManifest(ENDPOINT, APP, sha256(bundleBytes), bundleBytes),
    bytes: bundleBytes,
  };
  const bundleDescriptor = {
    mediaType: OCI_MANIFEST,
    digest: bundleManifest.digest,
    size: bundleBytes.length,
    artifactType: ArtifactType.sigstoreBundleV03,
    annotations,
  };
  await putManifest(
    ENDPOINT,
    APP,
    `sha256-${hex}`,
    json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [bundleDescriptor] }),
  );
  upstreamReferrers.set(image.digest, [bundleDescriptor]);

  // connaisseur's real Notation signature and its real referrers-tag index, byte for byte. The
  // signed image's own layers are not in the data; distribution 2.8 does not check a subject.
  await putBlob(ENDPOINT, NOTATION_REPO, EMPTY_JSON);
  for (const file of readdirSync(path.join(NOTATION_DATA, 'blobs')))
    await putBlob(ENDPOINT, NOTATION_REPO, readFileSync(path.join(NOTATION_DATA, 'blobs', file)));
  await putManifest(
    ENDPOINT,
    NOTATION_REPO,
    NOTATION_SIGNATURE,
    readFileSync(path.join(NOTATION_DATA, 'manifests', `${NOTATION_SIGNATURE}.json`)),
  );
  await putManifest(
    ENDPOINT,
    NOTATION_REPO,
    `sha256-${NOTATION_SUBJECT.slice(7)}`,
    readFileSync(path.join(NOTATION_DATA, 'manifests', `sha256-${NOTATION_SUBJECT.slice(7)}.json`)),
  );

  stores.set('securesystemsengineering/testimage', dataStore(COSIGN_DATA, false));
  stores.set('sse-secure-systems/testimage', dataStore(NOTATION_DATA, true));
  front = await startFront(stores, (subject) => upstreamReferrers.get(subject) ?? []);
}, 120_000);

afterAll(async () => {
  await front?.proxy.stop();
  rmSync(work, { recursive: true, force: true });
});

function layerBytes(result: DiscoveryResult, via: string): Buffer[] {
  return result.artifacts
    .filter((a) => a.via === via)
    .flatMap((a) => a.layers.map((l) => Buffer.from(l.bytes)));
}

describe('distribution 2.8 (no referrers API)', () => {
  it('finds the .sig, the .att and, through the referrers tag, the cosign v3 bundle', async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: REGISTRY, repository: APP },
      image.digest,
    );
    expect(result.problems).toEqual([]);
    expect(result.artifacts.map((a) => `${a.via} ${a.artifactType}`)).toEqual([
      'cosign-tag application/vnd.oci.image.config.v1+json',
      'cosign-tag application/vnd.oci.image.config.v1+json',
      `referrers-tag ${ArtifactType.sigstoreBundleV03}`,
    ]);
    for (const a of result.artifacts) {
      expect(a.subject).toBe(image.digest);
      expect(sha256(a.manifestBytes)).toBe(a.digest);
      for (const l of a.layers) expect(sha256(l.bytes)).toBe(l.descriptor.digest);
    }
    // What the verifiers need is there: the .sig payload verifies with the annotation's signature.
    const [sig, att, bundle] = result.artifacts;
    const layer = sig?.layers[0];
    expect(layer?.descriptor.annotations?.['dev.cosignproject.cosign/signature']).toBe(
      sigLayer.signature,
    );
    expect(
      verify(
        'sha256',
        layer?.bytes as Uint8Array,
        key.publicKey,
        Buffer.from(sigLayer.signature, 'base64'),
      ),
    ).toBe(true);
    const envelope = JSON.parse(Buffer.from(att?.layers[0]?.bytes ?? []).toString('utf8')) as {
      payload: string;
      payloadType: string;
      signatures: { sig: string }[];
    };
    expect(
      verify(
        'sha256',
        pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')),
        key.publicKey,
        Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'),
      ),
    ).toBe(true);
    expect(Buffer.from(bundle?.manifestBytes ?? [])).toEqual(bundleManifest.bytes);
    expect(layerBytes(result, 'referrers-tag')).toEqual([bundleJson]);
    expect(layerBytes(result, 'cosign-tag')).toEqual([sigLayer.payload, attEnvelope]);
  });

  it("finds connaisseur's real Notation signature through its real referrers-tag index", async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: REGISTRY, repository: NOTATION_REPO },
      NOTATION_SUBJECT,
    );
    expect(result.problems).toEqual([]);
    expect(result.artifacts.map((a) => [a.via, a.digest, a.artifactType])).toEqual([
      ['referrers-tag', NOTATION_SIGNATURE, ArtifactType.notationSignature],
    ]);
    expect(Buffer.from(result.artifacts[0]?.manifestBytes ?? [])).toEqual(
      readFileSync(path.join(NOTATION_DATA, 'manifests', `${NOTATION_SIGNATURE}.json`)),
    );
    expect(layerBytes(result, 'referrers-tag')).toEqual(
      readdirSync(path.join(NOTATION_DATA, 'blobs')).map((f) =>
        readFileSync(path.join(NOTATION_DATA, 'blobs', f)),
      ),
    );
  });

  it('finds nothing, and reports nothing, for an image nobody signed', async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: REGISTRY, repository: APP },
      `sha256:${'1'.repeat(64)}`,
    );
    expect(result).toEqual({ artifacts: [], problems: [] });
  });
});

describe("ECR's ListImageReferrers", () => {
  // No ECR runs locally: a stand-in ECRClient answers ListImageReferrers (the SDK's response
  // shape) with the descriptor the real registry holds; the manifests come from the registry.
  it('lists by the AWS API and fetches from the registry; a failing API falls back to the registry', async () => {
    const sent: ListImageReferrersCommand['input'][] = [];
    const answer = (referrers: unknown) =>
      ecrReferrers(
        {
          async send(command: ListImageReferrersCommand) {
            sent.push(command.input);
            if (referrers instanceof Error) throw referrers;
            return { $metadata: {}, referrers } as never;
          },
        },
        '123456789012',
      );
    const client = new RegistryClient(fast);
    const ref = { registry: REGISTRY, repository: APP };
    const listed = upstreamReferrers.get(image.digest) ?? [];
    const viaEcr = await discoverArtifacts(client, ref, image.digest, {
      cosignTags: [],
      ecr: answer(listed.map((d) => ({ ...d, artifactStatus: 'ACTIVE' }))),
    });
    expect(viaEcr.problems).toEqual([]);
    expect(viaEcr.artifacts.map((a) => [a.via, a.digest])).toEqual([
      ['ecr-api', bundleManifest.digest],
    ]);
    expect(sent[0]).toEqual({
      registryId: '123456789012',
      repositoryName: APP,
      subjectId: { imageDigest: image.digest },
    });
    const refused = await discoverArtifacts(client, ref, image.digest, {
      cosignTags: [],
      ecr: answer(
        new Error('AccessDeniedException: not authorized to perform ecr:ListImageReferrers'),
      ),
    });
    expect(codes(refused.problems)).toEqual(['REGISTRY ecr-api']);
    expect(refused.artifacts.map((a) => [a.via, a.digest])).toEqual([
      ['referrers-tag', bundleManifest.digest],
    ]);
  });
});

describe('the OCI 1.1 referrers API (a loopback front of the real registry)', () => {
  it('lists the bundle by the API, filtered by the registry when it says so, and by us when not', async () => {
    const client = new RegistryClient(fast);
    const ref = { registry: front.host, repository: APP };
    const all = await discoverArtifacts(client, ref, image.digest, { cosignTags: [] });
    expect(all.problems).toEqual([]);
    expect(all.artifacts.map((a) => [a.via, a.digest])).toEqual([
      ['referrers-api', bundleManifest.digest],
    ]);
    expect(Buffer.from(all.artifacts[0]?.manifestBytes ?? [])).toEqual(bundleManifest.bytes);

    const referrersUrls = () =>
      front.proxy.requests.filter((r) => r.url.includes('/referrers/')).map((r) => r.url);
    const before = referrersUrls().length;
    const notation = await discoverArtifacts(client, ref, image.digest, {
      cosignTags: [],
      artifactTypes: [ArtifactType.notationSignature],
    });
    expect(notation).toEqual({ artifacts: [], problems: [] });
    expect(referrersUrls().slice(before)).toEqual([
      `/v2/${APP}/referrers/${image.digest}?artifactType=${encodeURIComponent(ArtifactType.notationSignature)}`,
    ]);
    front.filters = false;
    try {
      const unfiltered = await discoverArtifacts(client, ref, image.digest, {
        cosignTags: [],
        artifactTypes: [ArtifactType.notationSignature],
      });
      expect(unfiltered).toEqual({ artifacts: [], problems: [] });
      const bundles = await discoverArtifacts(client, ref, image.digest, {
        cosignTags: [],
        artifactTypes: [ArtifactType.sigstoreBundleV03],
      });
      expect(bundles.artifacts.map((a) => a.digest)).toEqual([bundleManifest.digest]);
    } finally {
      front.filters = true;
    }
  });

  it('follows the Link pages of a referrers list', async () => {
    const manifests = new Map<string, Buffer>();
    const paged = `sha256:${'4'.repeat(64)}`;
    for (const name of ['one', 'two', 'three']) {
      const bytes = json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: ArtifactType.sigstoreBundleV03,
        config: {
          mediaType: 'application/vnd.oci.empty.v1+json',
          digest: sha256(EMPTY_JSON),
          size: 2,
        },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: paged, size: 500 },
        annotations: { name },
      });
      manifests.set(sha256(bytes), bytes);
    }
    stores.set('paged/app', {
      manifests,
      blobs: new Map(),
      referrers: (s) => referrersAmong(manifests, s),
      pageSize: 1,
    });
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: front.host, repository: 'paged/app' },
      paged,
    );
    expect(result.problems).toEqual([]);
    expect(result.artifacts.map((a) => a.digest)).toEqual([...manifests.keys()]);
    expect(
      front.proxy.requests.filter((r) => r.url.startsWith('/v2/paged/app/referrers/')),
    ).toHaveLength(3);
  });

  it("finds connaisseur's real Notation signature by the API, byte for byte", async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: front.host, repository: 'sse-secure-systems/testimage' },
      NOTATION_SUBJECT,
      { artifactTypes: [ArtifactType.notationSignature] },
    );
    expect(result.problems).toEqual([]);
    expect(result.artifacts.map((a) => [a.via, a.digest])).toEqual([
      ['referrers-api', NOTATION_SIGNATURE],
    ]);
    expect(result.artifacts[0]?.manifest).toEqual(
      JSON.parse(
        readFileSync(path.join(NOTATION_DATA, 'manifests', `${NOTATION_SIGNATURE}.json`), 'utf8'),
      ),
    );
  });

  it("returns connaisseur's real cosign .sig manifests and payloads byte for byte, digests checked", async () => {
    const client = new RegistryClient(fast);
    const expected: Record<string, number> = {
      'multi-cosigned-alice': 1,
      'multi-cosigned-alice-bob-charlie': 3,
      keyless: 1,
      'co-unsigned': 0,
    };
    for (const [name, signatures] of Object.entries(expected)) {
      const subject = sha256(readFileSync(path.join(COSIGN_DATA, 'manifests', `${name}.json`)));
      const result = await discoverArtifacts(
        client,
        { registry: front.host, repository: 'securesystemsengineering/testimage' },
        subject,
      );
      expect(result.problems, name).toEqual([]);
      const sigFile = path.join(COSIGN_DATA, 'manifests', `sha256-${subject.slice(7)}.sig.json`);
      if (signatures === 0) {
        expect(result.artifacts, name).toEqual([]);
        continue;
      }
      const [artifact, ...more] = result.artifacts;
      expect(more, name).toEqual([]);
      expect(artifact?.via).toBe('cosign-tag');
      expect(Buffer.from(artifact?.manifestBytes ?? [])).toEqual(readFileSync(sigFile));
      expect(artifact?.digest).toBe(sha256(readFileSync(sigFile)));
      expect(artifact?.layers).toHaveLength(signatures);
      for (const l of artifact?.layers ?? []) {
        expect(Buffer.from(l.bytes)).toEqual(
          readFileSync(path.join(COSIGN_DATA, 'blobs', `${l.descriptor.digest}.json`)),
        );
        expect(l.descriptor.annotations?.['dev.cosignproject.cosign/signature']).toMatch(/^ME/);
      }
      const payload = JSON.parse(Buffer.from(artifact?.layers[0]?.bytes ?? []).toString('utf8'));
      // The keyless payload names another image (README: phbelitz/rekor-test), signed by digest.
      expect(payload.critical.image['docker-manifest-digest']).toBe(subject);
    }
  });
});

describe('a hostile registry', () => {
  const subject = `sha256:${'7'.repeat(64)}`;
  const other = `sha256:${'8'.repeat(64)}`;
  const crowded = `sha256:${'9'.repeat(64)}`;
  const oversized = `sha256:${'6'.repeat(64)}`;
  const manifests = new Map<string, Buffer>();
  const blobs = new Map<string, Buffer>();
  const named: Record<string, string> = {};
  const extra: Descriptor[] = [];

  function artifact(name: string, layer: Buffer, fields: Record<string, unknown> = {}): string {
    blobs.set(sha256(layer), layer);
    const bytes = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: ArtifactType.notationSignature,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: sha256(EMPTY_JSON),
        size: 2,
      },
      layers: [{ mediaType: 'application/jose+json', digest: sha256(layer), size: layer.length }],
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 500 },
      annotations: { name },
      ...fields,
    });
    manifests.set(sha256(bytes), bytes);
    named[name] = sha256(bytes);
    return sha256(bytes);
  }

  beforeAll(() => {
    blobs.set(sha256(EMPTY_JSON), EMPTY_JSON);
    artifact('good', json({ payload: 'good' }));
    artifact('crowded-good', json({ payload: 'crowded' }), {
      subject: { mediaType: OCI_MANIFEST, digest: crowded, size: 500 },
    });
    // Over the 4 MiB cap: once declared as it is, once declared small (the read is cut). The
    // padding is a field of the manifest's own (not an annotation, which the index would copy).
    artifact('huge', json({ payload: 'huge' }), { padding: 'x'.repeat(MANIFEST_MAX_BYTES) });
    artifact('lying', json({ payload: 'lying' }), { padding: 'y'.repeat(MANIFEST_MAX_BYTES) });
    // A layer served with other bytes of the same length than its digest names.
    const real = json({ payload: 'real payload' });
    artifact('swapped', real);
    blobs.set(sha256(real), json({ payload: 'evil payload' }));
    artifact('elsewhere', json({ payload: 'elsewhere' }), {
      subject: { mediaType: OCI_MANIFEST, digest: other, size: 500 },
    });
    // The index names the subject itself among its referrers.
    extra.push({
      mediaType: OCI_MANIFEST,
      digest: subject,
      size: 500,
      artifactType: ArtifactType.notationSignature,
    });
    stores.set('hostile/app', {
      manifests,
      blobs,
      referrers: (s) => {
        // A registry copies each referrer's annotations into the index: one of 5 MiB makes the
        // whole list larger than a manifest may be.
        if (s === oversized)
          return [
            {
              mediaType: OCI_MANIFEST,
              digest: named.good as string,
              size: 700,
              artifactType: ArtifactType.notationSignature,
              annotations: { pad: 'z'.repeat(5 * 1024 * 1024) },
            },
          ];
        if (s === crowded)
          return [
            ...referrersAmong(manifests, crowded),
            ...Array.from({ length: 9_999 }, (_, n) => ({
              mediaType: OCI_MANIFEST,
              digest: `sha256:f${n.toString(16).padStart(63, '0')}`,
              size: 700,
              artifactType: ArtifactType.notationSignature,
            })),
          ];
        const listed = referrersAmong(manifests, s).map((d) =>
          d.digest === named.lying ? { ...d, size: 600 } : d,
        );
        const elsewhere = referrersAmong(manifests, other);
        return s === subject ? [...listed, ...elsewhere, ...extra] : listed;
      },
    });
  });

  it('names each broken artifact as a problem, and still returns the good one', async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: front.host, repository: 'hostile/app' },
      subject,
    );
    expect(result.artifacts.map((a) => a.digest)).toEqual([named.good]);
    expect(codes(result.problems).sort()).toEqual(
      [
        `TOO_LARGE artifact ${named.huge}`,
        `TOO_LARGE artifact ${named.lying}`,
        `DIGEST_MISMATCH artifact ${named.swapped}`,
        `SUBJECT_MISMATCH artifact ${named.elsewhere}`,
        'LOOP referrers-api',
      ].sort(),
    );
    for (const p of result.problems) expect(p.message.length).toBeGreaterThan(20);
  });

  it(`reads ${MAX_ARTIFACTS} of a 10,000-entry referrers index, and says so`, async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: front.host, repository: 'hostile/app' },
      crowded,
      { cosignTags: [] },
    );
    expect(result.artifacts.map((a) => a.digest)).toEqual([named['crowded-good']]);
    const of = (code: string) => result.problems.filter((p) => p.code === code);
    expect(of('TOO_MANY').map((p) => p.message)).toEqual([
      `10000 referrers listed; only the first ${MAX_ARTIFACTS} are read`,
    ]);
    // The other 63 read are listed but absent: one problem each.
    expect(of('REGISTRY')).toHaveLength(MAX_ARTIFACTS - 1);
    expect(of('REGISTRY')[0]?.message).toMatch(/not found$/);
    expect(result.problems).toHaveLength(MAX_ARTIFACTS);
  });

  it('keeps no more bytes of signatures for one image than its budget, and says so', async () => {
    // connaisseur's real three-signature image: its .sig manifest and three payloads.
    const subject = sha256(
      readFileSync(path.join(COSIGN_DATA, 'manifests', 'multi-cosigned-alice-bob-charlie.json')),
    );
    const sig = readFileSync(
      path.join(COSIGN_DATA, 'manifests', `sha256-${subject.slice(7)}.sig.json`),
    );
    const where = { registry: front.host, repository: 'securesystemsengineering/testimage' };
    const tight = await discoverArtifacts(new RegistryClient(fast), where, subject, {
      maxTotalBytes: sig.length + 10,
    });
    expect(tight.artifacts).toEqual([]);
    expect(codes(tight.problems)).toEqual([`TOO_LARGE cosign-tag sha256-${subject.slice(7)}.sig`]);
    expect(tight.problems[0]?.message).toMatch(/past \d+ bytes$/);
    const enough = await discoverArtifacts(new RegistryClient(fast), where, subject, {
      maxTotalBytes: 64 * 1024,
    });
    expect(enough.problems).toEqual([]);
    expect(enough.artifacts[0]?.layers).toHaveLength(3);
  });

  it('reports a referrers list over the manifest limit as one problem', async () => {
    const result = await discoverArtifacts(
      new RegistryClient(fast),
      { registry: front.host, repository: 'hostile/app' },
      oversized,
    );
    expect(result.artifacts).toEqual([]);
    expect(codes(result.problems)).toEqual(['TOO_LARGE referrers-api']);
    expect(result.problems[0]?.message).toMatch(/over the 4194304-byte limit$/);
  });
});
