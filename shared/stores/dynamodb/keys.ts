/**
 * Key and index names shared by every table, used by the CDK constructs that create the tables
 * and by the adapters that read and write them. The meaning of each key, and the access pattern
 * it serves, is written in docs/data-model.md.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttl: 'expiresAt',
  images: { byRepository: { name: 'byRepository', partitionKey: 'repoKey', sortKey: 'pushedAt' } },
  inventories: { byPackage: { name: 'byPackage', partitionKey: 'packageKey', sortKey: 'digest' } },
  advisories: {
    byPackage: { name: 'byPackage', partitionKey: 'packageKey', sortKey: 'advisoryId' },
  },
  findings: {
    byAdvisory: { name: 'byAdvisory', partitionKey: 'advisoryId', sortKey: 'findingKey' },
  },
} as const;
