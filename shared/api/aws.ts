/** The read API's stores on the deployment's DynamoDB tables, built once per cold start. */
import { dynamoDbFromConfig } from '../config/clients.js';
import type { Config } from '../config/env.js';
import { DynamoDbAdvisoryStore } from '../stores/dynamodb/advisory-store.js';
import { DynamoDbItemTable } from '../stores/dynamodb/item-table.js';
import { FindingsStore } from '../stores/findings-store.js';
import { ImageStore } from '../stores/image-store.js';
import { ProvenanceStore } from '../stores/provenance-store.js';
import { WorkloadStore } from '../stores/workload-store.js';
import type { ApiDeps } from './deps.js';

/** What the API function reads from its environment (infra/constructs/api.ts sets it). */
export const API_CONFIG = [
  'imagesTable',
  'findingsTable',
  'advisoriesTable',
  'reportsBucket',
  'region',
  'dynamodbEndpoint',
] as const;

export function apiDeps(config: Config<(typeof API_CONFIG)[number]>): ApiDeps {
  const ddb = dynamoDbFromConfig(config);
  const images = new DynamoDbItemTable(ddb, config.imagesTable);
  return {
    images: new ImageStore(images),
    findings: new FindingsStore(new DynamoDbItemTable(ddb, config.findingsTable)),
    // Verdicts and the workload inventory live in the images table (docs/data-model.md).
    provenance: new ProvenanceStore(images),
    workloads: new WorkloadStore(images),
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    reportsBucket: config.reportsBucket,
  };
}
