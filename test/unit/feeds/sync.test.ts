import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalFeedSource } from '../../../shared/feeds/sources/local.js';
import { SyncBusyError, syncFeed } from '../../../shared/feeds/sync.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const temp = (name: string) => mkdtempSync(path.join(tmpdir(), `bosun-${name}-`));
const CRATES = () => path.join(dataDir(), 'advisories/rustsec-osv/crates');

describe('syncFeed', () => {
  it('stores records that change no package: the 13 RustSec advisories first seen withdrawn', async () => {
    const feed = temp('withdrawn-feed');
    const withdrawn = readdirSync(CRATES()).filter((f) =>
      readFileSync(path.join(CRATES(), f), 'utf8').includes('"withdrawn"'),
    );
    for (const f of withdrawn) copyFileSync(path.join(CRATES(), f), path.join(feed, f));
    const store = EmbeddedAdvisoryStore.open(temp('withdrawn-db'));
    const result = await syncFeed({ source: new LocalFeedSource(feed), store, batchSize: 5 });
    expect(result).toMatchObject({ status: 'complete', written: 13, changes: [] });
    const heads = await store.heads(withdrawn.map((f) => f.replace(/\.json$/, '')));
    expect([...heads.values()].every((h) => h.withdrawn)).toBe(true);
    expect(heads.size).toBe(13);
    await store.close();
  });

  it('reads a source whole once to index its records by upstream CVEs, changing no package', async () => {
    // Amazon Linux's real updateinfo files: each ALAS names its CVEs in `upstream`.
    const alas = path.join(
      dataDir(),
      'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures',
    );
    const store = EmbeddedAdvisoryStore.open(temp('reindex-db'));
    const source = new LocalFeedSource(alas);
    expect(await syncFeed({ source, store })).toMatchObject({ status: 'complete', written: 5 });
    // A store as one written before upstream CVEs were indexed answers: aliases only, and a
    // checkpoint that does not say its records are indexed.
    const checkpoint = await store.checkpoint(source.id);
    const { aliasesIndexed: _a, ...old } = checkpoint as NonNullable<typeof checkpoint>;
    await store.saveCheckpoint(old);
    const oldHeads: typeof store.heads = async (ids) =>
      new Map([...(await store.heads(ids))].map(([id, h]) => [id, { ...h, aliases: [] }] as const));
    const before = Object.assign(Object.create(store), { heads: oldHeads }) as typeof store;
    // The folder has not changed: only the missing index makes the sync read it again.
    const again = await syncFeed({ source, store: before });
    expect(again).toMatchObject({ status: 'complete', written: 5, changes: [] });
    expect(await store.checkpoint(source.id)).toMatchObject({ aliasesIndexed: true });
    expect(await store.idsByAlias('CVE-2022-24903')).toEqual(['ALAS2023-2023-001']);
    expect(await syncFeed({ source, store })).toMatchObject({ status: 'unchanged' });
    await store.close();
  });

  it('will not run while another holder has the source lease', async () => {
    const store = EmbeddedAdvisoryStore.open(temp('busy-db'));
    const source = new LocalFeedSource(CRATES());
    expect(await store.acquireLease(source.id, 'other-run', 60_000)).toBe(true);
    await expect(syncFeed({ source, store })).rejects.toThrow(SyncBusyError);
    expect(await store.checkpoint(source.id)).toBeUndefined();
    await store.close();
  });
});
