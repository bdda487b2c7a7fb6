/**
 * A CVE feed update on the local stack: two AlmaLinux 9 images are scanned against the real
 * ALSA-2023:5214 (libwebp, no rating of its own), one with libwebp below its fix and one at it.
 * Then NVD's real record of CVE-2023-4863 and CISA's real KEV catalog are synced into the
 * advisory table, as the scheduled feed sync does: the rescan of libwebp announces exactly one
 * SEVERITY_CHANGED, for the affected image (UNKNOWN to NVD's HIGH, known exploited), with a `kev`
 * attribute a subscriber can filter on, and nothing for the image at the fix.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncLocalFeed } from '../../scripts/local/feed.js';
import { dataDir } from '../support/fixtures.js';
import { LocalFamilyStack } from '../support/local-images.js';

const state = inject('localStack');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-severity-e2e-'));
let stack: LocalFamilyStack;

beforeAll(async () => {
  stack = await LocalFamilyStack.start(state, 'severity-e2e', work);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A folder of links to real advisory and CVE feed files (nothing copied). */
function folder(name: string, files: readonly string[]): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const f of files)
    symlinkSync(path.join(dataDir(), 'advisories', f), path.join(dir, path.basename(f)));
  return dir;
}

const push = (tag: string, release: string) =>
  stack.pushRpmImage({
    repository: 'alma/app',
    tag,
    osRelease: path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata/alma'),
    packages: [{ name: 'libwebp', version: '1.2.0', release }],
    extra: `${tag}\n`,
  });

describe('a CVE feed update on the local stack', () => {
  it('announces one SEVERITY_CHANGED for the affected image and nothing for the other', async () => {
    const [alsa] = await syncLocalFeed(
      state,
      folder('alsa', ['almalinux-osv/advisories/almalinux9/ALSA-2023:5214.json']),
      stack.deployment.env,
    );
    expect(alsa).toMatchObject({ status: 'complete', written: 1 });
    const affected = await push('affected', '6.el9_2');
    const fixed = await push('fixed', '7.el9_2');
    const found = await stack.eventOf('FINDINGS_NEW', affected);
    expect(found.body.findings.map((f) => [f.id, f.severity])).toEqual([
      ['CVE-2023-4863', 'UNKNOWN'],
    ]);
    expect(found.attributes.kev).toBe('false');
    await stack.eventOf('SCAN_COMPLETED', fixed);

    const [facts] = await syncLocalFeed(
      state,
      folder('facts', [
        'osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0/CVE-2023-4863.json',
        'cisa-kev/known_exploited_vulnerabilities.json',
      ]),
      stack.deployment.env,
    );
    expect(facts).toMatchObject({ status: 'complete' });
    const changed = await stack.eventOf('SEVERITY_CHANGED', affected);
    expect(changed.body.trigger).toBe('rescan');
    expect(changed.body.findings.map((f) => [f.id, f.severity, f.kev?.dateAdded])).toEqual([
      ['CVE-2023-4863', 'HIGH', '2023-09-13'],
    ]);
    expect(changed.attributes).toMatchObject({ maxSeverity: 'HIGH', kev: 'true' });
    // Give any further message time to arrive: there must be none.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await stack.poll();
    expect(stack.of('SEVERITY_CHANGED', affected)).toHaveLength(1);
    // Nothing about its findings but the scan's own message (its image checks aside).
    expect(
      stack.received
        .filter((r) => r.body.image.digest === fixed && !r.body.eventType.startsWith('CHECKS_'))
        .map((r) => r.body.eventType),
    ).toEqual(['SCAN_COMPLETED']);
  }, 240_000);
});
