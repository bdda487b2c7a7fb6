import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, expect, inject, it } from 'vitest';
import { type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import { contentHash } from '../../shared/stores/advisory-store.js';
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
