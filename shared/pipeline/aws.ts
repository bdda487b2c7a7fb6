/**
 * The scan, rescan and provenance use cases wired to AWS from the validated configuration:
 * DynamoDB tables, the reports bucket (reports, SBOMs, the layer cache), the findings topic, the
 * registry client with ECR credentials (the scan's and the provenance pass's), and, when a
 * provenance policy is configured, the provenance checker (shared/config/provenance.ts reads the
 * policy and trust material). Handlers build theirs once per cold start.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { EKSClient } from '@aws-sdk/client-eks';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { ChecksConfig } from '../checks/config.js';
import { readTaskDefinition } from '../checks/taskdef-reader.js';
import {
  dynamoDbFromConfig,
  ecrFromConfig,
  s3FromConfig,
  snsFromConfig,
  sqsFromConfig,
} from '../config/clients.js';
import type { Config } from '../config/env.js';
import {
  cachedProvenance,
  type LoadedProvenance,
  PROVENANCE_CONFIG,
  type ProvenanceSettings,
  provenanceSettings,
  refreshingChecker,
} from '../config/provenance.js';
import { type ScanRequest, scanRequestBody } from '../events/scan-request.js';
import { RegistryImageSource } from '../image/registry-source.js';
import { SnsNotifier } from '../notifications/sns-notifier.js';
import { type ProvenanceChecker, provenanceChecker } from '../provenance/check.js';
import { ecrReferrers, type ReferrerLister } from '../provenance/discovery.js';
import type { SignerRevocationClient } from '../provenance/notation.js';
import { sendMessages } from '../queues/send.js';
import { EcrCredentials, ecrRegionOf } from '../registry/auth.js';
import { RegistryClient } from '../registry/client.js';
import { EcrImageReader } from '../registry/ecr-images.js';
import { parseReference } from '../registry/reference.js';
import { BackfillStore } from '../stores/backfill-store.js';
import { ChecksStore } from '../stores/checks-store.js';
import { DynamoDbAdvisoryStore } from '../stores/dynamodb/advisory-store.js';
import { DynamoDbItemTable } from '../stores/dynamodb/item-table.js';
import { FindingsStore } from '../stores/findings-store.js';
import { ImageStore } from '../stores/image-store.js';
import { InventoryStore } from '../stores/inventory-store.js';
import { ProvenanceStore } from '../stores/provenance-store.js';
import { S3LayerCache, S3ReportStore } from '../stores/s3.js';
import { VexStore } from '../stores/vex-store.js';
import { WorkloadStore } from '../stores/workload-store.js';
import { readEcsWorkloads } from '../workloads/ecs.js';
import { readEksWorkloads } from '../workloads/eks.js';
import { readLambdaWorkloads } from '../workloads/lambda.js';
import { arnScope } from '../workloads/types.js';
import { type AuditDeps, readableRegistries } from './audit.js';
import type { WorkloadReader } from './audit-run.js';
import { type BackfillDeps, sqsScanQueue } from './backfill.js';
import { type BackfillContinuation, lambdaContinuation } from './backfill-run.js';
import type { AuditSettings, PipelineDeps } from './context.js';
import type { SweepDeps } from './decisions.js';
import { eventsAfterTopic } from './integrations.js';
import type { ProvenanceDeps } from './provenance.js';
import type { RescanDeps } from './rescan.js';
import type { ScanDeps } from './scan.js';
import {
  type DescribeTaskDefinition,
  TaskDefinitionCache,
  type TaskDefinitionChecksDeps,
  taskDefinitionChecksDeps,
} from './taskdef-checks.js';

/** What the rescan function reads: the tables, the topic, the reports bucket, the window. */
export const RESCAN_CONFIG = [
  'imagesTable',
  'inventoriesTable',
  'findingsTable',
  'advisoriesTable',
  'findingsTopicArn',
  'reportsBucket',
  'rescanWindow',
  'rescanWindowFrom',
  'auditSeverity',
  'region',
  'dynamodbEndpoint',
  'snsEndpoint',
  's3Endpoint',
] as const;

