/**
 * Provenance in the scan pipeline (shared/pipeline/provenance.ts) against the real registry
 * (Debian's docker-registry): images pushed with skopeo, signed at test time with keys made
 * here and laid out as `cosign sign --key` does, on the embedded stores with the real verifier.
 *
 * The issue's end-to-end cases: an image pushed unsigned is UNSIGNED when the policy requires a
 * signature; its signature pushed after it makes it PROVENANCE_VERIFIED; an image signed by an
 * untrusted key is PROVENANCE_FAILED; a tag re-pushed onto an unsigned digest is TAG_MOVED and
 * PROVENANCE_FAILED; no layer is pulled twice; nothing but the registry is contacted. And the
 * rest of the rules: announced on change only, verdicts reused while current, re-decided when
 * the policy changes or a day passes, a stop between deciding and announcing finished by the
 * next run, audit rules, indexes.
 */

import { generateKeyPairSync } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScanRequest } from '../../shared/events/scan-request.js';
import { RegistryImageSource } from '../../shared/image/registry-source.js';
import type { Notification } from '../../shared/notifications/message.js';
import { reverifyProvenance } from '../../shared/pipeline/provenance.js';
import { type ScanDeps, scanImage } from '../../shared/pipeline/scan.js';
import { loadTrust, provenanceChecker } from '../../shared/provenance/check.js';
import { parseProvenancePolicy } from '../../shared/provenance/policy.js';
import { RegistryClient } from '../../shared/registry/client.js';
import { parseReference } from '../../shared/registry/reference.js';
import { EmbeddedItemTable } from '../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../shared/stores/findings-store.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { InventoryStore } from '../../shared/stores/inventory-store.js';
import { ProvenanceStore } from '../../shared/stores/provenance-store.js';
import { pushCosignSignature } from '../support/cosign.js';
import { derivedFiles, LayoutWriter, pushLayout, tarOf } from '../support/oci.js';
import { MutableAdvisories, npmAdvisories, RecordingNotifier } from '../support/pipeline.js';

