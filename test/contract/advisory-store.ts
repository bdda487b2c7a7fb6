/**
 * The advisory store contract: every adapter passes the same tests (the embedded one in the
 * unit project, DynamoDB Local in the integration project). Records are real shared advisories.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CveFact, cveFactHash, cveFactKey } from '../../shared/advisories/cve-facts.js';
import { importUpdateInfo } from '../../shared/advisories/importers/alas.js';
import { type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import {
  type AdvisoryStore,
  contentHash,
  type StoredAdvisory,
} from '../../shared/stores/advisory-store.js';
import { dataDir } from '../support/fixtures.js';

export interface StoreUnderTest {
  readonly store: AdvisoryStore;
  /** Another instance over the same data, as a later process would open it. */
  reopen(): Promise<AdvisoryStore>;
}

function real(relative: string): OsvRecord {
  const file = path.join(dataDir(), 'advisories', relative);
  return parseOsv(JSON.parse(readFileSync(file, 'utf8')), relative);
}

const stored = (record: OsvRecord, source = 'test'): StoredAdvisory => ({
  id: record.id,
  hash: contentHash(record),
  source,
  record,
});

export function advisoryStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} advisory store contract`, () => {
    const openssl = real('rustsec-osv/crates/RUSTSEC-2016-0001.json');
    const qatzip = real('almalinux-osv/advisories/almalinux9/ALBA-2022:8256.json');
    const withdrawn = real('rustsec-osv/crates/RUSTSEC-2020-0053.json');

    it('an empty store has nothing and says so', async () => {
      const { store } = await open();
      expect(await store.heads(['RUSTSEC-2016-0001'])).toEqual(new Map());
      expect(await store.get('RUSTSEC-2016-0001')).toBeUndefined();
      expect(await store.candidates('crates.io', 'openssl')).toEqual([]);
      expect(await store.checkpoint('osv:crates.io')).toBeUndefined();
      expect(await store.stats()).toEqual({ advisories: 0, withdrawn: 0, sources: [] });
      expect(await store.hasEcosystem('crates.io')).toBe(false);
      await store.close();
    });

    it('knows which exact ecosystems its advisories name, also when opened again', async () => {
      const { store, reopen } = await open();
      await store.put([stored(openssl), stored(qatzip)]);
      const check = async (s: AdvisoryStore) => {
        expect(await s.hasEcosystem('crates.io')).toBe(true);
        expect(await s.hasEcosystem('AlmaLinux:9')).toBe(true);
        // Another release of the same distribution is not covered by these.
        expect(await s.hasEcosystem('AlmaLinux:8')).toBe(false);
        expect(await s.hasEcosystem('npm')).toBe(false);
      };
      await check(store);
      await store.close();
      const again = await reopen();
      await check(again);
      await again.close();
    });

    it('returns what was put: heads, records, candidates per package, aliases', async () => {
      const { store, reopen } = await open();
      await store.put([stored(openssl), stored(qatzip), stored(withdrawn)]);
      const heads = await store.heads([openssl.id, qatzip.id, 'NOPE-1']);
      expect([...heads.keys()].sort()).toEqual([qatzip.id, openssl.id]);
      expect(heads.get(qatzip.id)).toEqual({
        hash: contentHash(qatzip),
        packageKeys: ['AlmaLinux:9#qatzip', 'AlmaLinux:9#qatzip-devel', 'AlmaLinux:9#qatzip-libs'],
        withdrawn: false,
        aliases: [],
      });
      expect((await store.heads([withdrawn.id])).get(withdrawn.id)?.withdrawn).toBe(true);
      expect(await store.get(openssl.id)).toEqual(stored(openssl));

      const candidates = await store.candidates('AlmaLinux:9', 'qatzip-libs');
      expect(candidates.map((c) => [c.record.id, c.affected])).toEqual([
        [qatzip.id, qatzip.affected?.find((a) => a.package?.name === 'qatzip-libs')],
      ]);
      expect(candidates[0]?.record.aliases).toEqual(qatzip.aliases);
      expect(await store.candidates('AlmaLinux:8', 'qatzip-libs')).toEqual([]);
      expect(await store.idsByAlias('CVE-2016-10931')).toEqual([openssl.id]);
      expect(await store.idsByAlias('CVE-0000-0000')).toEqual([]);

      const ids: string[] = [];
      for await (const a of store.all()) ids.push(a.id);
      expect(ids.sort()).toEqual([qatzip.id, openssl.id, withdrawn.id].sort());
      expect(await store.stats()).toMatchObject({ advisories: 3, withdrawn: 1 });
      await store.close();

      const again = await reopen();
      expect(await again.get(qatzip.id)).toEqual(stored(qatzip));
      expect((await again.candidates('crates.io', 'openssl')).map((c) => c.record.id)).toEqual([
        openssl.id,
      ]);
      await again.close();
    });

    it('a rewrite drops the packages and aliases the record no longer names', async () => {
      const { store } = await open();
      await store.put([stored(qatzip), stored(openssl)]);
      const fewer: OsvRecord = {
        ...qatzip,
        modified: '2026-11-01T00:00:00Z',
        affected: qatzip.affected?.filter((a) => a.package?.name === 'qatzip'),
      };
      const noAlias: OsvRecord = { ...openssl, aliases: ['GHSA-34p9-f4q3-c4r7'] };
      await store.put([stored(fewer), stored(noAlias)]);
      expect(await store.candidates('AlmaLinux:9', 'qatzip-devel')).toEqual([]);
      expect((await store.candidates('AlmaLinux:9', 'qatzip')).length).toBe(1);
      expect((await store.heads([qatzip.id])).get(qatzip.id)).toEqual({
        hash: contentHash(fewer),
        packageKeys: ['AlmaLinux:9#qatzip'],
        withdrawn: false,
        aliases: [],
      });
      expect(await store.idsByAlias('CVE-2016-10931')).toEqual([]);
      expect(await store.idsByAlias('GHSA-34p9-f4q3-c4r7')).toEqual([openssl.id]);
      expect(await store.stats()).toMatchObject({ advisories: 2 });
      await store.close();
    });

    it('finds an advisory by the CVE it derives from (upstream), not only by its aliases', async () => {
      const { store } = await open();
      const [alas] = importUpdateInfo(
        readFileSync(
          path.join(
            dataDir(),
            'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures/updateinfo_AL2023.xml.gz',
          ),
        ),
        'updateinfo_AL2023.xml.gz',
        [],
      );
      await store.put([stored(alas as OsvRecord)]);
      expect(await store.idsByAlias('CVE-2022-24903')).toEqual(['ALAS2023-2023-001']);
      await store.close();
    });

    it('keeps the newest fact of each kind per CVE with its hash, also when opened again', async () => {
      const { store, reopen } = await open();
      // Real entries of CISA's KEV catalog, as the KEV feed hands them over.
      const catalog = JSON.parse(
        readFileSync(
          path.join(dataDir(), 'advisories/cisa-kev/known_exploited_vulnerabilities.json'),
          'utf8',
        ),
      ) as { vulnerabilities: { cveID: string; dateAdded: string; dueDate: string }[] };
      const [first, second] = catalog.vulnerabilities;
      const kev = (v: NonNullable<typeof first>): CveFact => ({
        kind: 'kev',
        cve: v.cveID,
        facts: { dateAdded: v.dateAdded, dueDate: v.dueDate },
      });
      const a = kev(first as NonNullable<typeof first>);
      const b = kev(second as NonNullable<typeof second>);
      expect(await store.cveFactHashes([a, b])).toEqual(new Map());
      expect(await store.hasCveFacts('kev')).toBe(false);
      await store.putCveFacts([a, b]);
      expect(await store.hasCveFacts('kev')).toBe(true);
      expect(await store.hasCveFacts('epss')).toBe(false);
      const later: CveFact = { ...a, facts: { ...a.facts, dueDate: '2099-01-01' } } as CveFact;
      await store.putCveFacts([later]);
      expect(await store.cveFactHashes([a, b])).toEqual(
        new Map([
          [cveFactKey('kev', a.cve), cveFactHash(later)],
          [cveFactKey('kev', b.cve), cveFactHash(b)],
        ]),
      );
      await store.close();
      const again = await reopen();
      const facts = await again.cveFacts([a.cve, b.cve, 'CVE-1999-0001']);
      expect(facts).toEqual(
        new Map([
          [a.cve, { kev: later.facts }],
          [b.cve, { kev: b.facts }],
        ]),
      );
      await again.close();
    });

    it('keeps a checkpoint per source, cursor and pending changes included', async () => {
      const { store, reopen } = await open();
      const checkpoint = {
        source: 'osv:crates.io',
        fingerprint: 'all.zip:abc',
        watermark: '2026-11-20T10:00:00Z',
        cursor: { fingerprint: 'csv:def', position: 200 },
        pending: [
          { ecosystem: 'crates.io', name: 'openssl', change: 'added' as const, advisoryIds: ['X'] },
        ],
      };
      await store.saveCheckpoint(checkpoint);
      await store.saveCheckpoint({ source: 'osv:Go', fingerprint: 'g' });
      await store.close();
      const again = await reopen();
      expect(await again.checkpoint('osv:crates.io')).toEqual(checkpoint);
      expect((await again.stats()).sources.map((s) => s.source)).toEqual([
        'osv:Go',
        'osv:crates.io',
      ]);
      await again.close();
    });

    it('gives a source lease to one holder at a time until it expires or is released', async () => {
      const { store } = await open();
      expect(await store.acquireLease('osv:Go', 'a', 60_000)).toBe(true);
      expect(await store.acquireLease('osv:Go', 'b', 60_000)).toBe(false);
      expect(await store.acquireLease('osv:PyPI', 'b', 60_000)).toBe(true);
      expect(await store.acquireLease('osv:Go', 'a', 60_000)).toBe(true);
      await store.releaseLease('osv:Go', 'b');
      expect(await store.acquireLease('osv:Go', 'b', 60_000)).toBe(false);
      await store.releaseLease('osv:Go', 'a');
      expect(await store.acquireLease('osv:Go', 'b', 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
      expect(await store.acquireLease('osv:Go', 'c', 60_000)).toBe(true);
      await store.close();
    });
  });
}
