import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { checksStoreContract } from '../../contract/checks-store.js';

checksStoreContract('embedded', async () =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-checks-')), 'findings'),
);
