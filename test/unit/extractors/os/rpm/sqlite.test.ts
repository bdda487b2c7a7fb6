import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rpmSqlite, sourceRpmName } from '../../../../../shared/extractors/os/rpm/sqlite.js';
import { dataDir } from '../../../../support/fixtures.js';

const MARINER = path.join(dataDir(), 'pkgdbs/go-rpmdb/pkg/testdata/cbl-mariner-2.0');

describe('os/rpm/sqlite', () => {
  it('reads the 129 packages of the CBL-Mariner 2.0 database, the names its own Name index lists', async () => {
    const { packages, issues } = await rpmSqlite.extract(
      'var/lib/rpm/rpmdb.sqlite',
      readFileSync(path.join(MARINER, 'rpmdb.sqlite')),
    );
    expect(issues).toEqual([]);
    const names = readFileSync(path.join(MARINER, 'names-from-sqlite-Name-index.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(packages.map((p) => p.name).sort()).toEqual([...names].sort());
    expect(packages).toHaveLength(129);
  });

  it("reads curl as go-rpmdb's test expects it (name, version-release, arch, source RPM, license, files)", async () => {
    const { packages } = await rpmSqlite.extract(
      'var/lib/rpm/rpmdb.sqlite',
      readFileSync(path.join(MARINER, 'rpmdb.sqlite')),
    );
    const curl = packages.find((p) => p.name === 'curl');
    expect(curl).toMatchObject({
      type: 'rpm',
      version: '7.76.0-6.cm2',
      arch: 'x86_64',
      sourceName: 'curl',
      licenses: ['MIT'],
    });
    expect(curl?.files).toContain('usr/bin/curl');
  });

  it('records a database that is not SQLite instead of failing', async () => {
    const { packages, issues } = await rpmSqlite.extract(
      'var/lib/rpm/rpmdb.sqlite',
      Buffer.from('SQLite format 3\0 but not really'),
    );
    expect(packages).toEqual([]);
    expect(issues[0]?.message).toMatch(
      /^var\/lib\/rpm\/rpmdb\.sqlite: not an rpm SQLite database: /,
    );
    const noTable = readFileSync(
      path.join(dataDir(), 'pkgdbs/claircore/internal/rpm/sqlite/testdata/no_packages.sqlite'),
    );
    expect(
      (await rpmSqlite.extract('var/lib/rpm/rpmdb.sqlite', noTable)).issues[0]?.message,
    ).toMatch(/no such table: Packages/);
  });

  it('names source packages from source RPM file names', () => {
    expect(sourceRpmName('curl-7.76.0-6.cm2.src.rpm')).toBe('curl');
    expect(sourceRpmName('python3-urllib3-1.26.5-3.el9.src.rpm')).toBe('python3-urllib3');
    expect(sourceRpmName('odd.src.rpm')).toBeUndefined();
  });

  it('refuses a header blob over 32 MiB unread, keeping the real packages beside it', async () => {
    // Issue 17 #7: a 48 MiB header (under the 64 MiB file limit) cost 17 s and 1.1 GB. The
    // real Mariner database gets one more row of 33 MiB (SQLite's zeroblob: binding that many
    // bytes through sql.js takes seconds).
    const { default: init } = await import('sql.js/dist/sql-wasm-inline.js');
    const SQL = await init();
    const db = new SQL.Database(readFileSync(path.join(MARINER, 'rpmdb.sqlite')));
    const size = 33 * 1024 * 1024;
    db.run(`INSERT INTO Packages (hnum, blob) VALUES (999999, zeroblob(${size}))`);
    const mutated = Buffer.from(db.export());
    db.close();
    const { packages, issues } = await rpmSqlite.extract('var/lib/rpm/rpmdb.sqlite', mutated);
    expect(packages).toHaveLength(129);
    expect(issues.map((i) => i.message)).toEqual([
      `var/lib/rpm/rpmdb.sqlite: package 999999: header of ${size} bytes, over 33554432; skipped`,
    ]);
  }, 30_000);
});
