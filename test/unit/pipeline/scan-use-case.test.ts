/**
 * The scan and rescan use cases on the embedded stores, with real images built from real files
 * (test/support/pipeline.ts) and the real npm advisories: what is recorded, what is announced,
 * and that redeliveries, crashes and retries change nothing twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdvisories } from '../../../shared/advisories/load.js';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import type { ImageSet } from '../../../shared/image/types.js';
import { ImageConflictError } from '../../../shared/pipeline/context.js';
import { rescanPackages } from '../../../shared/pipeline/rescan.js';
import { type ScanDeps, scanAttempt, scanImage } from '../../../shared/pipeline/scan.js';
import { RegistryError } from '../../../shared/registry/errors.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { alpine34Rootfs, dataDir } from '../../support/fixtures.js';
import { filesUnder, LayoutWriter, tarOf } from '../../support/oci.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  type TestImageKind,
  writeCorruptImage,
  writeTestImage,
} from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-pipeline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const images = new Map<string, string>();
const digests: Partial<Record<TestImageKind | 'corrupt', string>> = {};

beforeAll(async () => {
  for (const kind of ['app-310', 'app-311', 'base-310'] as const) {
    const dir = path.join(work, kind);
    const manifest = await writeTestImage(dir, kind);
    images.set(manifest.digest, dir);
    digests[kind] = manifest.digest;
  }
  const dir = path.join(work, 'corrupt');
  const manifest = writeCorruptImage(dir);
  images.set(manifest.digest, dir);
  digests.corrupt = manifest.digest;
});

function setup(options: { crashAfterFindingsWrite?: number } = {}) {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const findings = new FindingsStore(EmbeddedItemTable.open(dir, 'findings'));
  let writes = 0;
  if (options.crashAfterFindingsWrite !== undefined) {
    const write = findings.write.bind(findings);
    findings.write = async (items) => {
      await write(items.slice(0, Math.ceil(items.length / 2)));
      if (++writes <= (options.crashAfterFindingsWrite as number))
        throw new Error('the function was stopped (test)');
      await write(items);
    };
  }
  const notifier = new RecordingNotifier();
  const advisories = new MutableAdvisories(npmAdvisories());
  const pulls: string[] = [];
  const deps: ScanDeps = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings,
    advisories,
    notifier,
    leaseWaitMs: 2_000,
    openImage: async (request): Promise<ImageSet> => {
      pulls.push(request.digest);
      return new OciLayoutSource(images.get(request.digest) as string, 'latest').images();
    },
  };
  return { deps, notifier, advisories, pulls };
}

/** The findings readers see: resolved against the image's committed generation. */
async function visible(deps: ScanDeps, digest: string) {
  const image = await deps.images.getImage(digest);
  return deps.findings.findings(digest, image?.findingsGeneration ?? 0);
}

const request = (
  digest: string,
  tag?: string,
  eventTime = new Date().toISOString(),
): ScanRequest => ({
  action: 'PUSH',
  registry: 'registry.example.test',
  repository: 'team/app',
  digest,
  ...(tag === undefined ? {} : { tag }),
  eventTime,
  eventId: `event-${digest.slice(7, 15)}-${tag ?? ''}`,
});

