import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlpineSecdbImporter } from '../../../shared/advisories/importers/alpine-secdb.js';
import { parseApkInstalled } from '../../../shared/extractors/os/apk/database.js';
import {
  alpineEcosystem,
  parseOsRelease,
} from '../../../shared/extractors/os/release/os-release.js';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { walkImage } from '../../../shared/inventory/walk.js';
import { readerId } from '../../../shared/layers/reader-id.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { dataDir } from '../../support/fixtures.js';

const WANTED = new Set(['lib/apk/db/installed', 'etc/os-release']);

async function scanAlpine(release: '310' | '311') {
  const archive = path.join(
    dataDir(),
    `pkgdbs/trivy/pkg/fanal/test/testdata/alpine-${release}.tar.gz`,
  );
  const { images } = await new DockerArchiveSource(archive).images();
  const walk = await walkImage(
    images[0] as NonNullable<(typeof images)[0]>,
    (e) => WANTED.has(e.path),
    { reader: readerId([{ id: 'os/apk/installed', version: 1 }]) },
  );
  const ecosystem = alpineEcosystem(
    parseOsRelease(walk.tree.read('etc/os-release')?.toString() ?? ''),
  );
  const db = parseApkInstalled(walk.tree.read('lib/apk/db/installed')?.toString() ?? '');
  const secdb = new AlpineSecdbImporter();
  const branch = `v3.${release.slice(1)}`;
  for (const repo of ['main', 'community']) {
    secdb.add(
      readFileSync(
        path.join(dataDir(), 'advisories/alpine-secdb-legacy', branch, `${repo}.yaml`),
        'utf8',
      ),
      `${branch}/${repo}.yaml`,
    );
  }
  const index = new MemoryAdvisoryIndex();
  for (const r of secdb.osv()) index.add(r);
  const packages = db.packages.map((p) => ({
    name: p.name,
    version: p.version,
    ecosystem: ecosystem ?? 'unknown',
    ...(p.origin === undefined ? {} : { sourceName: p.origin }),
  }));
  return { ecosystem, db, secdb, index, result: await matchPackages(packages, index) };
}

describe('Alpine images end to end (inventory + secdb)', () => {
  it("inventories the 14 packages of alpine:3.10 that trivy's golden list names, with their origins", async () => {
    const { ecosystem, db } = await scanAlpine('310');
    expect(ecosystem).toBe('Alpine:v3.10');
    const golden = JSON.parse(
      readFileSync(
        path.join(
          dataDir(),
          'pkgdbs/trivy/pkg/fanal/test/integration/testdata/goldens/packages/alpine-310.json.golden',
        ),
        'utf8',
      ),
    ) as { Name: string; Version: string; SrcName: string }[];
    expect(db.packages.map((p) => `${p.name} ${p.origin}`).sort()).toEqual(
      golden.map((g) => `${g.Name} ${g.SrcName}`).sort(),
    );
    // The golden was made from an earlier 3.10 image (busybox 1.30.1-r2, openssl 1.1.1c-r0);
    // this archive is 3.10.4. Its versions are those its own apk database records.
    const installed = readFileSync(
      path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310/lib/apk/db/installed'),
      'utf8',
    );
    for (const p of db.packages) expect(installed).toContain(`P:${p.name}\nV:${p.version}\n`);
    expect(db.packages.find((p) => p.name === 'busybox')?.version).toBe('1.30.1-r3');
    expect(db.issues).toEqual([]);
  });

  it('finds no vulnerability in alpine:3.10 or 3.11: every package is at or past its last secdb fix', async () => {
    // Checked by hand against alpine-secdb-legacy (its last commit is from 2020-06):
    //  v3.10 musl: CVE-2019-14697 fixed in 1.1.22-r3, installed 1.1.22-r3.
    //  v3.10 openssl (libcrypto1.1, libssl1.1): last fix 1.1.1d-r0 (CVE-2019-1547/1549/1563), installed 1.1.1d-r2.
    //  v3.10 busybox (busybox, ssl_client): last fix 1.30.1-r2 (CVE-2019-5747), installed 1.30.1-r3.
    //  v3.11 musl, openssl and busybox have no secfixes newer than what the image carries.
    for (const release of ['310', '311'] as const) {
      const { result, index } = await scanAlpine(release);
      expect(index.size).toBeGreaterThan(1800);
      expect(result.findings).toEqual([]);
      expect(result.issues).toEqual([]);
    }
  });

  it('matches by source package: an older musl of the same release would be affected', async () => {
    const { index } = await scanAlpine('310');
    // The release's own records say so: CVE-2019-14697 is fixed in musl 1.1.22-r3, so the
    // 1.1.22-r2 that Alpine 3.10.0 shipped is affected (https://security.alpinelinux.org/vuln/CVE-2019-14697).
    const result = await matchPackages(
      [{ name: 'musl-utils', version: '1.1.22-r2', ecosystem: 'Alpine:v3.10', sourceName: 'musl' }],
      index,
    );
    expect(result.findings.map((f) => [f.id, f.ids, f.fixedVersion])).toEqual([
      ['CVE-2019-14697', ['ALPINE-CVE-2019-14697', 'CVE-2019-14697'], '1.1.22-r3'],
    ]);
  });

  it('imports every secdb release file, recording entries it cannot read', () => {
    const secdb = new AlpineSecdbImporter();
    const root = path.join(dataDir(), 'advisories/alpine-secdb-legacy');
    let files = 0;
    for (const branch of [
      'v3.3',
      'v3.4',
      'v3.5',
      'v3.6',
      'v3.7',
      'v3.8',
      'v3.9',
      'v3.10',
      'v3.11',
    ]) {
      for (const repo of ['main', 'community']) {
        const file = path.join(root, branch, `${repo}.yaml`);
        try {
          secdb.add(readFileSync(file, 'utf8'), `${branch}/${repo}.yaml`);
          files++;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
    expect(files).toBe(18);
    const records = secdb.osv();
    expect(records.length).toBeGreaterThan(2000);
    // Besides versions that are not apk versions: the words Alpine wrote beside ids that are
    // no ids (a placeholder beside Xen advisories, a mitigation's name).
    const notIds = secdb.issues
      .filter((i) => !/is not an apk version; skipped$/.test(i.message))
      .map((i) => /: "([^"]+)" in .* is not a vulnerability id; skipped$/.exec(i.message)?.[1]);
    expect(new Set(notIds)).toEqual(new Set(['CVE-????-?????', 'XPTI']));
    const ids = new Set(records.map((r) => r.id));
    expect(ids.has('ALPINE-CVE-2019-2426')).toBe(true);
    expect(ids.has('ALPINE-CVE-2018-16859')).toBe(true);
    const sample = records.find((r) => r.id === 'ALPINE-CVE-2019-14697');
    expect(sample?.affected?.map((a) => `${a.package?.ecosystem} ${a.package?.name}`)).toContain(
      'Alpine:v3.10 musl',
    );
  });
});