/**
 * The provenance function reads registries like the scan (signatures are beside the image) and
 * the provenance policy; it never pulls a layer.
 */
export const PROVENANCE_FUNCTION_CONFIG = [
  ...RESCAN_CONFIG,
  'registryEndpoints',
  'registryAllowedHosts',
  ...PROVENANCE_CONFIG,
  // The pass's messages to EventBridge too, when a bus is configured (pipeline/integrations.ts).
  'eventBus',
  'eventSource',
] as const;

/** The scan function also pulls (registries, ECR), knows its queue's last delivery, and decides provenance. */
export const SCAN_CONFIG = [...PROVENANCE_FUNCTION_CONFIG, 'scanMaxReceives'] as const;

type StoresConfig = Config<(typeof RESCAN_CONFIG)[number]>;
type RegistryConfig = Config<(typeof PROVENANCE_FUNCTION_CONFIG)[number]>;

/** The stores and the notifier every use case shares. */
function pipelineStores(config: StoresConfig) {
  const ddb = dynamoDbFromConfig(config);
  const images = new DynamoDbItemTable(ddb, config.imagesTable);
  const findings = new DynamoDbItemTable(ddb, config.findingsTable);
  return {
    images: new ImageStore(images),
    inventories: new InventoryStore(new DynamoDbItemTable(ddb, config.inventoriesTable)),
    findings: new FindingsStore(findings),
    // VEX documents beside the suppressions in the findings table (stores/vex-store.ts).
    vex: new VexStore(findings),
    // Where decisions' expiry markers are (stores/decision-expiry.ts): the rescan's sweep.
    findingsTable: findings,
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    notifier: new SnsNotifier(snsFromConfig(config), config.findingsTopicArn),
    // Verdicts live in the images table, beside the image record (stores/provenance-store.ts).
    provenanceStore: new ProvenanceStore(images),
    // The workload inventory too (stores/workload-store.ts): a scan or rescan judges the
    // workloads running what it committed (pipeline/audit.ts judgeRunning).
    ...(config.auditSeverity === undefined ? {} : { audit: auditSettings(config, images) }),
  };
}

/**
 * The audit's settings: RUNNING_VULNERABLE at the configured severity, and the registries the
 * scan can pull from (ECR in the function's region, whose role is granted the pull, and the hosts
 * an endpoint override serves); `queueScans` only for the audit function, which owns the queueing
 * of RUNNING_UNSCANNED digests.
 */
function auditSettings(
  config: Config<'auditSeverity' | 'region'> & Partial<Config<'registryEndpoints'>>,
  images: DynamoDbItemTable,
  queueScans?: AuditSettings['queueScans'],
): AuditSettings {
  const known = readableRegistries(config.registryEndpoints?.keys());
  return {
    // Both beside the image records in the images table.
    workloads: new WorkloadStore(images),
    verdicts: new ProvenanceStore(images),
    ...(config.auditSeverity === undefined ? {} : { minSeverity: config.auditSeverity }),
    ...(queueScans === undefined ? {} : { queueScans }),
    unreadable: (registry) => {
      const region = ecrRegionOf(registry);
      if (
        region !== undefined &&
        region !== config.region &&
        !config.registryEndpoints?.has(registry)
      )
        return `Bosun pulls from Amazon ECR in ${config.region}, not ${region}`;
      return known(registry);
    },
  };
}

function registryFromConfig(config: RegistryConfig): RegistryClient {
  return new RegistryClient({
    credentials: new EcrCredentials({ client: ecrFromConfig(config) }),
    ...(config.registryEndpoints === undefined ? {} : { endpoints: config.registryEndpoints }),
    ...(config.registryAllowedHosts === undefined
      ? {}
      : { allowedHosts: config.registryAllowedHosts }),
  });
}

/** The policy's source and its cached reader; undefined when no policy is configured. */
export interface ProvenanceSource {
  readonly settings: ProvenanceSettings;
  /** The policy and trust material, read again after 5 minutes, or at once with `fresh`. */
  readonly load: (fresh?: boolean) => Promise<LoadedProvenance>;
}

