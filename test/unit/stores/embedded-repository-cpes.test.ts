/**
 * The embedded store's repository-to-CPE mapping (the contract in test/contract/repository-cpes.ts),
 * and its one-commit write: a write cut off half-way leaves the old mapping, never a mix.
 */
import { mkdtempSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import {
  editedRepositoryCpes,
  expectedLookup,
  PROBES,
  realRepositoryCpes,
  repositoryCpesContract,
} from '../../contract/repository-cpes.js';

repositoryCpesContract('embedded', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-repo-cpes-'));
  return {
    store: EmbeddedAdvisoryStore.open(dir),
    reopen: async () => EmbeddedAdvisoryStore.open(dir, 'read'),
  };
});

it('a write cut off half-way (the process killed mid-commit) leaves the old mapping whole', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-repo-cpes-'));
  // The log is kept as it is on close (not written out as a segment), to be cut below.
  const store = EmbeddedAdvisoryStore.open(dir, 'write', { closeFlushBytes: Infinity });
  await store.putRepositoryCpes(realRepositoryCpes());
  const committed = statSync(path.join(dir, 'advisories.log')).size;
  await store.putRepositoryCpes(editedRepositoryCpes());
  await store.close();
  // Cut the log in the middle of the second commit, as a kill during the write leaves it.
  const log = path.join(dir, 'advisories.log');
  truncateSync(log, committed + Math.floor((statSync(log).size - committed) / 2));
  const reopened = EmbeddedAdvisoryStore.open(dir);
  expect(await reopened.repositoryCpes([...PROBES])).toEqual(
    expectedLookup(realRepositoryCpes(), PROBES),
  );
  // The next sync writes the new mapping whole.
  expect(await reopened.putRepositoryCpes(editedRepositoryCpes())).toEqual({ put: 2, deleted: 2 });
  expect(await reopened.repositoryCpes([...PROBES])).toEqual(
    expectedLookup(editedRepositoryCpes(), PROBES),
  );
  await reopened.close();
});
