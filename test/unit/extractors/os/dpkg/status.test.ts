import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dpkgStatus } from '../../../../../shared/extractors/os/dpkg/status.js';
import {
  EXTRACTOR_SET_ID,
  EXTRACTORS,
  extractorsFor,
} from '../../../../../shared/extractors/registry.js';
import { dataDir } from '../../../../support/fixtures.js';

const PKGDBS = path.join(dataDir(), 'pkgdbs');

describe('os/dpkg/status', async () => {
  it('finds all 728 installed packages of a real Debian 12 system, versions and architectures exactly as dpkg-query -W', async () => {
    const file = path.join(PKGDBS, 'local-debian12/var/lib/dpkg/status');
    const { packages, issues } = await dpkgStatus.extract(
      'var/lib/dpkg/status',
      readFileSync(file),
    );
    const truth = readFileSync(
      path.join(PKGDBS, 'local-debian12/expected/dpkg-query-W.tsv'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split('\t'))
      .filter((cols) => (cols[4] ?? '').startsWith('ii'))
      // dpkg-query names Multi-Arch: same packages `name:arch`; the status file does not.
      .map((cols) => `${(cols[0] ?? '').replace(/:[^:]+$/, '')} ${cols[1]} ${cols[3]}`);
    expect(truth).toHaveLength(728);
    expect(packages.map((p) => `${p.name} ${p.version} ${p.arch}`).sort()).toEqual(truth.sort());
    expect(issues).toEqual([]);
    // Source packages, with their own version where dpkg records one (binNMUs).
    expect(packages.find((p) => p.name === 'libssl3')).toMatchObject({ sourceName: 'openssl' });
    const binNmu = packages.find((p) => p.sourceVersion !== p.version);
    expect(binNmu?.sourceVersion).toBeDefined();
  });

  it('reads the 357 packages of an Ubuntu 18.04 image with texlive', async () => {
    const file = path.join(PKGDBS, 'claircore/dpkg/testdata/texlive.status');
    expect(
      (await dpkgStatus.extract('var/lib/dpkg/status', readFileSync(file))).packages,
    ).toHaveLength(357);
  });

  it('reads distroless status.d entries, one file per package', async () => {
    const dir = path.join(
      PKGDBS,
      'syft/syft/pkg/cataloger/debian/testdata/image-distroless-deb/var/lib/dpkg/status.d',
    );
    expect(dpkgStatus.required('var/lib/dpkg/status.d/libsqlite3-0', 100)).toBe(true);
    expect(dpkgStatus.required('var/lib/dpkg/status.d/libsqlite3-0.md5sums', 100)).toBe(false);
    const { packages } = await dpkgStatus.extract(
      'var/lib/dpkg/status.d/libsqlite3-0',
      readFileSync(path.join(dir, 'libsqlite3-0')),
    );
    expect(packages.map((p) => [p.name, p.sourceName])).toEqual([['libsqlite3-0', 'sqlite3']]);
    expect(readdirSync(dir)).toContain('libsqlite3-0');
  });

  it('skips packages that are not installed, and records a paragraph it cannot use', async () => {
    const text = Buffer.from(
      [
        'Package: gone',
        'Status: deinstall ok config-files',
        'Version: 1.0-1',
        '',
        'Package: broken',
        'Status: install ok installed',
        '',
        'Package: weird',
        'Status: install ok installed',
        'Version: 1:',
        '',
      ].join('\n'),
    );
    const { packages, issues } = await dpkgStatus.extract('var/lib/dpkg/status', text);
    expect(packages).toEqual([]);
    expect(issues.map((i) => i.message)).toEqual([
      'var/lib/dpkg/status:5: paragraph without Version; skipped',
      'var/lib/dpkg/status:8: weird: invalid dpkg version "1:": upstream version is empty; skipped',
    ]);
  });
});

describe('extractor registry', async () => {
  it('lists each extractor once, with an id@version set that keys the layer cache', async () => {
    const ids = EXTRACTORS.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([
      'os/dpkg/status',
      'os/dpkg/files',
      'os/apk/installed',
      'os/rpm/sqlite',
      'os/rpm/ndb',
      'os/rpm/bdb',
      'language/npm/installed',
      'language/npm/lockfile',
      'language/python/installed',
      'language/ruby/gemspec',
      'language/php/composer',
      'language/dotnet/deps',
      'language/java/archive',
      'binary/go/buildinfo',
      'binary/rust/auditable',
    ]);
    expect(EXTRACTOR_SET_ID).toMatch(/^[a-f0-9]{32}$/);
    expect(extractorsFor('lib/apk/db/installed', 10).map((e) => e.id)).toEqual([
      'os/apk/installed',
    ]);
    expect(extractorsFor('usr/bin/ls', 10)).toEqual([]);
    expect(extractorsFor('var/lib/dpkg/info/libc6:amd64.list', 10).map((e) => e.id)).toEqual([
      'os/dpkg/files',
    ]);
  });
});

describe('docs/extractors.md', () => {
  it('lists every registered extractor', async () => {
    const { readFileSync: read } = await import('node:fs');
    const { PROJECT_ROOT } = await import('../../../../support/fixtures.js');
    const doc = read(`${PROJECT_ROOT}/docs/extractors.md`, 'utf8');
    for (const e of EXTRACTORS) expect(doc, e.id).toMatch(new RegExp(`\\| \`${e.id}\`\\s+\\|`));
  });
});