export function provenanceSource(config: RegistryConfig): ProvenanceSource | undefined {
  const settings = provenanceSettings(config);
  if (settings === undefined) return undefined;
  let ssm: import('@aws-sdk/client-ssm').SSMClient | undefined;
  const load = cachedProvenance(settings, {
    s3: s3FromConfig(config),
    // Parameter Store has no local endpoint: the client is the one AWS region's, built on first use.
    ssm: {
      async send(command) {
        if (ssm === undefined) {
          const { SSMClient } = await import('@aws-sdk/client-ssm');
          ssm = new SSMClient(config.region === undefined ? {} : { region: config.region });
        }
        return ssm.send(command);
      },
    } as Pick<import('@aws-sdk/client-ssm').SSMClient, 'send'>,
  });
  return { settings, load };
}

/**
 * How a checker reaches signatures: the scan's own registry client; ECR's ListImageReferrers for
 * ECR hosts (in the host's region) that no endpoint override serves elsewhere (the local stack's
 * registry stands in for an ECR host and has no ECR API); AWS Signer's revocation check when a
 * Notation trust store is configured (only Notation signatures are AWS Signer's).
 */
function checkerFactory(
  config: RegistryConfig,
  registry: RegistryClient,
  settings: ProvenanceSettings,
): (loaded: LoadedProvenance) => ProvenanceChecker {
  const listers = new Map<string, ReferrerLister>();
  const ecr = (host: string): ReferrerLister | undefined => {
    const region = ecrRegionOf(host);
    if (region === undefined || config.registryEndpoints?.has(host) === true) return undefined;
    let lister = listers.get(region);
    if (lister === undefined) {
      lister = ecrReferrers(ecrFromConfig({ region }));
      listers.set(region, lister);
    }
    return lister;
  };
  let signer: import('@aws-sdk/client-signer').SignerClient | undefined;
  const signerClient: SignerRevocationClient = {
    async send(command) {
      if (signer === undefined) {
        const { SignerClient } = await import('@aws-sdk/client-signer');
        signer = new SignerClient(config.region === undefined ? {} : { region: config.region });
      }
      return signer.send(command);
    },
  };
  return (loaded) =>
    provenanceChecker({
      policy: loaded.policy,
      trust: loaded.trust,
      registry,
      ecrReferrers: ecr,
      ...(settings.notationTrustStore === undefined ? {} : { awsSigner: { client: signerClient } }),
    });
}

/** The subject a pushed artifact's manifest names (OCI image spec v1.1 `subject`). */
function subjectReader(registry: RegistryClient) {
  return async (request: ScanRequest): Promise<string | undefined> => {
    const { manifest } = await registry.getManifest(
      parseReference(`${request.registry}/${request.repository}@${request.digest}`),
    );
    return 'subject' in manifest ? manifest.subject?.digest : undefined;
  };
}

/**
 * The scan's dependencies. With a provenance policy configured, it is read before the first
 * scan (a policy that cannot be read fails the cold start, loudly), and followed afterwards: each
 * check uses the policy read within the last 5 minutes.
 */
export async function scanDeps(config: Config<(typeof SCAN_CONFIG)[number]>): Promise<ScanDeps> {
  const s3 = s3FromConfig(config);
  const { provenanceStore, ...stores } = pipelineStores(config);
  const registry = registryFromConfig(config);
  const source = provenanceSource(config);
  let provenance: ProvenanceDeps | undefined;
  if (source !== undefined) {
    const make = checkerFactory(config, registry, source.settings);
    provenance = {
      checker: refreshingChecker(() => source.load(), await source.load(), make),
      store: provenanceStore,
      ...(source.settings.maxAgeMs === undefined ? {} : { maxAgeMs: source.settings.maxAgeMs }),
    };
  }
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
    ...(provenance === undefined ? {} : { provenance, subjectOf: subjectReader(registry) }),
  };
}

