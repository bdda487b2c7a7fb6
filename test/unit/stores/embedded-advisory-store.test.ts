import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { advisoryStoreContract } from '../../contract/advisory-store.js';

advisoryStoreContract('embedded', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-store-'));
  return {
    store: EmbeddedAdvisoryStore.open(dir),
    reopen: async () => EmbeddedAdvisoryStore.open(dir),
  };
});
