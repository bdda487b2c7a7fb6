/**
 * The scan and rescan use cases wired to AWS from the validated configuration: DynamoDB
 * tables, the reports bucket (reports, SBOMs, the layer cache), the findings topic, and the
 * registry client with ECR credentials. Handlers build this once per cold start.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { dynamoDbFromConfig, s3FromConfig, snsFromConfig } from '../config/clients.js';
import type { Config } from '../config/env.js';
import type { ScanRequest } from '../events/scan-request.js';
import { RegistryImageSource } from '../image/registry-source.js';
import { SnsNotifier } from '../notifications/sns-notifier.js';
import { EcrCredentials } from '../registry/auth.js';
import { RegistryClient } from '../registry/client.js';
import { parseReference } from '../registry/reference.js';
import { DynamoDbAdvisoryStore } from '../stores/dynamodb/advisory-store.js';
import { DynamoDbItemTable } from '../stores/dynamodb/item-table.js';
import { FindingsStore } from '../stores/findings-store.js';
import { ImageStore } from '../stores/image-store.js';
import { InventoryStore } from '../stores/inventory-store.js';
import { S3LayerCache, S3ReportStore } from '../stores/s3.js';
import type { RescanDeps } from './rescan.js';
import type { ScanDeps } from './scan.js';

export const PIPELINE_CONFIG = [
  'imagesTable',
  'inventoriesTable',
  'findingsTable',
  'advisoriesTable',
  'findingsTopicArn',
  'reportsBucket',
  'rescanWindow',
  'scanMaxReceives',
  'region',
  'dynamodbEndpoint',
  'snsEndpoint',
  's3Endpoint',
  'registryEndpoints',
] as const;

export type PipelineConfig = Config<(typeof PIPELINE_CONFIG)[number]>;

export interface PipelineClients {
  /** The ECR client the registry credentials use; a test may pass a fake of GetAuthorizationToken. */
  readonly ecr?: ConstructorParameters<typeof EcrCredentials>[0]['client'];
}

export function pipelineDeps(
  config: PipelineConfig,
  clients: PipelineClients = {},
): ScanDeps & RescanDeps {
  const ddb = dynamoDbFromConfig(config);
  const s3 = s3FromConfig(config);
  const registry = new RegistryClient({
    credentials: new EcrCredentials({
      client:
        clients.ecr ?? new ECRClient(config.region === undefined ? {} : { region: config.region }),
    }),
    ...(config.registryEndpoints === undefined ? {} : { endpoints: config.registryEndpoints }),
  });
  return {
    images: new ImageStore(new DynamoDbItemTable(ddb, config.imagesTable)),
    inventories: new InventoryStore(new DynamoDbItemTable(ddb, config.inventoriesTable)),
    findings: new FindingsStore(new DynamoDbItemTable(ddb, config.findingsTable)),
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    notifier: new SnsNotifier(snsFromConfig(config), config.findingsTopicArn),
    reports: new S3ReportStore(s3, config.reportsBucket),
    layerCache: new S3LayerCache(s3, config.reportsBucket),
    openImage: (request: ScanRequest) =>
      new RegistryImageSource(
        registry,
        parseReference(`${request.registry}/${request.repository}@${request.digest}`),
      ).images(),
    ...(config.rescanWindow === undefined ? {} : { windowDays: config.rescanWindow }),
  };
}
