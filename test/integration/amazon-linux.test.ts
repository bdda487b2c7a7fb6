/**
 * Amazon Linux 2023 through the scan function on the local stack: an image pushed to the local
 * registry (the real AL2023 os-release, and an rpm database rpm itself writes with the rsyslog
 * release ALAS2023-2023-001 names as its fix) reaches the scan function through the webhook.
 * Before the advisory table holds any ALAS, SCAN_COMPLETED says the image's packages were not
 * checked; once the real updateinfo files are synced into the table (as the feed sync does), the
 * next image is checked completely and its fixed rsyslog is not reported.
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
const work = mkdtempSync(path.join(tmpdir(), 'bosun-amazon-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
let deployment: IsolatedDeployment;
let host: FunctionsHost;
const received: { body: Notification; attributes: Record<string, string> }[] = [];

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'amazon-e2e');
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

/** Pushes an AL2023 image (with `extra` files in a second layer); returns its digest. */
async function pushAl2023(tag: string, extra: string): Promise<string> {
  const root = path.join(work, `root-${tag}`);
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  const osRelease = readFileSync(
    path.join(dataDir(), 'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release'),
  );
  rpmRoot(root, path.join(work, `rpm-${tag}`), [
    { name: 'rsyslog', version: '8.2204.0', release: '3.amzn2023.0.2' },
  ]);
  const base = await tarOf([
    { path: 'etc/', type: 'directory' },
    { path: 'etc/os-release', content: osRelease },
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
  pushLayout(dir, 'latest', `${registryHost}/amazon/app:${tag}`, { format: 'oci' });
  const head = await fetch(`http://${registryHost}/v2/amazon/app/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return head.headers.get('docker-content-digest') as string;
}

/** The SCAN_COMPLETED of a digest, as the topic delivers it. */
async function completed(digest: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = received.find(
      (r) => r.body.eventType === 'SCAN_COMPLETED' && r.body.image.digest === digest,
    );
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no SCAN_COMPLETED for ${digest}`);
    for (const r of await receiveNotifications(clients.sqs, deployment.subscription)) {
      expect(notificationErrors(r.message)).toEqual([]);
      received.push({ body: r.body, attributes: r.attributes });
    }
  }
}

describe('Amazon Linux 2023 on the local stack', () => {
  it('says in SCAN_COMPLETED that the packages were not checked while the table has no ALAS', async () => {
    const digest = await pushAl2023('before', 'pushed before ALAS was synced\n');
    const { body, attributes } = await completed(digest);
    expect(body.image.os).toBe('Amazon Linux 2023');
    expect(body.summary.total).toBe(0);
    expect(body.coverage).toEqual({
      complete: false,
      gaps: [
        {
          kind: 'not-synced',
          ecosystems: ['Amazon Linux:2023'],
          packages: 1,
          message: expect.stringContaining('1 OS package of Amazon Linux 2023 was not checked'),
        },
      ],
    });
    expect(attributes.coverage).toBe('incomplete');
  }, 120_000);

  it('checks the next image completely once the real ALAS updateinfo files are synced', async () => {
    const fixtures = path.join(
      dataDir(),
      'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures',
    );
    const [synced] = await syncLocalFeed(state, fixtures, deployment.env);
    expect(synced).toMatchObject({ status: 'complete', written: 5 });
    const digest = await pushAl2023('after', 'pushed after ALAS was synced\n');
    const { body, attributes } = await completed(digest);
    expect(body.coverage).toEqual({ complete: true, gaps: [] });
    expect(attributes.coverage).toBe('complete');
    // rsyslog 8.2204.0-3.amzn2023.0.2 is ALAS2023-2023-001's fix: nothing to report.
    expect(body.summary.total).toBe(0);
  }, 120_000);
});
