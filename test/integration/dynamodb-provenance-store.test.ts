/**
 * The provenance store's contract on DynamoDB Local, in a fresh table shaped like the stack's
 * images table (its byRepository index included), and the proof that the size cut matters:
 * DynamoDB refuses the same verdict uncut.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { ProvenanceStore, storedVerdict } from '../../shared/stores/provenance-store.js';
import {
  DYNAMODB_MAX_ITEM_BYTES,
  hugeVerdict,
  provenanceStoreContract,
} from '../contract/provenance-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

const openImages = async () =>
  new DynamoDbItemTable(documents, await freshTableLike(state, 'ScannerTablesImages', tables));

provenanceStoreContract('DynamoDB', openImages);

describe('DynamoDB provenance store', () => {
  it('refuses the uncut verdict that the store writes cut', async () => {
    const table = await openImages();
    const huge = hugeVerdict();
    const key = { pk: `DIGEST#${huge.subjectDigest}`, sk: `PROVENANCE#${huge.repository}` };
    // The verdict as decided, with its lists' first hundred entries.
    const first = <T>(list: readonly T[] | undefined) => (list ?? []).slice(0, 100);
    const uncut = JSON.stringify({
      ...huge,
      reasons: first(huge.reasons),
      failures: first(huge.failures),
      unread: first(huge.unread),
    });
    expect(Buffer.byteLength(uncut)).toBeGreaterThan(DYNAMODB_MAX_ITEM_BYTES);
    await expect(table.transact([{ put: { ...key, verdict: uncut } }])).rejects.toThrow(
      /size has exceeded the maximum allowed size/,
    );
    expect(await table.get(key)).toBeUndefined();

    await new ProvenanceStore(table).put({
      digest: huge.subjectDigest,
      repository: huge.repository,
      status: huge.status,
      policyVersion: huge.policyVersion,
      trustVersion: `sha256:${'7'.repeat(64)}`,
      checkedAt: '2026-11-05T00:00:00.000Z',
      verdict: huge,
    });
    expect(JSON.parse((await table.get(key))?.verdict as string)).toEqual(storedVerdict(huge));
  });
});
