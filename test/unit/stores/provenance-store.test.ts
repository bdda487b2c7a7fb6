import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { provenanceStoreContract } from '../../contract/provenance-store.js';

provenanceStoreContract('embedded', async () =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-provenance-')), 'images'),
);
