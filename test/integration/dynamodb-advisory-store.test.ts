import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, expect, inject, it } from 'vitest';
import { type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import { LocalFeedSource } from '../../shared/feeds/sources/local.js';
import { syncFeed } from '../../shared/feeds/sync.js';
import { contentHash, type FeedCheckpoint } from '../../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { advisoryStoreContract } from '../contract/advisory-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';
import { dataDir } from '../support/fixtures.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

advisoryStoreContract('DynamoDB', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  return {
    store: new DynamoDbAdvisoryStore(documents, table),
    reopen: async () => new DynamoDbAdvisoryStore(documents, table),
  };
});

it('a write that stopped before its head leaves no package entry behind once a later version lands', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  const record = parseOsv(
    JSON.parse(
      readFileSync(
        path.join(dataDir(), 'advisories/almalinux-osv/advisories/almalinux9/ALBA-2022:8256.json'),
        'utf8',
      ),
    ),
    'ALBA-2022:8256',
  );
  const onlyQatzip = {
    ...record,
    affected: record.affected?.filter((a) => a.package?.name === 'qatzip'),
  };
  const stored = (r: OsvRecord) => ({ id: r.id, hash: contentHash(r), source: 'test', record: r });
  await new DynamoDbAdvisoryStore(documents, table).put([stored(onlyQatzip)]);
  // v2 names qatzip-devel too; the process dies as it writes heads.
  const dying = new Proxy(documents, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        if (
          command instanceof BatchWriteCommand &&
          JSON.stringify(command.input.RequestItems).includes('"sk":"ADV"')
        )
          throw new Error('Lambda timed out');
        return target.send(command as never);
      };
    },
  });
  await expect(new DynamoDbAdvisoryStore(dying, table).put([stored(record)])).rejects.toThrow(
    'Lambda timed out',
  );
  const store = new DynamoDbAdvisoryStore(documents, table);
  expect((await store.candidates('AlmaLinux:9', 'qatzip-devel')).length).toBe(1);
  // v3 drops every package but qatzip again: the entry v2 left must go.
  const v3 = { ...onlyQatzip, modified: '2026-12-01T00:00:00Z' };
  await store.put([stored(v3)]);
  expect(await store.candidates('AlmaLinux:9', 'qatzip-devel')).toEqual([]);
  expect((await store.candidates('AlmaLinux:9', 'qatzip')).map((c) => c.record.modified)).toEqual([
    v3.modified,
  ]);
});

it('a table filled before ecosystems were recorded gets them from one whole re-read of each source', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  const folder = path.join(dataDir(), 'advisories/rconsortium-r-advisory-database/vulns');
  const first = new DynamoDbAdvisoryStore(documents, table);
  await syncFeed({ source: new LocalFeedSource(folder), store: first });
  // What an older version left: no ECOSYSTEM# markers, a checkpoint without the flag.
  await documents.send(
    new DeleteCommand({ TableName: table, Key: { pk: 'ECOSYSTEM#CRAN', sk: 'ECOSYSTEM' } }),
  );
  const checkpoint = (await first.checkpoint(`local:${folder}`)) as FeedCheckpoint;
  const { ecosystemsMarked: _m, ...old } = checkpoint;
  await first.saveCheckpoint(old);
  expect(await new DynamoDbAdvisoryStore(documents, table).hasEcosystem('CRAN')).toBe(false);

  const again = await syncFeed({
    source: new LocalFeedSource(folder),
    store: new DynamoDbAdvisoryStore(documents, table),
  });
  // Read whole, nothing rewritten, nothing announced: only the ecosystem recorded.
  expect(again).toMatchObject({ status: 'complete', written: 0 });
  expect(again.changes).toEqual([]);
  expect(await new DynamoDbAdvisoryStore(documents, table).hasEcosystem('CRAN')).toBe(true);
  expect((await first.checkpoint(`local:${folder}`))?.ecosystemsMarked).toBe(true);
});
