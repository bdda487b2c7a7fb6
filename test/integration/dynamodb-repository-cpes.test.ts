/**
 * The DynamoDB store's repository-to-CPE mapping on DynamoDB Local: the contract
 * (test/contract/repository-cpes.ts) on the whole real mapping, and a replacement that dies
 * half-way: every repository still has its old CPEs or its new ones, and the next write
 * finishes the job.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, expect, inject, it } from 'vitest';
import type { RepositoryCpes } from '../../shared/advisories/importers/redhat-repository-to-cpe.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import {
  editedRepositoryCpes,
  realRepositoryCpes,
  repositoryCpesContract,
} from '../contract/repository-cpes.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

repositoryCpesContract('DynamoDB', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  return {
    store: new DynamoDbAdvisoryStore(documents, table),
    reopen: async () => new DynamoDbAdvisoryStore(documents, table),
  };
});

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  JSON.stringify(a) === JSON.stringify(b);

it('a replacement that dies half-way leaves each repository its old or its new CPEs, and the next one finishes', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  const old = realRepositoryCpes();
  await new DynamoDbAdvisoryStore(documents, table).putRepositoryCpes(old);
  // The next file: the edited mapping without its 2,419 debug repositories (about a hundred
  // batch writes of deletions after the changed and added repositories are written).
  const next = editedRepositoryCpes();
  for (const id of [...next.keys()]) if (id.endsWith('-debug-rpms')) next.delete(id);
  let writes = 0;
  const dying = new Proxy(documents, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        if (command instanceof BatchWriteCommand && ++writes > 20)
          throw new Error('Lambda timed out');
        return target.send(command as never);
      };
    },
  });
  await expect(
    new DynamoDbAdvisoryStore(dying, table, { concurrency: 1 }).putRepositoryCpes(next),
  ).rejects.toThrow('Lambda timed out');

  const store = new DynamoDbAdvisoryStore(documents, table);
  const ids = [...new Set([...old.keys(), ...next.keys()])];
  const seen = await store.repositoryCpes(ids);
  const check = (mapping: RepositoryCpes, id: string) => same(seen.get(id), mapping.get(id));
  // Every repository of both mappings has CPEs, old or new; none is left empty.
  const broken = ids.filter(
    (id) =>
      (old.has(id) && next.has(id) && !check(old, id) && !check(next, id)) ||
      (!old.has(id) && seen.has(id) && !check(next, id)) ||
      (!next.has(id) && seen.has(id) && !check(old, id)),
  );
  expect(broken).toEqual([]);
  expect(ids.filter((id) => old.has(id) && next.has(id) && !seen.has(id))).toEqual([]);
  // It died among the deletions: some debug repositories are gone, some are still there.
  const debug = [...old.keys()].filter((id) => id.endsWith('-debug-rpms'));
  const debugLeft = debug.filter((id) => seen.has(id)).length;
  expect(debugLeft).toBeGreaterThan(0);
  expect(debugLeft).toBeLessThan(debug.length);

  // The next sync writes nothing again and deletes what is left of the dropped repositories.
  const left = [...old.keys()].filter((id) => !next.has(id) && seen.has(id)).length;
  expect(await store.putRepositoryCpes(next)).toEqual({ put: 0, deleted: left });
  expect(await store.repositoryCpes(ids)).toEqual(new Map(next));
});
