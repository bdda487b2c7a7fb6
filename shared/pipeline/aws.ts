/**
 * The scan and rescan use cases wired to AWS from the validated configuration: DynamoDB
 * tables, the reports bucket (reports, SBOMs, the layer cache), the findings topic, and the
 * registry client with ECR credentials (the scan's only). Handlers build theirs once per cold
 * start.
 */
import {
  dynamoDbFromConfig,
  ecrFromConfig,
  s3FromConfig,
  snsFromConfig,
} from '../config/clients.js';
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

/** What the rescan function reads: the tables, the topic, the reports bucket, the window. */
export const RESCAN_CONFIG = [
  'imagesTable',
  'inventoriesTable',
  'findingsTable',
  'advisoriesTable',
  'findingsTopicArn',
  'reportsBucket',
  'rescanWindow',
  'region',
  'dynamodbEndpoint',
  'snsEndpoint',
  's3Endpoint',
] as const;

/** The scan function also pulls (registries, ECR) and knows its queue's last delivery. */
export const SCAN_CONFIG = [
  ...RESCAN_CONFIG,
  'registryEndpoints',
  'registryAllowedHosts',
  'scanMaxReceives',
] as const;

type StoresConfig = Config<(typeof RESCAN_CONFIG)[number]>;

/** The stores and the notifier both use cases share. */
function pipelineStores(config: StoresConfig) {
  const ddb = dynamoDbFromConfig(config);
  return {
    images: new ImageStore(new DynamoDbItemTable(ddb, config.imagesTable)),
    inventories: new InventoryStore(new DynamoDbItemTable(ddb, config.inventoriesTable)),
    findings: new FindingsStore(new DynamoDbItemTable(ddb, config.findingsTable)),
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    notifier: new SnsNotifier(snsFromConfig(config), config.findingsTopicArn),
  };
}

export function scanDeps(config: Config<(typeof SCAN_CONFIG)[number]>): ScanDeps {
  const s3 = s3FromConfig(config);
  const stores = pipelineStores(config);
  const registry = new RegistryClient({
    credentials: new EcrCredentials({ client: ecrFromConfig(config) }),
    ...(config.registryEndpoints === undefined ? {} : { endpoints: config.registryEndpoints }),
    ...(config.registryAllowedHosts === undefined
      ? {}
      : { allowedHosts: config.registryAllowedHosts }),
  });
  return {
    ...stores,
    // The advisory table also holds Red Hat's repository-to-CPE mapping (feed data).
    repositoryCpes: stores.advisories,
    reports: new S3ReportStore(s3, config.reportsBucket),
    layerCache: new S3LayerCache(s3, config.reportsBucket),
    openImage: (request: ScanRequest) =>
      new RegistryImageSource(
        registry,
        parseReference(`${request.registry}/${request.repository}@${request.digest}`),
      ).images(),
  };
}

/** No registry client: a rescan never pulls. */
export function rescanDeps(config: StoresConfig): RescanDeps {
  return {
    ...pipelineStores(config),
    reports: new S3ReportStore(s3FromConfig(config), config.reportsBucket),
    ...(config.rescanWindow === undefined ? {} : { windowDays: config.rescanWindow }),
  };
}