/** What the re-verification pass needs; `provenance` reads the policy as of now. */
export interface ProvenancePassDeps {
  readonly pipeline: PipelineDeps;
  /** The verdicts' dependencies with the policy and trust material read again (`fresh`) or as cached. */
  provenance(fresh: boolean): Promise<ProvenanceDeps>;
}

/**
 * The provenance function's dependencies; undefined when no policy is configured (the
 * construct builds that function only with one). One checker per pass: a pass decides every
 * verdict under one policy and trust version.
 */
export function provenancePassDeps(
  config: Config<(typeof PROVENANCE_FUNCTION_CONFIG)[number]>,
): ProvenancePassDeps | undefined {
  const source = provenanceSource(config);
  if (source === undefined) return undefined;
  const { provenanceStore, ...stores } = pipelineStores(config);
  const make = checkerFactory(config, registryFromConfig(config), source.settings);
  return {
    // The pass's PROVENANCE_* messages to EventBridge too, when a bus is configured.
    pipeline: { ...stores, notifier: eventsAfterTopic(stores.notifier, config) },
    async provenance(fresh) {
      return {
        checker: make(await source.load(fresh)),
        store: provenanceStore,
        ...(source.settings.maxAgeMs === undefined ? {} : { maxAgeMs: source.settings.maxAgeMs }),
      };
    },
  };
}

/**
 * No registry client: a rescan never pulls. With the findings table the expiry markers are in
 * and the advisory store's aliases, for the scheduled sweep of expired suppressions and VEX
 * documents (pipeline/decisions.ts).
 */
export function rescanDeps(config: StoresConfig): RescanDeps & SweepDeps {
  const { provenanceStore: _unused, findingsTable, ...stores } = pipelineStores(config);
  return {
    ...stores,
    table: findingsTable,
    reports: new S3ReportStore(s3FromConfig(config), config.reportsBucket),
    ...(config.rescanWindow === undefined ? {} : { windowDays: config.rescanWindow }),
    ...(config.rescanWindowFrom === undefined ? {} : { windowFrom: config.rescanWindowFrom }),
  };
}

/**
 * The backfill function reads ECR (the caller's own registry, in its region), keeps its status
 * in the images table and sends scan requests to the scan queue; nothing else.
 */
export const BACKFILL_CONFIG = [
  'imagesTable',
  'scanQueueUrl',
  'region',
  'dynamodbEndpoint',
  'sqsEndpoint',
] as const;

export interface BackfillFunctionDeps {
  readonly backfill: BackfillDeps;
  /** The pull-time exclusions' client (the deploy-time step). */
  readonly ecr: import('@aws-sdk/client-ecr').ECRClient;
  /** Continues a backfill in a new invocation of the function named. */
  continuation(functionName: string): BackfillContinuation;
}

/** The backfill function's dependencies; clients built once per cold start. */
export function backfillDeps(
  config: Config<(typeof BACKFILL_CONFIG)[number]>,
): BackfillFunctionDeps {
  const ecr = ecrFromConfig(config);
  let lambda: LambdaClient | undefined;
  return {
    backfill: {
      store: new BackfillStore(
        new DynamoDbItemTable(dynamoDbFromConfig(config), config.imagesTable),
      ),
      ecr: new EcrImageReader(ecr),
      queue: sqsScanQueue(sqsFromConfig(config), config.scanQueueUrl),
      region: config.region,
    },
    ecr,
    continuation(functionName) {
      lambda ??= new LambdaClient({ region: config.region });
      return lambdaContinuation(lambda, functionName);
    },
  };
}

/**
 * The audit function records and judges workloads: the images table (image records, tags, the
 * inventory), the findings table (findings, sent-message markers), the topic, the scan queue
 * (RUNNING_UNSCANNED digests), and the sources it reads (ECS, Lambda, EKS).
 */
