/**
 * One effective severity per finding (shared/matcher/rating.ts), on real records: an advisory
 * without a score takes NVD's rating of its CVE (NVD's real API responses), a distribution's own
 * word wins over the CVSS beside it (Ubuntu's `negligible`), Debian's tracker urgency wins over
 * NVD, and a CVE CISA lists as known exploited carries it (the whole real KEV catalog).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianTrackerFacts } from '../../../shared/advisories/importers/debian-tracker.js';
import { kevFacts } from '../../../shared/advisories/importers/kev.js';
import { nvdFactsOfPage } from '../../../shared/advisories/importers/nvd.js';
import { loadAdvisories } from '../../../shared/advisories/load.js';
import { type OsvRecord, parseOsv } from '../../../shared/advisories/osv.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { rateFinding } from '../../../shared/matcher/rating.js';
import type { InventoryPackage } from '../../../shared/matcher/types.js';
import { dataDir } from '../../support/fixtures.js';

const adv = (p: string) => path.join(dataDir(), 'advisories', p);
const osv = (p: string): OsvRecord => parseOsv(JSON.parse(readFileSync(adv(p), 'utf8')), p);
const nvd = (p: string) => nvdFactsOfPage(readFileSync(adv(p), 'utf8'), p, []).facts;
const kev = () =>
  kevFacts(readFileSync(adv('cisa-kev/known_exploited_vulnerabilities.json'), 'utf8'), 'kev', [])
    .facts;

function index(records: readonly OsvRecord[], facts: ReturnType<typeof nvd> = []) {
  const i = new MemoryAdvisoryIndex();
  for (const r of records) i.add(r);
  for (const f of facts) i.addCveFact(f);
  return i;
}

const rpm = (ecosystem: string, name: string, version: string): InventoryPackage => ({
  ecosystem,
  name,
  version,
});

describe('severity', () => {
  // AlmaLinux's ALSA-2023:5214 (libwebp) names CVE-2023-4863 and carries no rating.
  const alsa = osv('almalinux-osv/advisories/almalinux9/ALSA-2023:5214.json');
  const libwebp = rpm('AlmaLinux:9', 'libwebp', '1.2.0-6.el9_2');

  it("leaves a finding no source rates UNKNOWN, and takes NVD's rating of its CVE once NVD is synced", async () => {
    const before = await matchPackages([libwebp], index([alsa]));
    expect(before.findings.map((f) => [f.id, f.severity.severity, f.severities])).toEqual([
      ['CVE-2023-4863', 'UNKNOWN', []],
    ]);
    const after = await matchPackages(
      [libwebp],
      index([alsa], nvd('osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0/CVE-2023-4863.json')),
    );
    const [finding] = after.findings;
    // NVD's own (Primary) CVSS 3.1 rating.
    expect(finding?.severity).toEqual({
      severity: 'HIGH',
      score: 8.8,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H',
      source: 'CVSS_V3',
      by: 'NVD',
    });
    // The only rating any source gives it.
    expect(finding?.severities).toEqual([finding?.severity]);
  });

  it('marks a CVE in CISA KEV as known exploited', async () => {
    const { findings } = await matchPackages([libwebp], index([alsa], kev()));
    expect(findings[0]?.kev).toMatchObject({ dateAdded: '2023-09-13' });
  });

  it("keeps a distribution's own word over the CVSS beside it: Ubuntu's negligible is LOW", async () => {
    const record = osv(
      'osv-samples-misc/anchore__vunnel/tests/unit/providers/ubuntu/test-fixtures/osv/cve/2016/UBUNTU-CVE-2016-20013.json',
    );
    const entry = record.affected?.find((a) => a.package?.ecosystem === 'Ubuntu:14.04:LTS');
    const pkg: InventoryPackage = {
      ecosystem: 'Ubuntu:14.04:LTS',
      name: entry?.package?.name as string,
      version: '0',
    };
    const { findings } = await matchPackages([pkg], index([record]));
    expect(findings.map((f) => [f.id, f.severity.severity, f.severity.by])).toEqual([
      ['CVE-2016-20013', 'LOW', 'Ubuntu'],
    ]);
  });

  it("takes Debian's urgency over NVD's score: apparmor's unimportant CVE-2016-1585 is LOW", () => {
    const [debian] = debianTrackerFacts(
      readFileSync(
        adv('osv-dev-vulnfeeds/vulnfeeds/test_data/debian/debian_security_tracker_mock.json'),
        'utf8',
      ),
      'tracker',
      [],
    ).filter((f) => f.cve === 'CVE-2016-1585');
    const [score] = nvd('osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0/CVE-2016-1585.json');
    // What the matcher gives a Debian record with no rating of its own (DEBIAN-CVE-…).
    const unrated = [{ severity: 'UNKNOWN' as const, source: 'none', by: 'Debian' }];
    const facts = [{ debian: debian?.facts, nvd: score?.facts }] as Parameters<
      typeof rateFinding
    >[1];
    const rated = rateFinding(unrated, facts, {
      ecosystem: 'Debian:12',
      name: 'apparmor',
      ids: ['CVE-2016-1585'],
    });
    expect(rated.severity).toMatchObject({ severity: 'LOW', by: 'Debian' });
    // NVD rates it CRITICAL: listed, not chosen.
    expect(rated.severities).toContainEqual(
      expect.objectContaining({ by: 'NVD', severity: 'CRITICAL' }),
    );
    // Without Debian's word, NVD's is the rating.
    const noTracker = rateFinding(unrated, [{ nvd: score?.facts }] as typeof facts, {
      ecosystem: 'Debian:12',
      name: 'apparmor',
      ids: ['CVE-2016-1585'],
    });
    expect(noTracker.severity).toMatchObject({ severity: 'CRITICAL', by: 'NVD' });
  });

  it("rates a language package by its database first (GHSA's CVSS), NVD only when it has none", async () => {
    // PyPA's PYSEC-2022-257 (nvflare) carries no severity: NVD's rating of CVE-2022-34668.
    const pysec = loadAdvisories(
      adv('pypa-advisory-database/vulns/nvflare/PYSEC-2022-257.yaml'),
    ).records;
    const pkg: InventoryPackage = {
      ecosystem: 'PyPI',
      name: 'nvflare',
      version: '2.0.0',
    };
    const { findings } = await matchPackages(
      [pkg],
      index(pysec, nvd('osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0/CVE-2022-34668.json')),
    );
    expect(findings.map((f) => [f.id, f.severity.severity, f.severity.by])).toEqual([
      ['CVE-2022-34668', 'CRITICAL', 'NVD'],
    ]);
  });
});