const stack = inject('localStack');
const REGISTRY = `127.0.0.1:${stack.services.registry.port}`;
const ENDPOINT = `http://${REGISTRY}`;
const run = `p${process.pid}`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-provenance-pipeline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: typeof trusted) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** Requires the trusted key in `<run>/*`; audits `<run>/audit/*` and every other repository. */
function policyText(keys: Record<string, string>, required: string) {
  const authorities = Object.entries(keys)
    .map(([name, key]) => `  ${name}:\n    key: |\n${indent(key, 6)}`)
    .join('\n');
  return `apiVersion: provenance.bosun.dev/v1
mode: enforce
authorities:
${authorities}
rules:
  - name: audited
    repositories: ["${REGISTRY}/${run}/audit/*"]
    mode: audit
    signatures: ${required}
  - name: release
    repositories: ["${REGISTRY}/${run}/*"]
    signatures: ${required}
default:
  mode: audit
  signatures: ${required}
`;
}
const indent = (text: string, n: number) =>
  text
    .trim()
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l}`)
    .join('\n');

const client = new RegistryClient({ retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 2 } });

function checker(keys: Record<string, string>, required = 'release-key') {
  return provenanceChecker({
    policy: parseProvenancePolicy(policyText(keys, required)),
    trust: loadTrust({}),
    registry: client,
  });
}

/** Distinct single-layer images, pushed with skopeo; returns their digests. */
async function pushImage(repository: string, tag: string, content: string): Promise<string> {
  const dir = path.join(work, `${repository.replaceAll('/', '_')}-${tag}`);
  const w = new LayoutWriter(dir);
  // A real Alpine base (os-release and apk database) under a layer of its own.
  const layers = [
    await tarOf(derivedFiles('alpine-310')),
    await tarOf([{ path: 'srv/app.txt', content }]),
  ];
  w.finish(w.image({ architecture: 'amd64', layers }), tag);
  pushLayout(dir, tag, `${REGISTRY}/${repository}:${tag}`);
  return (await client.getManifest(parseReference(`${REGISTRY}/${repository}:${tag}`))).digest;
}

let eventSeq = 0;
function push(repository: string, digest: string, tag?: string): ScanRequest {
  eventSeq++;
  return {
    action: 'PUSH',
    registry: REGISTRY,
    repository,
    digest,
    ...(tag === undefined ? {} : { tag }),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    eventTime: new Date(Date.UTC(2026, 11, 7, 12, 0, eventSeq)).toISOString(),
    eventId: `event-${run}-${eventSeq}`,
  };
}

function setup(keys: Record<string, string> = { 'release-key': pem(trusted) }) {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const imagesTable = EmbeddedItemTable.open(dir, 'images');
  const notifier = new RecordingNotifier();
  const pulls: string[] = [];
  let now = new Date('2026-12-07T12:00:00Z');
  const deps: ScanDeps = {
    images: new ImageStore(imagesTable),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    leaseWaitMs: 2_000,
    now: () => now,
    provenance: { checker: checker(keys), store: new ProvenanceStore(imagesTable) },
    openImage: async (request) => {
      pulls.push(request.digest);
      return new RegistryImageSource(
        client,
        parseReference(`${request.registry}/${request.repository}@${request.digest}`),
      ).images();
    },
  };
  return {
    deps,
    notifier,
    pulls,
    store: deps.provenance?.store as ProvenanceStore,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

const provenanceOf = (n: Notification[]) =>
  n.map((b) => ({
    eventType: b.eventType,
    status: b.provenance?.status,
    trigger: b.trigger,
    repositories: b.image.repositories,
  }));

/** TCP connections opened while `work` runs, as `host:port`. */
async function connectionsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    socket.once('connect', () => seen.push(`${socket.remoteAddress}:${socket.remotePort}`));
  };
  subscribe('net.client.socket', onSocket);
  try {
    await work();
  } finally {
    unsubscribe('net.client.socket', onSocket);
  }
  return seen;
}

let app: string;
let appV2: string;
let rogue: string;
let audited: string;
beforeAll(async () => {
  app = await pushImage(`${run}/app`, 'v1', 'release 1\n');
  appV2 = await pushImage(`${run}/app`, 'v2', 'release 2, never signed\n');
  rogue = await pushImage(`${run}/rogue`, 'v1', 'signed by a stranger\n');
  audited = await pushImage(`${run}/audit/tool`, 'v1', 'audited, unsigned\n');
  await pushCosignSignature(ENDPOINT, REGISTRY, `${run}/rogue`, rogue, stranger.privateKey);
}, 120_000);

// The tests run in order: the first signs `app` with the trusted key (a push of its own), and
// the ones after it rely on that signature being in the registry.
describe('provenance on push', () => {
  it('says UNSIGNED, then VERIFIED when the signature is pushed, reading the registry alone and no layer twice', async () => {
    const { deps, notifier, pulls, store } = setup();
    const connections = await connectionsDuring(async () => {
      const outcome = await scanImage(push(`${run}/app`, app, 'v1'), deps);
      expect(outcome.status).toBe('scanned');
    });
    expect(new Set(connections)).toEqual(new Set([REGISTRY]));
    expect(provenanceOf(notifier.of('PROVENANCE_UNSIGNED', app))).toEqual([
      {
        eventType: 'PROVENANCE_UNSIGNED',
        status: 'UNSIGNED',
        trigger: 'push',
        repositories: [`${run}/app`],
      },
    ]);
    const unsigned = await store.get(app, `${REGISTRY}/${run}/app`);
    expect(unsigned?.verdict.reasons[0]).toBe(`no signature or attestation found for ${app}`);
    expect(unsigned?.announcedStatus).toBe('UNSIGNED');

    // cosign sign --key after the push: its `.sig` tag arrives as a push of its own.
    const signature = await pushCosignSignature(
      ENDPOINT,
      REGISTRY,
      `${run}/app`,
      app,
      trusted.privateKey,
    );
    const sent = notifier.sent.length;
    const sigOutcome = await scanImage(push(`${run}/app`, signature.digest, signature.tag), deps);
    expect(sigOutcome.status).toBe('skipped');
    const verified = notifier.sent.slice(sent).map((m) => JSON.parse(m.body) as Notification);
    expect(provenanceOf(verified)).toEqual([
      {
        eventType: 'PROVENANCE_VERIFIED',
        status: 'VERIFIED',
        trigger: 'signature',
        repositories: [`${run}/app`],
      },
    ]);
    expect(verified[0]?.image.digest).toBe(app);
    expect(verified[0]?.provenance?.requirements[0]?.satisfiedBy).toEqual([
      expect.objectContaining({ authority: 'release-key', source: `${signature.digest}#0` }),
    ]);
    expect(verified[0]?.provenance?.previousStatus).toBe('UNSIGNED');
    // The signature is not scanned as an image, and the image's layers were pulled once.
    expect(pulls).toEqual([app]);
    expect(await deps.images.getImage(signature.digest)).toBeUndefined();
  });

  it('is PROVENANCE_FAILED for an image signed by a key the policy does not trust', async () => {
    const { deps, notifier, store } = setup();
    await scanImage(push(`${run}/rogue`, rogue, 'v1'), deps);
    const [failed] = notifier.of('PROVENANCE_FAILED', rogue);
    expect(failed?.provenance?.status).toBe('UNTRUSTED');
    expect(failed?.provenance?.reasons.join('\n')).toMatch(/not signed by this key/);
    expect((await store.get(rogue, `${REGISTRY}/${run}/rogue`))?.status).toBe('UNTRUSTED');
    expect(notifier.sent.find((m) => m.attributes.provenance === 'UNTRUSTED')?.attributes).toEqual(
      expect.objectContaining({ eventType: 'PROVENANCE_FAILED', provenanceMode: 'enforce' }),
    );
  });

  it('is TAG_MOVED and PROVENANCE_FAILED when a verified tag is re-pushed onto an unsigned digest', async () => {
    const { deps, notifier } = setup();
    await scanImage(push(`${run}/app`, app, 'release'), deps);
    expect(notifier.of('PROVENANCE_VERIFIED', app)).toHaveLength(1);
    await scanImage(push(`${run}/app`, appV2, 'release'), deps);
    expect(notifier.of('TAG_MOVED', appV2)).toHaveLength(1);
    const [failed] = notifier.of('PROVENANCE_FAILED', appV2);
    expect(failed?.provenance?.status).toBe('UNSIGNED');
    expect(failed?.provenance?.tagMove).toEqual({ tag: 'release', previousDigest: app });
    expect(failed?.provenance?.reasons[0]).toMatch(
      /tag release moved from .* whose provenance was verified/,
    );
    expect(notifier.of('PROVENANCE_UNSIGNED', appV2)).toEqual([]);
  });

  it('announces a verdict once: a redelivered push and a new tag reuse the stored one', async () => {
    const { deps, notifier, store } = setup();
    await scanImage(push(`${run}/app`, app, 'v1'), deps);
    const first = await store.get(app, `${REGISTRY}/${run}/app`);
    const messages = notifier.sent.length;
    const connections = await connectionsDuring(async () => {
      expect((await scanImage(push(`${run}/app`, app, 'v1-again'), deps)).status).toBe('unchanged');
    });
    // Unchanged and current: not decided again, the registry not even asked.
    expect(connections).toEqual([]);
    expect(notifier.sent.slice(messages).map((m) => m.attributes.eventType)).toEqual([]);
    expect((await store.get(app, `${REGISTRY}/${run}/app`))?.checkedAt).toBe(first?.checkedAt);
  });

  it('says audit under an audit rule, and applies the default rule to every other repository', async () => {
    const { deps, notifier, store } = setup();
    await scanImage(push(`${run}/audit/tool`, audited, 'v1'), deps);
    const [unsigned] = notifier.of('PROVENANCE_UNSIGNED', audited);
    expect(unsigned?.provenance?.mode).toBe('audit');
    expect(
      notifier.sent.find((m) => m.attributes.provenance === 'UNSIGNED')?.attributes.provenanceMode,
    ).toBe('audit');

    const other = await pushImage(`elsewhere-${run}/tool`, 'v1', 'no rule of the policy\n');
    await scanImage(push(`elsewhere-${run}/tool`, other, 'v1'), deps);
    const [byDefault] = notifier.of('PROVENANCE_UNSIGNED', other);
    expect(byDefault?.provenance).toMatchObject({ rule: 'default', mode: 'audit' });
    expect((await store.get(other, `${REGISTRY}/elsewhere-${run}/tool`))?.status).toBe('UNSIGNED');
  });

  it('puts the verdict in the report and the SBOM', async () => {
    const reports = new Map<string, string>();
    const { deps } = setup();
    const withReports: ScanDeps = {
      ...deps,
      reports: {
        bucket: 'reports',
        put: async (key: string, body: string) => {
          reports.set(key, body);
        },
      },
    };
    await scanImage(push(`${run}/rogue`, rogue, 'v1'), withReports);
    const report = JSON.parse(
      [...reports].find(([k]) => k.endsWith('report.json'))?.[1] ?? '{}',
    ) as { provenance?: { status: string; repository: string }[] };
    expect(report.provenance?.map((p) => [p.repository, p.status])).toEqual([
      [`${REGISTRY}/${run}/rogue`, 'UNTRUSTED'],
    ]);
    const sbom = JSON.parse([...reports].find(([k]) => k.endsWith('sbom.cdx.json'))?.[1] ?? '{}');
    expect(sbom.metadata.properties).toContainEqual({
      name: 'bosun:provenance',
      value: `${REGISTRY}/${run}/rogue UNTRUSTED (enforce)`,
    });
  });

  it('finishes an announcement a stopped run decided but did not send', async () => {
    const { deps, notifier, store } = setup();
    notifier.failNext = 100;
    await expect(scanImage(push(`${run}/rogue`, rogue, 'v1'), deps)).rejects.toThrow(
      /SNS unavailable/,
    );
    expect((await store.get(rogue, `${REGISTRY}/${run}/rogue`))?.pending?.eventType).toBe(
      'PROVENANCE_FAILED',
    );
    notifier.failNext = 0;
    await scanImage(push(`${run}/rogue`, rogue, 'v1'), deps);
    expect(notifier.of('PROVENANCE_FAILED', rogue)).toHaveLength(1);
    expect((await store.get(rogue, `${REGISTRY}/${run}/rogue`))?.pending).toBeUndefined();
  });
});

