/**
 * UBI 8 through the scan function on the local stack: an image pushed to the local registry
 * (claircore's real RHEL 8 os-release, the real content manifest of ubi8-minimal 8.5-218, and an
 * rpm database rpm itself writes with the openssl-libs build of a real UBI 8 image) reaches the
 * scan function through the webhook. Before the advisory table holds any Red Hat data,
 * SCAN_COMPLETED says the image's packages were not checked; once Red Hat's real VEX documents
 * and its repository-to-CPE mapping are synced into the table (as the feed sync does), the next
 * image's content sets resolve to their repositories' CPEs and openssl's CVEs are announced with
 * Red Hat's word that their fix is deferred.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncLocalFeed } from '../../scripts/local/feed.js';
import { dataDir } from '../support/fixtures.js';
import { LocalFamilyStack } from '../support/local-images.js';

const state = inject('localStack');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-ubi-e2e-'));
let stack: LocalFamilyStack;

beforeAll(async () => {
  stack = await LocalFamilyStack.start(state, 'ubi-e2e', work);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

const MANIFEST = 'ubi8-minimal-container-8.5-218.json';

/** Pushes a UBI 8 image (with `extra` in a second layer); returns its digest. */
const pushUbi8 = (tag: string, extra: string) =>
  stack.pushRpmImage({
    repository: 'ubi/app',
    tag,
    osRelease: path.join(dataDir(), 'pkgdbs/claircore/rhel/testdata/releasefiles/8/etc/os-release'),
    files: [
      {
        path: `root/buildinfo/content_manifests/${MANIFEST}`,
        from: path.join(
          dataDir(),
          'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests',
          MANIFEST,
        ),
      },
    ],
    packages: [
      { name: 'openssl-libs', source: 'openssl', epoch: 1, version: '1.1.1c', release: '2.el8' },
    ],
    extra,
  });

const eventOf = (...args: Parameters<LocalFamilyStack['eventOf']>) => stack.eventOf(...args);

describe('UBI 8 on the local stack', () => {
  it('says in SCAN_COMPLETED that the packages were not checked while the table has no Red Hat data', async () => {
    const digest = await pushUbi8('before', 'pushed before Red Hat data was synced\n');
    const { body, attributes } = await eventOf('SCAN_COMPLETED', digest);
    expect(body.summary.total).toBe(0);
    expect(body.coverage?.complete).toBe(false);
    expect(body.coverage?.gaps.map((g) => [g.kind, g.packages])).toEqual([['not-synced', 1]]);
    expect(body.coverage?.gaps[0]?.ecosystems).toContain('Red Hat:enterprise_linux:8::baseos');
    expect(attributes.coverage).toBe('incomplete');
  }, 120_000);

  it("announces openssl's CVEs, fix deferred, once Red Hat's VEX and repository mapping are synced", async () => {
    const vex = path.join(dataDir(), 'advisories/claircore-fixtures/test/acceptance/testdata');
    const mapping = path.join(dataDir(), 'advisories/redhat-repository-to-cpe');
    const [synced] = await syncLocalFeed(state, vex, stack.deployment.env);
    expect(synced).toMatchObject({ status: 'complete' });
    const [mapped] = await syncLocalFeed(state, mapping, stack.deployment.env);
    expect(mapped).toMatchObject({ status: 'complete' });
    const digest = await pushUbi8('after', 'pushed after Red Hat data was synced\n');
    const done = await eventOf('SCAN_COMPLETED', digest);
    expect(done.body.coverage).toEqual({ complete: true, gaps: [] });
    expect(done.attributes.coverage).toBe('complete');
    const news = await eventOf('FINDINGS_NEW', digest);
    expect(
      (news.body.findings ?? []).map((f) => [f.packageName, f.id, f.fixedVersion, f.fixState]),
    ).toEqual([
      ['openssl-libs', 'CVE-2024-0727', undefined, 'fix-deferred'],
      ['openssl-libs', 'CVE-2026-2673', undefined, 'fix-deferred'],
    ]);
  }, 180_000);
});
