import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { bosun } from '../../support/cli.js';
import { alpine34Rootfs, dataDir } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-db-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const advisories = (relative: string) => path.join(dataDir(), 'advisories', relative);

async function allHashes(dir: string): Promise<Map<string, string>> {
  const store = EmbeddedAdvisoryStore.open(dir, 'read');
  const out = new Map<string, string>();
  for await (const a of store.all()) out.set(a.id, a.hash);
  await store.close();
  return out;
}

describe('bosun db', () => {
  const db = path.join(work, 'db');

  it('syncs from local folders, says when nothing changed, and reports status', () => {
    const first = bosun(
      'db',
      'sync',
      '--db',
      db,
      '--from',
      advisories('alpine-secdb-legacy'),
      '--from',
      advisories('rustsec-osv'),
    );
    expect(first.status, first.stderr).toBe(0);
    // Piped: no progress display, one summary line per source.
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/alpine-secdb-legacy: complete \(full\), 1 read, \d+ written/);
    expect(first.stdout).toMatch(/rustsec-osv: complete \(full\), 1206 read, 1206 written/);
    const again = bosun('db', 'sync', '--db', db, '--from', advisories('rustsec-osv'));
    expect(again.stdout).toMatch(/rustsec-osv: unchanged/);
    const status = JSON.parse(bosun('db', 'status', '--db', db, '--json').stdout) as {
      advisories: number;
      withdrawn: number;
      sources: { source: string; completedAt: string }[];
    };
    expect(status.withdrawn).toBe(13);
    expect(status.sources.map((s) => path.basename(s.source))).toEqual([
      'alpine-secdb-legacy',
      'rustsec-osv',
    ]);
    expect(status.advisories).toBeGreaterThan(1206);
  }, 60_000);

  it('exports to one file that imports into another database with the same content', async () => {
    const file = path.join(work, 'advisories.bosun.gz');
    const exported = bosun('db', 'export', file, '--db', db);
    expect(exported.status, exported.stderr).toBe(0);
    const other = path.join(work, 'imported');
    const imported = bosun('db', 'import', file, '--db', other);
    expect(imported.status, imported.stderr).toBe(0);
    expect(await allHashes(other)).toEqual(await allHashes(db));
    expect(bosun('db', 'import', file, '--db', other).stdout).toMatch(/unchanged/);
  }, 60_000);

  it('refuses a file that is not an export, keeping the database as it was', async () => {
    const before = await allHashes(db);
    const bogus = path.join(work, 'bogus.bosun.gz');
    writeFileSync(bogus, 'not gzip at all');
    const out = bosun('db', 'import', bogus, '--db', db);
    expect(out.status).toBe(3);
    expect(out.stderr).toMatch(/bogus\.bosun\.gz: not a gzip'd export/);
    expect(await allHashes(db)).toEqual(before);
  }, 60_000);

  it('is what `bosun scan` reads when no --advisories is given', () => {
    const rootfs = alpine34Rootfs(work);
    const fromDb = bosun('scan', `dir:${rootfs}`, '--db', db, '--format', 'json');
    const fromFiles = bosun(
      'scan',
      `dir:${rootfs}`,
      '--advisories',
      advisories('alpine-secdb-legacy'),
      '--format',
      'json',
    );
    expect(fromDb.status, fromDb.stderr).toBe(0);
    const findings = (out: string) =>
      (JSON.parse(out) as { images: { findings: unknown[] }[] }).images[0]?.findings;
    expect(findings(fromDb.stdout)).toEqual(findings(fromFiles.stdout));
    expect(findings(fromDb.stdout)).toContainEqual(
      expect.objectContaining({ id: 'CVE-2016-8859', package: 'musl', fixedVersion: '1.1.14-r13' }),
    );

    const empty = bosun('scan', `dir:${rootfs}`, '--db', path.join(work, 'empty'));
    expect(empty.status).toBe(3);
    expect(empty.stderr).toContain('is empty; run `bosun db sync`');
  }, 60_000);
});
