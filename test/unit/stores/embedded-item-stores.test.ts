import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { itemStoresContract } from '../../contract/item-stores.js';

itemStoresContract('embedded', async (kind) =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-items-')), kind),
);
