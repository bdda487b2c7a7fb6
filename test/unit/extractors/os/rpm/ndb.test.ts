import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rpmNdb } from '../../../../../shared/extractors/os/rpm/ndb.js';
import { dataDir } from '../../../../support/fixtures.js';

const GO_RPMDB = path.join(dataDir(), 'pkgdbs/go-rpmdb/pkg');

/** go-rpmdb's expected SLE 15 list (Go source, read as data): name, version-release, arch. */
function expected(): string[] {
  const source = readFileSync(path.join(GO_RPMDB, 'rpmdb_testcase_test.go'), 'utf8');
  const block = source.split('SLE15WithNDB = func()')[1]?.split('\n\t}\n')[0] ?? '';
  return [...block.matchAll(/\{intRef\((\d*)\), "([^"]+)", "([^"]+)", "([^"]+)", "([^"]+)"/g)].map(
    (m) => `${m[2]} ${m[1] === '' || m[1] === '0' ? '' : `${m[1]}:`}${m[3]}-${m[4]} ${m[5]}`,
  );
}

describe('os/rpm/ndb', () => {
  it('reads every package of the SUSE SLE 15 BCI database, as go-rpmdb expects', async () => {
    const db = readFileSync(path.join(GO_RPMDB, 'testdata/sle15-bci/Packages.db'));
    const { packages, issues } = await rpmNdb.extract('var/lib/rpm/Packages.db', db);
    expect(issues).toEqual([]);
    const want = expected();
    expect(want.length).toBeGreaterThan(30);
    expect(packages.map((p) => `${p.name} ${p.version} ${p.arch}`).sort()).toEqual(want.sort());
  });

  it('records a file that is not NDB, and a slot whose blob is gone, and reads the rest', async () => {
    const notNdb = await rpmNdb.extract(
      'var/lib/rpm/Packages.db',
      Buffer.from('SQLite format 3\0'),
    );
    expect(notNdb.issues[0]?.message).toBe(
      'var/lib/rpm/Packages.db: not an rpm NDB database (no RpmP header)',
    );
    const db = Buffer.from(readFileSync(path.join(GO_RPMDB, 'testdata/sle15-bci/Packages.db')));
    // Point the first slot past the end of the file.
    db.writeUInt32LE(0x0fffffff, 32 + 8);
    const result = await rpmNdb.extract('var/lib/rpm/Packages.db', db);
    expect(result.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/package 1: blob at \d+ runs past the file; skipped$/),
    ]);
    expect(result.packages.length).toBe(expected().length - 1);
  });
});