describe('re-verification', () => {
  it('decides verdicts again under a new policy, announcing only what changed', async () => {
    const { deps, notifier, store } = setup();
    await scanImage(push(`${run}/rogue`, rogue, 'v1'), deps);
    await scanImage(push(`${run}/app`, app, 'v1'), deps);
    expect((await store.get(app, `${REGISTRY}/${run}/app`))?.status).toBe('VERIFIED');
    const before = notifier.sent.length;

    // The policy now also trusts the stranger's key, in an anyOf.
    const widened = {
      ...deps,
      provenance: {
        ...(deps.provenance as NonNullable<ScanDeps['provenance']>),
        checker: checker(
          { 'release-key': pem(trusted), 'partner-key': pem(stranger) },
          '{ anyOf: [release-key, partner-key] }',
        ),
      },
    };
    const summary = await reverifyProvenance(widened, widened.provenance);
    expect(summary).toMatchObject({ stale: 2, reverified: 2, left: 0, messages: 1 });
    const changed = notifier.sent.slice(before).map((m) => JSON.parse(m.body) as Notification);
    expect(provenanceOf(changed)).toEqual([
      {
        eventType: 'PROVENANCE_VERIFIED',
        status: 'VERIFIED',
        trigger: 'policy',
        repositories: [`${run}/rogue`],
      },
    ]);
    // Nothing is stale any more: a second pass does nothing.
    expect(await reverifyProvenance(widened, widened.provenance)).toMatchObject({
      stale: 0,
      reverified: 0,
    });
  });

  it('decides a day-old verdict again (expiry, revocation), and drops verdicts of deleted images', async () => {
    const { deps, store, advance } = setup();
    await scanImage(push(`${run}/app`, app, 'v1'), deps);
    await scanImage(push(`${run}/rogue`, rogue, 'v1'), deps);
    expect(
      await reverifyProvenance(deps, deps.provenance as NonNullable<ScanDeps['provenance']>),
    ).toMatchObject({ stale: 0 });
    await scanImage({ ...push(`${run}/rogue`, rogue), action: 'DELETE' }, deps);
    advance(25 * 60 * 60 * 1000);
    const summary = await reverifyProvenance(
      deps,
      deps.provenance as NonNullable<ScanDeps['provenance']>,
    );
    expect(summary).toMatchObject({ stale: 2, reverified: 1, removed: 1, left: 0, messages: 0 });
    expect((await store.get(app, `${REGISTRY}/${run}/app`))?.checkedAt).toBe(
      '2026-12-08T13:00:00.000Z',
    );
    expect(await store.get(rogue, `${REGISTRY}/${run}/rogue`)).toBeUndefined();
  });
});

describe('indexes', () => {
  it('gives a pushed image index its own verdict without scanning it', async () => {
    const { deps, notifier, pulls } = setup();
    const dir = path.join(work, 'index');
    const w = new LayoutWriter(dir);
    const layer = await tarOf([{ path: 'srv/multi.txt', content: 'multi-arch\n' }]);
    const amd = w.image({ architecture: 'amd64', layers: [layer] });
    const arm = w.image({ architecture: 'arm64', layers: [layer] });
    w.finish(w.index([amd, arm]), 'multi');
    pushLayout(dir, 'multi', `${REGISTRY}/${run}/multi:v1`, { all: true });
    const pushed = await client.getManifest(parseReference(`${REGISTRY}/${run}/multi:v1`));
    const outcome = await scanImage(
      {
        ...push(`${run}/multi`, pushed.digest, 'v1'),
        manifestMediaType: 'application/vnd.oci.image.index.v1+json',
      },
      deps,
    );
    expect(outcome.status).toBe('index');
    expect(pulls).toEqual([]);
    expect(notifier.of('PROVENANCE_UNSIGNED', pushed.digest)).toHaveLength(1);
  });
});
