/** The read API's stores on the deployment's DynamoDB tables, built once per cold start. */
import { dynamoDbFromConfig, sqsFromConfig } from '../config/clients.js';
import type { Config } from '../config/env.js';
import type { RescanMessage } from '../events/rescan.js';
import { sendMessages } from '../queues/send.js';
import { DynamoDbAdvisoryStore } from '../stores/dynamodb/advisory-store.js';
import { DynamoDbItemTable } from '../stores/dynamodb/item-table.js';
import { FindingsStore } from '../stores/findings-store.js';
import { ImageStore } from '../stores/image-store.js';
import { ProvenanceStore } from '../stores/provenance-store.js';
import { VexStore } from '../stores/vex-store.js';
import { WorkloadStore } from '../stores/workload-store.js';
import type { ApiDeps } from './deps.js';

/** What the API function reads from its environment (infra/constructs/api.ts sets it). */
export const API_CONFIG = [
  'imagesTable',
  'findingsTable',
  'advisoriesTable',
  'reportsBucket',
  'rescanQueueUrl',
  'region',
  'dynamodbEndpoint',
  'sqsEndpoint',
] as const;

export function apiDeps(config: Config<(typeof API_CONFIG)[number]>): ApiDeps {
  const ddb = dynamoDbFromConfig(config);
  const images = new DynamoDbItemTable(ddb, config.imagesTable);
  const findings = new DynamoDbItemTable(ddb, config.findingsTable);
  const sqs = sqsFromConfig(config);
  return {
    images: new ImageStore(images),
    findings: new FindingsStore(findings),
    vex: new VexStore(findings),
    // Suppressions and VEX documents put or deleted rescan what they cover (api/rescans.ts).
    queueRescans: (messages: readonly RescanMessage[]) =>
      sendMessages(
        sqs,
        config.rescanQueueUrl,
        messages.map((m) => JSON.stringify(m)),
      ),
    // Verdicts and the workload inventory live in the images table (docs/data-model.md).
    provenance: new ProvenanceStore(images),
    workloads: new WorkloadStore(images),
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    reportsBucket: config.reportsBucket,
  };
}