describe('scan', () => {
  it('records image, inventory, reverse index and findings, and announces SCAN_COMPLETED and FINDINGS_NEW once', async () => {
    const { deps, notifier } = setup();
    const digest = digests['app-310'] as string;
    const outcome = await scanImage(request(digest, '1.0'), deps);
    expect(outcome).toMatchObject({ status: 'scanned', findings: 1, messages: 2 });

    const image = await deps.images.getImage(digest);
    expect(image).toMatchObject({
      status: 'COMPLETE',
      findingsGeneration: 1,
      announcedGeneration: 1,
    });
    expect(image?.os).toContain('Alpine');
    const inventory = await deps.inventories.getInventory(digest, image?.scanId as string);
    // 14 apk packages (trivy's golden list for alpine 3.10) and the lockfile's 106 npm packages.
    expect(inventory?.packages.filter((p) => p.ecosystem === 'Alpine:v3.10')).toHaveLength(14);
    expect(inventory?.packages.filter((p) => p.ecosystem === 'npm')).toHaveLength(106);
    expect(await deps.inventories.imagesWithPackage('npm#concat-stream')).toEqual([
      { digest, scanId: image?.scanId },
    ]);

    const findings = await deps.findings.findings(digest, image?.findingsGeneration ?? 0);
    expect(findings).toHaveLength(1);
    const [finding] = findings;
    expect(finding).toMatchObject({
      vulnerabilityId: CONCAT_STREAM_ADVISORY,
      packageKey: 'npm#concat-stream',
      installedVersion: '1.5.0',
      fixedVersion: '1.5.2',
      status: 'ACTIVE',
    });
    // The advisory's own range, checked with node-semver.
    expect(semver.satisfies('1.5.0', '<1.5.2 >=1.4.0 || <1.3.1 >=1.3.0')).toBe(true);

    expect(notifier.bodies().map((b) => b.eventType)).toEqual(['SCAN_COMPLETED', 'FINDINGS_NEW']);
    const [completed, added] = notifier.bodies();
    expect(completed?.summary.total).toBe(1);
    expect(added?.findings.map((f) => [f.id, f.packageName, f.fixedVersion])).toEqual([
      [CONCAT_STREAM_ADVISORY, 'concat-stream', '1.5.2'],
    ]);
    expect(added?.image).toMatchObject({
      digest,
      repositories: ['team/app'],
      tags: ['team/app:1.0'],
    });
    expect(notifier.sent[1]?.attributes).toEqual({
      eventType: 'FINDINGS_NEW',
      maxSeverity: 'MEDIUM',
      repository: ['team/app'],
      fixAvailable: 'true',
      kev: 'false',
      // An npm finding is not judged for reachability: it is never filtered out as unreachable.
      reachable: 'true',
    });
  });

  it('says in SCAN_COMPLETED, its attribute and the image record what the advisories could not cover', async () => {
    const { deps, notifier } = setup();
    const digest = digests['app-310'] as string;
    await scanImage(request(digest, '1.0'), deps);
    const [completed] = notifier.of('SCAN_COMPLETED');
    // npm advisories only: the 14 Alpine packages were not checked.
    expect(completed?.coverage).toEqual({
      complete: false,
      gaps: [
        {
          kind: 'not-synced',
          ecosystems: ['Alpine:v3.10'],
          packages: 14,
          message: expect.stringContaining('14 OS packages of Alpine Linux v3.10 were not checked'),
        },
      ],
    });
    expect(notifier.sent[0]?.attributes.coverage).toBe('incomplete');
    expect((await deps.images.getImage(digest))?.coverage?.complete).toBe(false);
    // Only SCAN_COMPLETED carries it.
    expect(notifier.of('FINDINGS_NEW')[0]?.coverage).toBeUndefined();

    // With the release's secdb synced as well, the same image is covered.
    const again = setup();
    for (const r of loadAdvisories(path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10'))
      .records)
      again.advisories.put(r);
    await scanImage(request(digest, '1.0'), again.deps);
    expect(again.notifier.of('SCAN_COMPLETED')[0]?.coverage).toEqual({ complete: true, gaps: [] });
    expect(again.notifier.sent[0]?.attributes.coverage).toBe('complete');
  });

  it('does nothing new for the same push delivered 20 times', async () => {
    const { deps, notifier, pulls } = setup();
    const digest = digests['app-310'] as string;
    const push = request(digest, '1.0', '2026-11-29T01:00:00.000Z');
    for (let i = 0; i < 20; i++) await scanImage(push, deps);
    expect(pulls).toHaveLength(1);
    expect(notifier.bodies().map((b) => b.eventType)).toEqual(['SCAN_COMPLETED', 'FINDINGS_NEW']);
    expect((await deps.images.getImage(digest))?.findingsGeneration).toBe(1);
    expect(await visible(deps, digest)).toHaveLength(1);
  });

  it('finishes a scan that stopped after writing part of its findings, announcing once', async () => {
    const { deps, notifier } = setup({ crashAfterFindingsWrite: 1 });
    const digest = digests['app-310'] as string;
    const push = request(digest, '1.0');
    await expect(scanImage(push, deps)).rejects.toThrow(/stopped/);
    // Readers still see no findings (nothing committed), and nothing was announced.
    const stopped = await deps.images.getImage(digest);
    expect(stopped?.status).toBe('IN_PROGRESS');
    expect(await deps.findings.findings(digest, stopped?.findingsGeneration ?? 0)).toEqual([]);
    expect(notifier.sent).toEqual([]);

    await scanImage(push, deps);
    await scanImage(push, deps);
    expect(notifier.bodies().map((b) => b.eventType)).toEqual(['SCAN_COMPLETED', 'FINDINGS_NEW']);
    expect(await visible(deps, digest)).toHaveLength(1);
  });

  it('announces on the next delivery when publishing failed after the commit', async () => {
    const { deps, notifier } = setup();
    const digest = digests['app-310'] as string;
    notifier.failNext = 1;
    await expect(scanImage(request(digest), deps)).rejects.toThrow(/SNS unavailable/);
    expect((await deps.images.getImage(digest))?.status).toBe('COMPLETE');
    expect(notifier.sent).toEqual([]);
    await scanImage(request(digest), deps);
    await scanImage(request(digest), deps);
    expect(notifier.bodies().map((b) => b.eventType)).toEqual(['SCAN_COMPLETED', 'FINDINGS_NEW']);
  });

  it('announces TAG_MOVED with both digests when a tag is pushed again with a new digest', async () => {
    const { deps, notifier } = setup();
    const first = digests['app-310'] as string;
    const second = digests['app-311'] as string;
    await scanImage(request(first, 'stable', '2026-11-29T01:00:00.000Z'), deps);
    const moved = request(second, 'stable', '2026-11-29T02:00:00.000Z');
    await scanImage(moved, deps);
    await scanImage(moved, deps);
    const moves = notifier.of('TAG_MOVED');
    expect(moves).toHaveLength(1);
    expect(moves[0]?.tagMove).toEqual({
      repository: 'team/app',
      tag: 'stable',
      digest: second,
      previousDigest: first,
      movedAt: '2026-11-29T02:00:00.000Z',
    });
    expect(await deps.images.tagDigest('registry.example.test/team/app', 'stable')).toBe(second);
  });

  it('records a corrupt image as FAILED with the reason and announces SCAN_FAILED once', async () => {
    const { deps, notifier } = setup();
    const digest = digests.corrupt as string;
    const outcome = await scanImage(request(digest, 'broken'), deps);
    expect(outcome.status).toBe('failed');
    await scanImage(request(digest, 'broken'), deps);
    const image = await deps.images.getImage(digest);
    expect(image?.status).toBe('FAILED');
    expect(image?.reason).toMatch(/layer 0 could not be read/);
    expect(image?.scanId).toBeUndefined();
    const failed = notifier.of('SCAN_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.failure?.reason).toBe(image?.reason);
    expect(notifier.sent).toHaveLength(1);
  });
});

it('records the push of an index or an artifact without pulling or scanning it', async () => {
  const { deps, notifier, pulls } = setup();
  const digest = digests['app-310'] as string;
  // ECR's event for a multi-platform push names the index; its platform manifests come as pushes of their own.
  const index = await scanImage(
    { ...request(digest, 'multi'), manifestMediaType: 'application/vnd.oci.image.index.v1+json' },
    deps,
  );
  const signature = await scanImage({ ...request(digest, `sha256-${'a'.repeat(64)}.sig`) }, deps);
  const sbom = await scanImage(
    { ...request(digest), artifactMediaType: 'application/spdx+json' },
    deps,
  );
  expect([index.status, signature.status, sbom.status]).toEqual(['index', 'skipped', 'skipped']);
  expect(pulls).toEqual([]);
  expect(notifier.sent).toEqual([]);
  expect(await deps.images.tagDigest('registry.example.test/team/app', 'multi')).toBe(digest);
  expect(await deps.images.getImage(digest)).toBeUndefined();
});

it('keeps one finding per binary package of a source, and a rescan by the source changes nothing', async () => {
  // The real Alpine 3.4 database: musl and musl-utils both come from the musl source package,
  // which Alpine's 3.4 secdb names (CVE-2016-8859, fixed in 1.1.14-r13).
  const dir = path.join(work, 'alpine-34');
  const layout = new LayoutWriter(dir);
  const rootfs = alpine34Rootfs(path.join(work, 'alpine-34-rootfs'));
  const manifest = layout.image({
    architecture: 'amd64',
    layers: [await tarOf(filesUnder(rootfs))],
  });
  layout.finish(manifest, 'latest');
  images.set(manifest.digest, dir);
  const { deps, notifier, advisories } = setup();
  const secdb = loadAdvisories(path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.4')).records;
  for (const r of secdb) advisories.put(r);
  await scanImage(request(manifest.digest, '3.4'), deps);
  const muslFindings = (await visible(deps, manifest.digest)).filter(
    (f) => f.vulnerabilityId === 'CVE-2016-8859',
  );
  expect(muslFindings.map((f) => f.packageName).sort()).toEqual(['musl', 'musl-utils']);
  notifier.sent.length = 0;

  const change = (kind: 'modified' | 'withdrawn') => ({
    version: 1 as const,
    source: 'test',
    changes: [
      {
        ecosystem: 'Alpine:v3.4',
        name: 'musl',
        change: kind,
        advisoryIds: ['ALPINE-CVE-2016-8859'],
      },
    ],
  });
  expect((await rescanPackages(change('modified'), deps)).outcomes).toEqual({ unchanged: 1 });
  expect(notifier.sent).toEqual([]);
  const record = secdb.find(
    (r) =>
      r.affected?.some((a) => a.package?.name === 'musl') &&
      [r.id, ...(r.aliases ?? [])].includes('CVE-2016-8859'),
  );
  advisories.remove(record?.id as string);
  await rescanPackages(change('withdrawn'), deps);
  const resolved = notifier.of('FINDINGS_RESOLVED');
  expect(resolved).toHaveLength(1);
  expect(
    resolved[0]?.findings
      .filter((f) => f.id === 'CVE-2016-8859')
      .map((f) => f.packageName)
      .sort(),
  ).toEqual(['musl', 'musl-utils']);
});

it('retries, rather than fails, a scan whose registry broke off a transfer, until the last delivery', async () => {
  const { deps, notifier } = setup();
  const digest = digests['app-310'] as string;
  const open = deps.openImage;
  deps.openImage = async (r) => {
    const set = await open(r);
    return {
      ...set,
      images: set.images.map((image) => ({
        ...image,
        layers: image.layers.map((layer) => ({
          ...layer,
          open: async () =>
            new Readable({
              read() {
                this.destroy(
                  new RegistryError('blob sha256:…: transfer failed: socket hang up', undefined),
                );
              },
            }),
        })),
      })),
    };
  };
  await expect(scanImage(request(digest), deps)).rejects.toThrow(RegistryError);
  expect((await deps.images.getImage(digest))?.status).toBe('IN_PROGRESS');
  expect(notifier.sent).toEqual([]);
  // The queue's last delivery: the same failure is then recorded, not retried.
  const last = await scanImage(request(digest), deps, { receives: 3, final: true });
  expect(last).toMatchObject({
    status: 'failed',
    reason: expect.stringMatching(/^gave up after 3 attempts: .*socket hang up/),
  });
  deps.openImage = open;
  await scanImage(request(digest), deps);
  expect(notifier.bodies().map((b) => b.eventType)).toEqual([
    'SCAN_FAILED',
    'SCAN_COMPLETED',
    'FINDINGS_NEW',
  ]);
});

it("knows a queue's last delivery from its receive count", () => {
  expect(scanAttempt('1', 3)).toEqual({ receives: 1, final: false });
  expect(scanAttempt('3', 3)).toEqual({ receives: 3, final: true });
  expect(scanAttempt('4', 3)).toEqual({ receives: 4, final: true });
  // Without a configured maximum, or a count, no delivery is taken for the last.
  expect(scanAttempt('9', undefined)).toEqual({ receives: 9, final: false });
  expect(scanAttempt(undefined, 3)).toEqual({ receives: 1, final: false });
  expect(scanAttempt('x', 1)).toEqual({ receives: 1, final: true });
});

it("fails, rather than leaves in progress, a scan whose queue's last delivery still cannot reach the registry", async () => {
  const { deps, notifier } = setup();
  const digest = digests['app-310'] as string;
  const open = deps.openImage;
  deps.openImage = async () => {
    throw new RegistryError('GET /v2/app/manifests/…: connect ECONNREFUSED', undefined);
  };
  await expect(scanImage(request(digest), deps, { receives: 2, final: false })).rejects.toThrow(
    RegistryError,
  );
  const last = await scanImage(request(digest), deps, { receives: 3, final: true });
  const reason = 'gave up after 3 attempts: GET /v2/app/manifests/…: connect ECONNREFUSED';
  expect(last).toEqual({ status: 'failed', reason, messages: 1 });
  expect(await deps.images.getImage(digest)).toMatchObject({ status: 'FAILED', reason });
  expect(notifier.bodies().map((b) => [b.eventType, b.failure?.reason])).toEqual([
    ['SCAN_FAILED', reason],
  ]);
  // The next push finds the registry back and scans the image.
  deps.openImage = open;
  await scanImage(request(digest), deps);
  expect((await deps.images.getImage(digest))?.status).toBe('COMPLETE');
});

it('does not let a redelivered older push take a tag back, nor scan a digest deleted since', async () => {
  const { deps, notifier, pulls } = setup();
  const b = digests['app-310'] as string;
  const c = digests['app-311'] as string;
  const first = request(b, 'latest', '2026-11-29T01:00:00.000Z');
  await scanImage(first, deps);
  await scanImage(request(c, 'latest', '2026-11-29T02:00:00.000Z'), deps);
  await scanImage(first, deps);
  expect(await deps.images.tagDigest('registry.example.test/team/app', 'latest')).toBe(c);
  expect(notifier.of('TAG_MOVED').map((m) => m.tagMove?.digest)).toEqual([c]);

  await scanImage({ ...request(c), action: 'DELETE', eventTime: '2026-11-29T03:00:00.000Z' }, deps);
  pulls.length = 0;
  const late = await scanImage(request(c, undefined, '2026-11-29T02:30:00.000Z'), deps);
  expect(late.status).toBe('deleted');
  expect(pulls).toEqual([]);
});

describe('rescan', () => {
  async function threeImages() {
    const ctx = setup();
    for (const [kind, repo] of [
      ['app-310', 'team/a'],
      ['app-311', 'team/b'],
      ['base-310', 'team/c'],
    ] as const)
      await scanImage({ ...request(digests[kind] as string, '1'), repository: repo }, ctx.deps);
    ctx.notifier.sent.length = 0;
    ctx.pulls.length = 0;
    return ctx;
  }
  const change = (kind: 'added' | 'modified' | 'withdrawn') => ({
    version: 1 as const,
    source: 'test',
    changes: [
      {
        ecosystem: 'npm',
        name: 'concat-stream',
        change: kind,
        advisoryIds: [CONCAT_STREAM_ADVISORY],
      },
    ],
  });

  it('a withdrawal resolves the finding in exactly the two images that have the package, without pulling', async () => {
    const { deps, notifier, advisories, pulls } = await threeImages();
    advisories.remove(CONCAT_STREAM_ADVISORY);
    const summary = await rescanPackages(change('withdrawn'), deps);
    expect(summary.images).toBe(2);
    expect(pulls).toEqual([]);
    const resolved = notifier.of('FINDINGS_RESOLVED');
    expect(resolved.map((r) => r.image.digest).sort()).toEqual(
      [digests['app-310'], digests['app-311']].sort(),
    );
    expect(resolved[0]?.findings[0]).toMatchObject({ status: 'CLOSED', statusReason: 'withdrawn' });
    expect(notifier.sent).toHaveLength(2);
    // Delivered again: nothing more.
    await rescanPackages(change('withdrawn'), deps);
    expect(notifier.sent).toHaveLength(2);
  });

  it('a new advisory announces FINDINGS_NEW for exactly the two affected images', async () => {
    const { deps, notifier, advisories } = await threeImages();
    const record = advisories.remove(CONCAT_STREAM_ADVISORY);
    await rescanPackages(change('withdrawn'), deps);
    notifier.sent.length = 0;
    advisories.put(record);
    await rescanPackages(change('added'), deps);
    expect(
      notifier
        .of('FINDINGS_NEW')
        .map((m) => m.image.digest)
        .sort(),
    ).toEqual([digests['app-310'], digests['app-311']].sort());
    expect(notifier.sent).toHaveLength(2);
    expect(notifier.of('FINDINGS_NEW')[0]?.trigger).toBe('rescan');
  });

  it('closes the findings of images out of the rescan window, and of deleted images', async () => {
    const ctx = setup();
    const old = new Date(Date.now() - 120 * 86_400_000).toISOString();
    await scanImage(
      { ...request(digests['app-310'] as string, '1', old), repository: 'team/old' },
      ctx.deps,
    );
    await scanImage(
      { ...request(digests['app-311'] as string, '1'), repository: 'team/new' },
      ctx.deps,
    );
    ctx.notifier.sent.length = 0;
    await rescanPackages(change('modified'), ctx.deps);
    const closed = ctx.notifier.of('FINDINGS_RESOLVED');
    expect(closed.map((m) => [m.image.digest, m.trigger, m.findings[0]?.statusReason])).toEqual([
      [digests['app-310'], 'out-of-window', 'out-of-window'],
    ]);
    // A lifetime window keeps rescanning it.
    const lifetime = setup();
    await scanImage(
      { ...request(digests['app-310'] as string, '1', old), repository: 'team/old' },
      lifetime.deps,
    );
    lifetime.notifier.sent.length = 0;
    await rescanPackages(change('modified'), { ...lifetime.deps, windowDays: 'LIFETIME' });
    expect(lifetime.notifier.sent).toEqual([]);

    ctx.notifier.sent.length = 0;
    await scanImage(
      { ...request(digests['app-311'] as string), action: 'DELETE', repository: 'team/new' },
      ctx.deps,
    );
    expect(ctx.notifier.of('FINDINGS_RESOLVED').map((m) => m.findings[0]?.statusReason)).toEqual([
      'image-deleted',
    ]);
    const summary = await rescanPackages(change('modified'), ctx.deps);
    expect(summary.outcomes.deleted).toBe(1);
  });
});

it('refuses to commit over a record another run changed (lease lost)', async () => {
  const { deps } = setup();
  const digest = digests['base-310'] as string;
  const put = deps.images.putImage.bind(deps.images);
  let calls = 0;
  deps.images.putImage = async (record, revision) => {
    // The second write (the commit) finds the record moved on.
    if (++calls === 2) await put({ ...record, status: 'PENDING' }, revision);
    return put(record, revision);
  };
  await expect(scanImage(request(digest), deps)).rejects.toThrow(ImageConflictError);
});