export const AUDIT_CONFIG = [
  'imagesTable',
  'inventoriesTable',
  'findingsTable',
  'advisoriesTable',
  'findingsTopicArn',
  'scanQueueUrl',
  'auditSeverity',
  'auditSources',
  'auditEksClusters',
  'auditRegions',
  'registryEndpoints',
  'region',
  'dynamodbEndpoint',
  'sqsEndpoint',
  'snsEndpoint',
  // Its messages to EventBridge too, when a bus is configured (pipeline/integrations.ts).
  'eventBus',
  'eventSource',
] as const;

export interface AuditFunctionDeps {
  readonly audit: AuditDeps;
  /** The reconcile's passes: each source in each region (EKS in the function's own). */
  readonly readers: readonly WorkloadReader[];
  /** With ECS: task definitions' checks and running containers' effective findings. */
  readonly taskDefinitionChecks?: TaskDefinitionChecksDeps;
}

/** The audit function's dependencies; SDK clients built once per cold start. */
export function auditDeps(
  config: Config<(typeof AUDIT_CONFIG)[number]>,
  checksConfig?: ChecksConfig,
): AuditFunctionDeps {
  const ddb = dynamoDbFromConfig(config);
  const images = new DynamoDbItemTable(ddb, config.imagesTable);
  const sqs = sqsFromConfig(config);
  const queueScans = (requests: readonly ScanRequest[]) =>
    sendMessages(sqs, config.scanQueueUrl, requests.map(scanRequestBody));
  const audit: AuditDeps = {
    images: new ImageStore(images),
    inventories: new InventoryStore(new DynamoDbItemTable(ddb, config.inventoriesTable)),
    findings: new FindingsStore(new DynamoDbItemTable(ddb, config.findingsTable)),
    advisories: new DynamoDbAdvisoryStore(ddb, config.advisoriesTable),
    notifier: eventsAfterTopic(
      new SnsNotifier(snsFromConfig(config), config.findingsTopicArn),
      config,
    ),
    audit: auditSettings(config, images, queueScans),
  };
  if (!config.auditSources.includes('ecs')) return { audit, readers: workloadReaders(config) };
  // Each revision read once per instance, in the region its ARN names (the reconcile reads
  // several); its checks beside the findings, with the image users the scan stored.
  const ecs = new Map<string, ECSClient>();
  const ecsIn = (region: string) => {
    let client = ecs.get(region);
    if (client === undefined) {
      client = new ECSClient({ region });
      ecs.set(region, client);
    }
    return client;
  };
  const cache = new TaskDefinitionCache((arn) =>
    readTaskDefinition(ecsIn(arnScope(arn).region ?? config.region), arn),
  );
  const checks = new ChecksStore(new DynamoDbItemTable(ddb, config.findingsTable));
  return {
    audit,
    readers: workloadReaders(config, ecsIn, cache.get),
    taskDefinitionChecks: taskDefinitionChecksDeps(audit, checks, cache.get, checksConfig),
  };
}

function workloadReaders(
  config: Config<'auditSources' | 'auditEksClusters' | 'auditRegions' | 'region'>,
  ecsIn = (region: string) => new ECSClient({ region }),
  describe?: DescribeTaskDefinition,
): WorkloadReader[] {
  const sources = new Set(config.auditSources);
  const readers: WorkloadReader[] = [];
  for (const region of config.auditRegions ?? [config.region]) {
    if (sources.has('ecs')) {
      const ecs = ecsIn(region);
      readers.push({
        source: 'ecs',
        region,
        read: () => readEcsWorkloads(ecs, describe === undefined ? {} : { describe }),
      });
    }
    if (sources.has('lambda')) {
      const lambda = new LambdaClient({ region });
      readers.push({ source: 'lambda', region, read: () => readLambdaWorkloads(lambda) });
    }
  }
  const clusters = config.auditEksClusters ?? [];
  if (sources.has('eks') && clusters.length > 0) {
    const eks = new EKSClient({ region: config.region });
    readers.push({
      source: 'eks',
      region: config.region,
      read: () => readEksWorkloads(eks, { clusters }),
    });
  }
  return readers;
}
