/**
 * Amazon Linux 2023 through the scan function on the local stack: an image pushed to the local
 * registry (the real AL2023 os-release, and an rpm database rpm itself writes with the rsyslog
 * release ALAS2023-2023-001 names as its fix) reaches the scan function through the webhook.
 * Before the advisory table holds any ALAS, SCAN_COMPLETED says the image's packages were not
 * checked; once the real updateinfo files are synced into the table (as the feed sync does), the
 * next image is checked completely and its fixed rsyslog is not reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncLocalFeed } from '../../scripts/local/feed.js';
import { dataDir } from '../support/fixtures.js';
import { LocalFamilyStack } from '../support/local-images.js';

const state = inject('localStack');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-amazon-e2e-'));
let stack: LocalFamilyStack;

beforeAll(async () => {
  stack = await LocalFamilyStack.start(state, 'amazon-e2e', work);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Pushes an AL2023 image (with `extra` in a second layer); returns its digest. */
const pushAl2023 = (tag: string, extra: string) =>
  stack.pushRpmImage({
    repository: 'amazon/app',
    tag,
    osRelease: path.join(
      dataDir(),
      'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release',
    ),
    packages: [{ name: 'rsyslog', version: '8.2204.0', release: '3.amzn2023.0.2' }],
    extra,
  });

const completed = (digest: string) => stack.eventOf('SCAN_COMPLETED', digest);

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
    const [synced] = await syncLocalFeed(state, fixtures, stack.deployment.env);
    expect(synced).toMatchObject({ status: 'complete', written: 5 });
    const digest = await pushAl2023('after', 'pushed after ALAS was synced\n');
    const { body, attributes } = await completed(digest);
    expect(body.coverage).toEqual({ complete: true, gaps: [] });
    expect(attributes.coverage).toBe('complete');
    // rsyslog 8.2204.0-3.amzn2023.0.2 is ALAS2023-2023-001's fix: nothing to report.
    expect(body.summary.total).toBe(0);
  }, 120_000);
});
