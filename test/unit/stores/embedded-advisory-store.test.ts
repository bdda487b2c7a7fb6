import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOsv } from '../../../shared/advisories/osv.js';
import { aliasesOf, contentHash, packageKeysOf } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { LogFile } from '../../../shared/stores/embedded/log-file.js';
import { advisoryStoreContract } from '../../contract/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

advisoryStoreContract('embedded', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-store-'));
  return {
    store: EmbeddedAdvisoryStore.open(dir),
    reopen: async () => EmbeddedAdvisoryStore.open(dir),
  };
});

// The same contract with a log written out every few KB: lookups go through segments, their
// Bloom filters, deletions in newer segments and tier merges.
advisoryStoreContract('embedded, through segments', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-store-seg-'));
  const options = { flushBytes: 4096, closeFlushBytes: 0 };
  return {
    store: EmbeddedAdvisoryStore.open(dir, 'write', options),
    reopen: async () => EmbeddedAdvisoryStore.open(dir, 'read', options),
  };
});

describe('an embedded store written before its indexes were stored', () => {
  const real = (relative: string) =>
    parseOsv(
      JSON.parse(readFileSync(path.join(dataDir(), 'advisories', relative), 'utf8')),
      relative,
    );
  const records = [
    real('rustsec-osv/crates/RUSTSEC-2016-0001.json'),
    real('almalinux-osv/advisories/almalinux9/ALBA-2022:8256.json'),
    real('rustsec-osv/crates/RUSTSEC-2020-0053.json'),
  ];

  /** The folder as the earlier code left it: one log of records and heads, nothing else. */
  function legacyStore(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'bosun-store-legacy-'));
    const log = LogFile.open(dir, 'advisories');
    log.commit(
      records.flatMap((r) => [
        [`r/${r.id}`, r] as const,
        [
          `h/${r.id}`,
          {
            hash: contentHash(r),
            source: 'osv:test',
            packageKeys: packageKeysOf(r),
            aliases: aliasesOf(r),
            withdrawn: r.withdrawn !== undefined,
          },
        ] as const,
      ]),
    );
    log.close();
    return dir;
  }

  it('is indexed once when a reader first opens it, and then answers as a new one', async () => {
    const dir = legacyStore();
    const store = EmbeddedAdvisoryStore.open(dir, 'read');
    const openssl = await store.candidates('crates.io', 'openssl');
    expect(openssl.map((c) => c.record.id)).toContain('RUSTSEC-2016-0001');
    expect(await store.hasEcosystem('AlmaLinux:9')).toBe(true);
    expect(await store.hasEcosystem('npm')).toBe(false);
    expect(await store.idsByAlias('CVE-2016-10931')).toEqual(['RUSTSEC-2016-0001']);
    const stats = await store.stats();
    expect(stats.advisories).toBe(3);
    expect(stats.withdrawn).toBe(1);
    await store.close();
    // No lock is left behind, and a second open has nothing to index.
    expect(readdirSync(dir).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
