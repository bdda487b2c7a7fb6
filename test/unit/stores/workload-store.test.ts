import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { workloadStoreContract } from '../../contract/workload-store.js';

workloadStoreContract('embedded', async () =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-workloads-')), 'images'),
);
