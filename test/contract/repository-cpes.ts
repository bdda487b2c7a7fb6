/**
 * The repository-to-CPE half of the advisory store contract (putRepositoryCpes and
 * repositoryCpes), run against each adapter on the whole real mapping and on that mapping with
 * documented edits (Red Hat's next file drops, changes and adds repositories).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  importRepositoryToCpe,
  type RepositoryCpes,
} from '../../shared/advisories/importers/redhat-repository-to-cpe.js';
import type { AdvisoryStore } from '../../shared/stores/advisory-store.js';
import { dataDir } from '../support/fixtures.js';
import type { StoreUnderTest } from './advisory-store.js';

/** The whole real mapping (10,106 repositories). */
export function realRepositoryCpes(): Map<string, string[]> {
  const file = path.join(dataDir(), 'advisories/redhat-repository-to-cpe/repository-to-cpe.json');
  const mapping = importRepositoryToCpe(readFileSync(file), file, []);
  if (mapping === undefined) throw new Error(`${file} is not a repository-to-CPE mapping`);
  return mapping;
}

/**
 * The real mapping as a next file might be: two repositories dropped, one's CPEs changed to
 * another real repository's, one added under a new id with real CPEs.
 */
export function editedRepositoryCpes(): Map<string, string[]> {
  const next = realRepositoryCpes();
  next.delete('rhel-8-for-x86_64-appstream-rpms');
  next.delete('cf-me-5.1-for-rhel-5-rpms');
  next.set('rhel-8-for-x86_64-baseos-rpms', [
    'cpe:/o:redhat:enterprise_linux:8::baseos',
    'cpe:/o:redhat:rhel_eus:8.8::baseos',
  ]);
  next.set('rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_6', ['cpe:/o:redhat:rhel_eus:9.6::baseos']);
  return next;
}

/** The probe ids: in both mappings, changed, dropped, added, and in neither. */
export const PROBES = [
  'rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4',
  'rhel-8-for-x86_64-baseos-rpms',
  'rhel-8-for-x86_64-appstream-rpms',
  'cf-me-5.1-for-rhel-5-rpms',
  'rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_6',
  'rhel-9-for-x86_64-rt-rpms__9_DOT_4',
] as const;

/** What a lookup of `ids` answers from `mapping`. */
export function expectedLookup(mapping: RepositoryCpes, ids: readonly string[]) {
  return new Map(ids.flatMap((id) => (mapping.has(id) ? [[id, mapping.get(id)]] : [])));
}

async function everyRepository(store: AdvisoryStore, mapping: RepositoryCpes): Promise<void> {
  const ids = [...mapping.keys()];
  expect(await store.repositoryCpes(ids)).toEqual(new Map(mapping));
}

export function repositoryCpesContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} advisory store: Red Hat's repository-to-CPE mapping`, () => {
    it('an empty store names no repository', async () => {
      const { store } = await open();
      expect(await store.repositoryCpes([...PROBES])).toEqual(new Map());
      await store.close();
    });

    it('stores the whole real mapping, reads it back from another instance, and writes only what a new file changes', async () => {
      const { store, reopen } = await open();
      const first = realRepositoryCpes();
      expect(await store.putRepositoryCpes(first)).toEqual({ put: 10_106, deleted: 0 });
      const again = await reopen();
      await everyRepository(again, first);
      expect(await again.repositoryCpes([...PROBES])).toEqual(expectedLookup(first, PROBES));
      // The same file again writes nothing.
      expect(await store.putRepositoryCpes(realRepositoryCpes())).toEqual({ put: 0, deleted: 0 });
      const next = editedRepositoryCpes();
      expect(await store.putRepositoryCpes(next)).toEqual({ put: 2, deleted: 2 });
      const later = await reopen();
      expect(await later.repositoryCpes([...PROBES])).toEqual(expectedLookup(next, PROBES));
      await everyRepository(later, next);
      expect(await later.repositoryCpes(['cf-me-5.1-for-rhel-5-rpms'])).toEqual(new Map());
      await later.close();
      await again.close();
      await store.close();
    });
  });
}
