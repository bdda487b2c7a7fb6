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
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncLocalFeed } from '../../scripts/local/feed.js';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { receiveNotifications } from '../../scripts/local/notifications.js';
import type { Notification } from '../../shared/notifications/message.js';
import { localClients } from '../support/aws.js';
import { dataDir } from '../support/fixtures.js';
import { notificationErrors } from '../support/notification-schema.js';
import { filesUnder, LayoutWriter, pushLayout, tarOf } from '../support/oci.js';
import { rpmRoot } from '../support/rpmdb.js';

const state = inject('localStack');
const clients = localClients(state);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-ubi-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
let deployment: IsolatedDeployment;
let host: FunctionsHost;
const received: { body: Notification; attributes: Record<string, string> }[] = [];

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'ubi-e2e');
  host = await startFunctionsHost(state, {
    log: () => undefined,
    env: {
      ...deployment.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_WEBHOOK_REGISTRIES: registryHost,
    },
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  clients.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** Pushes a UBI 8 image (with `extra` files in a second layer); returns its digest. */
async function pushUbi8(tag: string, extra: string): Promise<string> {
  const root = path.join(work, `root-${tag}`);
  mkdirSync(root, { recursive: true });
  rpmRoot(root, path.join(work, `rpm-${tag}`), [
    { name: 'openssl-libs', source: 'openssl', epoch: 1, version: '1.1.1c', release: '2.el8' },
  ]);
  const manifest = 'ubi8-minimal-container-8.5-218.json';
  const base = await tarOf([
    { path: 'etc/', type: 'directory' },
    {
      path: 'etc/os-release',
      content: readFileSync(
        path.join(dataDir(), 'pkgdbs/claircore/rhel/testdata/releasefiles/8/etc/os-release'),
      ),
    },
    {
      path: `root/buildinfo/content_manifests/${manifest}`,
      content: readFileSync(
        path.join(
          dataDir(),
          'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests',
          manifest,
        ),
      ),
    },
    ...filesUnder(path.join(root, 'var')).map((f) => ({ ...f, path: `var/${f.path}` })),
  ]);
  const dir = path.join(work, `layout-${tag}`);
  const w = new LayoutWriter(dir);
  w.finish(
    w.image({
      architecture: 'amd64',
      layers: [base, await tarOf([{ path: 'etc/motd', content: extra }])],
    }),
    'latest',
  );
  pushLayout(dir, 'latest', `${registryHost}/ubi/app:${tag}`, { format: 'oci' });
  const head = await fetch(`http://${registryHost}/v2/ubi/app/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return head.headers.get('docker-content-digest') as string;
}

/** The first message of a type about a digest, as the topic delivers it. */
async function eventOf(eventType: Notification['eventType'], digest: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = received.find(
      (r) => r.body.eventType === eventType && r.body.image.digest === digest,
    );
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${eventType} for ${digest}`);
    for (const r of await receiveNotifications(clients.sqs, deployment.subscription)) {
      expect(notificationErrors(r.message)).toEqual([]);
      received.push({ body: r.body, attributes: r.attributes });
    }
  }
}

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
    const [synced] = await syncLocalFeed(state, vex, deployment.env);
    expect(synced).toMatchObject({ status: 'complete' });
    const [mapped] = await syncLocalFeed(state, mapping, deployment.env);
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
