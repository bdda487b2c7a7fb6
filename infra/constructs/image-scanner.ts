import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ChecksConfigInput } from '../../shared/checks/config.js';
import { ENV_VARS } from '../../shared/config/env.js';
import { buildApi } from './api.js';
import { type AuditProps, auditEnvironment, buildAudit } from './audit.js';
import { type BackfillProps, buildBackfill } from './backfill.js';
import type { BosunFunction, BosunFunctionDefaults } from './bosun-function.js';
import { buildDashboard } from './dashboard.js';
import { buildEventsDlq } from './events-dlq.js';
import { buildFeedSync } from './feed-sync.js';
import { buildFindingsTopic } from './findings-topic.js';
import {
  type EventsProps,
  grantIntegrations,
  integrationsEnvironment,
  type SecurityHubProps,
} from './integrations.js';
import {
  buildProvenancePass,
  buildTrustRefresh,
  grantSignerRevocation,
  type ProvenanceProps,
  provenanceWiring,
} from './provenance.js';
import type { QueueWithDlq } from './queue-with-dlq.js';
import { buildRegistryWebhook } from './registry-webhook.js';
import { buildReportsBucket } from './reports-bucket.js';
import { buildRescan } from './rescan.js';
import { buildScanIngest, grantEcrPull } from './scan-ingest.js';
import { BosunTables } from './tables.js';
import { validateProps } from './validate-props.js';

export interface ImageScannerProps {
  /**
   * ECR repositories to scan: exact names, or prefixes ending in `*` (`team-a/*`). Push and
   * delete events of other repositories are not delivered, and the scan role can pull only
   * from these.
   * @default every repository of the stack's account and region
   */
  readonly repositories?: readonly string[];
  /** @default Duration.minutes(5) */
  readonly scanTimeout?: Duration;
  /** @default 1769 (one vCPU: docs/cost.md) */
  readonly scanMemoryMiB?: number;
  /** Messages per scan invocation. @default 1 */
  readonly scanBatchSize?: number;
  /**
   * Visibility timeout of the scan queue; AWS asks for at least 6x the function timeout.
   * @default 6 x scanTimeout
   */
  readonly scanQueueVisibilityTimeout?: Duration;
  /** Receives before a scan or rescan message is dead-lettered. @default 3 */
  readonly maxReceiveCount?: number;
  /** How often advisory feeds are synced. @default Duration.hours(1) */
  readonly feedSyncInterval?: Duration;
  /** @default Duration.minutes(10) */
  readonly feedSyncTimeout?: Duration;
  /**
   * OSV ecosystems to sync (folder names of OSV's export: `PyPI`, `Debian`, `crates.io`, ...).
   * @default DEFAULT_OSV_ECOSYSTEMS
   */
  readonly feedEcosystems?: readonly string[];
  /**
   * Publishers' own feeds to sync (`alas:2023`, `redhat-vex`, `oracle-oval:9`, `secdb:wolfi`, ...;
   * `[]`: none): VENDOR_SOURCES lists them, docs/feeds.md says where each comes from.
   * @default DEFAULT_VENDOR_SOURCES; none when osvBaseUrl names a mirror
   */
  readonly feedVendorSources?: readonly string[];
  /**
   * Registry hosts (`host[:port]`) whose push notifications the webhook accepts, each with a
   * secret of its own (`webhookSecrets`). Listing any builds the webhook and its function URL.
   * @default none: no webhook, no function URL
   */
  readonly webhookRegistries?: readonly string[];
  /**
   * Further hosts a registry may send token realms and blob redirects to, by registry host:
   * `{ 'harbor.example.com': ['harbor-blobs.s3.eu-west-1.amazonaws.com'] }` (`host`,
   * `host:port` or `*.suffix`). ECR's and other known registries' own token and storage hosts
   * are always allowed; any other host is refused, and credentials never leave the registry.
   * @default none
   */
  readonly registryAllowedHosts?: Readonly<Record<string, readonly string[]>>;
  /**
   * How far a request's signed timestamp (or, with a bearer secret, each event's time) may be
   * from now; older requests are refused as replays. @default Duration.minutes(5)
   */
  readonly webhookReplayWindow?: Duration;
  /**
   * How long a registry's previous secret is still accepted after its secret is rotated.
   * @default Duration.days(1)
   */
  readonly webhookPreviousSecretGrace?: Duration;
  /**
   * Concurrent executions reserved for, and capping, the webhook function (a flood of requests
   * on its public URL throttles there, not the scans). Lambda keeps 100 of the account's
   * concurrency unreserved, so the account needs that many more
   * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). @default 5
   */
  readonly webhookReservedConcurrency?: number;
  /** Base URL of an OSV-layout export (a mirror). @default OSV's public bucket */
  readonly osvBaseUrl?: string;
  /**
   * A Secrets Manager secret holding NVD's API key (a plain string), for the `nvd` feed: NVD
   * allows ten times the requests with one (https://nvd.nist.gov/developers/request-an-api-key).
   * @default none: the first NVD load waits about 15 minutes on NVD's rate limit
   */
  readonly nvdApiKeySecret?: secretsmanager.ISecret;
  /**
   * Days since an image's last push during which advisory changes rescan it; older images are
   * not rescanned and their findings close. `'LIFETIME'`: no limit. @default 90
   */
  readonly rescanWindowDays?: number | 'LIFETIME';
  /** @default Duration.minutes(5) */
  readonly rescanTimeout?: Duration;
  /** Alarm when the oldest waiting scan is older than this. @default Duration.minutes(15) */
  readonly maxScanAge?: Duration;
  /**
   * Where findings are published. Its key policy must let Bosun's functions publish.
   * @default a new KMS-encrypted, TLS-only topic
   */
  readonly findingsTopic?: sns.ITopic;
  /** Receives alarm state changes. @default alarms have no action */
  readonly alarmTopic?: sns.ITopic;
  /** Destination of the reports bucket's access logs. @default a new bucket */
  readonly accessLogsBucket?: s3.IBucket;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Applies to tables, bucket, keys and log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Provenance (issue 19): each pushed image's signatures and attestations checked against a
   * policy, PROVENANCE_VERIFIED / FAILED / UNSIGNED published on change, and a re-verification
   * function run daily and when the policy or trust material changes.
   * @default none: provenance is not checked
   */
  readonly provenance?: ProvenanceProps;
  /**
   * The backfill run at deployment (docs/audit.md, "Backfill in the deployment"): every image
   * already in the repositories in scope is queued for a scan. Its `id` names it: a stack update
   * with the same id starts nothing, a new id starts another. `false`: no deploy-time backfill
   * (the function is still there to start one by hand, and the pull-time exclusions of Bosun's
   * roles are still registered).
   * @default { id: 'initial' }, scoped to `repositories`
   */
  readonly backfill?: BackfillProps | false;
  /**
   * The workload inventory (docs/audit.md, "Workload inventory"): ECS tasks (their state change
   * events within seconds) and Lambda container-image functions, and EKS clusters when named,
   * read again on a schedule; running images judged RUNNING_UNSCANNED (their scan queued),
   * RUNNING_VULNERABLE, RUNNING_STALE, RUNNING_DELETED. `false`: no inventory, no judgement.
   * @default { ecs: true, lambda: true, reconcile every 15 minutes, vulnerableSeverity: 'HIGH', rescanWindowFrom: 'push' }
   */
  readonly audit?: AuditProps | false;
  /**
   * Every notification also as an EventBridge event (docs/integrations.md): `source` `bosun`
   * (or the one given), `detail-type` the event type in words, `detail` the message. `false`:
   * no events.
   * @default { source: 'bosun' } on the account's default event bus
   */
  readonly events?: EventsProps | false;
  /**
   * Findings to AWS Security Hub as ASFF under the account's own product ARN: new and changed
   * ones after each scan and rescan, ARCHIVED when they close (docs/integrations.md).
   * @default not sent
   */
  readonly securityHub?: SecurityHubProps;
  /**
   * The hardening checks' configuration (docs/checks.md, "Configuration"): per repository
   * (`team-a/app`, `team-a/*`, `*`), checks disabled or given another severity; secrets
   * suppressed by value hash (`sha256:<hex>`) with a reason, an author and an expiry. At most
   * 2 KB as JSON (it travels in the scan function's environment).
   * @default every check at its own severity, no suppression
   */
  readonly imageChecks?: ChecksConfigInput;
}

/**
 * Bosun's scanning service: ECR push/delete events to a scan queue, the scan, rescan and
 * feed-sync functions, their tables, the findings topic, the reports bucket and the alarms.
 *
 * It only composes: `validateProps` checks the props, and each `build*` pattern creates its
 * resources in this scope, so construct paths and logical ids are those of earlier releases.
 */
export class ImageScanner extends Construct {
  readonly tables: BosunTables;
  readonly scanQueue: QueueWithDlq;
  readonly rescanQueue: QueueWithDlq;
  /** Sync requests: the schedule's, and continuations of syncs that ran out of time. */
  readonly feedSyncQueue: QueueWithDlq;
  /** Receives ECR events and schedule invocations EventBridge could not deliver. */
  readonly eventsDlq: sqs.Queue;
  readonly findingsTopic: sns.ITopic;
  readonly reportsBucket: s3.Bucket;
  readonly scanFunction: BosunFunction;
  readonly rescanFunction: BosunFunction;
  readonly feedSyncFunction: BosunFunction;
  readonly pushRule: events.Rule;
  readonly deleteRule: events.Rule;
  readonly feedSyncRule: events.Rule;
  /**
   * Receives push notifications of other registries (CNCF distribution's envelope); undefined
   * when no `webhookRegistries` are configured.
   */
  readonly webhookFunction?: BosunFunction;
  readonly webhookUrl?: lambda.FunctionUrl;
  /** Each registry's secret, by registry host (empty without a webhook). */
  readonly webhookSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** The re-verification function; undefined without `provenance`. */
  readonly provenanceFunction?: BosunFunction;
  readonly provenanceSchedule?: events.Rule;
  /** Keeps trusted roots with `refresh` fresh through TUF; undefined without any. */
  readonly trustRefreshFunction?: BosunFunction;
  /** Queues scans of what is already in ECR: at deployment and when invoked. */
  readonly backfillFunction: BosunFunction;
  /** Keeps the workload inventory and judges it; undefined with `audit: false`. */
  readonly auditFunction?: BosunFunction;
  /** The IAM-authorised read API (docs/api.md); always deployed: it costs nothing idle. */
  readonly api: apigateway.RestApi;
  readonly apiFunction: BosunFunction;
  /** The operations dashboard: scans, failures, queue ages, findings by severity, feeds. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The bus notifications go to as events (`default` for the default bus); undefined with `events: false`. */
  readonly eventBusName?: string;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ImageScannerProps = {}) {
    super(scope, id);
    const settings = validateProps(props);
    const { removalPolicy, maxReceiveCount } = settings;
    const functionDefaults: BosunFunctionDefaults = {
      logRetention: settings.logRetention,
      logLevel: settings.logLevel,
      removalPolicy,
    };

    this.tables = new BosunTables(this, 'Tables', { removalPolicy });
    const eventsDlq = buildEventsDlq(this);
    this.eventsDlq = eventsDlq.queue;
    this.findingsTopic = props.findingsTopic ?? buildFindingsTopic(this, { removalPolicy });
    this.reportsBucket = buildReportsBucket(this, {
      removalPolicy,
      accessLogsBucket: props.accessLogsBucket,
    });

    const { tables, findingsTopic, reportsBucket } = this;
    const environment = {
      [ENV_VARS.imagesTable]: tables.images.tableName,
      [ENV_VARS.inventoriesTable]: tables.inventories.tableName,
      [ENV_VARS.advisoriesTable]: tables.advisories.tableName,
      [ENV_VARS.findingsTable]: tables.findings.tableName,
      [ENV_VARS.findingsTopicArn]: findingsTopic.topicArn,
      [ENV_VARS.reportsBucket]: reportsBucket.bucketName,
      [ENV_VARS.rescanWindow]: String(settings.rescanWindowDays),
      // The scan and rescan judge the workloads running what they commit.
      ...(settings.audit === undefined ? {} : auditEnvironment(settings.audit)),
    };
    const provenance =
      settings.provenance === undefined ? undefined : provenanceWiring(this, settings.provenance);
    // Only Notation signatures can be AWS Signer's, and only a Notation trust store verifies them.
    const signerRevocation = settings.provenance?.notationTrustStore !== undefined;
    // Order matters beyond data flow: the events DLQ's policy lists the ECR rules' statements
    // before the schedule's, as deployed stacks have them.
    const scan = buildScanIngest(this, {
      repositories: settings.repositories,
      timeout: settings.scanTimeout,
      visibilityTimeout: settings.scanQueueVisibilityTimeout,
      memorySize: settings.scanMemoryMiB,
      batchSize: settings.scanBatchSize,
      maxReceiveCount,
      maxScanAge: settings.maxScanAge,
      functionDefaults,
      environment: {
        ...environment,
        ...(settings.imageChecks === undefined
          ? {}
          : { [ENV_VARS.imageChecks]: settings.imageChecks }),
      },
      tables,
      reportsBucket,
      findingsTopic,
      eventsDlq: eventsDlq.queue,
      ...(settings.registryAllowedHosts === undefined
        ? {}
        : { registryAllowedHosts: settings.registryAllowedHosts }),
      ...(provenance === undefined ? {} : { provenance, signerRevocation }),
    });
    const rescan = buildRescan(this, {
      timeout: settings.rescanTimeout,
      maxReceiveCount,
      functionDefaults,
      environment,
      tables,
      findingsTopic,
      eventsDlq: eventsDlq.queue,
    });
    // EventBridge and Security Hub (docs/integrations.md): what the scan and rescan announce.
    for (const fn of [scan.function, rescan.function]) {
      for (const [name, value] of Object.entries(
        integrationsEnvironment(this, settings.integrations),
      ))
        fn.function.addEnvironment(name, value);
      grantIntegrations(this, fn, settings.integrations);
    }
    const feedSync = buildFeedSync(this, {
      interval: settings.feedSyncInterval,
      timeout: settings.feedSyncTimeout,
      maxReceiveCount,
      ecosystems: settings.feedEcosystems,
      vendorSources: settings.feedVendorSources,
      osvBaseUrl: settings.osvBaseUrl,
      ...(props.nvdApiKeySecret === undefined ? {} : { nvdApiKeySecret: props.nvdApiKeySecret }),
      functionDefaults,
      environment,
      tables,
      rescanQueue: rescan.queue.queue,
      eventsDlq: eventsDlq.queue,
    });
    const webhook =
      settings.webhookRegistries.length === 0
        ? undefined
        : buildRegistryWebhook(this, {
            functionDefaults,
            scanQueue: scan.queue.queue,
            findingsTable: tables.findings,
            registries: settings.webhookRegistries,
            replayWindow: settings.webhookReplayWindow,
            previousSecretGrace: settings.webhookPreviousSecretGrace,
            reservedConcurrency: settings.webhookReservedConcurrency,
          });

    const pass =
      settings.provenance === undefined || provenance === undefined
        ? undefined
        : buildProvenancePass(this, {
            provenance: settings.provenance,
            wiring: provenance,
            functionDefaults,
            environment,
            ...(settings.registryAllowedHosts === undefined
              ? {}
              : { registryAllowedHosts: settings.registryAllowedHosts }),
            tables,
            findingsTopic,
            eventsDlq: eventsDlq.queue,
          });
    if (pass !== undefined) {
      grantEcrPull(this, pass.function, settings.repositories, 'ProvenanceEcrPullPolicy');
      if (signerRevocation) grantSignerRevocation(pass.function);
    }
    const trustRefresh =
      settings.provenance === undefined || provenance === undefined
        ? undefined
        : buildTrustRefresh(this, {
            provenance: settings.provenance,
            wiring: provenance,
            functionDefaults,
            eventsDlq: eventsDlq.queue,
          });

    // Last: its deploy-time step registers the pull-time exclusions of the roles that pull.
    const backfill = buildBackfill(this, {
      backfill: settings.backfill,
      repositories: settings.repositories,
      functionDefaults,
      imagesTable: tables.images,
      scanQueue: scan.queue.queue,
      pullingRoles: [scan.function, ...(pass === undefined ? [] : [pass.function])].map(
        (f) => f.function.role as iam.IRole,
      ),
    });

    this.scanQueue = scan.queue;
    this.scanFunction = scan.function;
    this.pushRule = scan.pushRule;
    this.deleteRule = scan.deleteRule;
    this.rescanQueue = rescan.queue;
    this.rescanFunction = rescan.function;
    this.feedSyncQueue = feedSync.queue;
    this.feedSyncFunction = feedSync.function;
    this.feedSyncRule = feedSync.schedule;
    this.webhookFunction = webhook?.function;
    this.webhookUrl = webhook?.url;
    this.webhookSecrets = webhook?.secrets ?? new Map();
    this.provenanceFunction = pass?.function;
    this.provenanceSchedule = pass?.schedule;
    this.trustRefreshFunction = trustRefresh?.function;
    this.backfillFunction = backfill.function;
    const audit =
      settings.audit === undefined
        ? undefined
        : buildAudit(this, {
            settings: settings.audit,
            functionDefaults,
            // The checks' configuration applies to task definitions and workloads too.
            environment: {
              ...environment,
              ...(settings.imageChecks === undefined
                ? {}
                : { [ENV_VARS.imageChecks]: settings.imageChecks }),
            },
            tables,
            findingsTopic,
            scanQueue: scan.queue.queue,
            eventsDlq: eventsDlq.queue,
          });
    this.auditFunction = audit?.function;
    // Their messages (RUNNING_*, CHECKS_* of workloads, PROVENANCE_* of the daily pass) go to
    // EventBridge as the scan's do; Security Hub takes findings only, which they do not write.
    const eventsOnly = { ...settings.integrations, securityHub: false };
    for (const fn of [audit?.function, pass?.function]) {
      if (fn === undefined) continue;
      for (const [name, value] of Object.entries(integrationsEnvironment(this, eventsOnly)))
        fn.function.addEnvironment(name, value);
      grantIntegrations(this, fn, eventsOnly);
    }
    this.eventBusName =
      settings.integrations.events === undefined
        ? undefined
        : (settings.integrations.events.eventBus?.eventBusName ?? 'default');
    this.dashboard = buildDashboard(this, {
      scanFunction: scan.function,
      rescanFunction: rescan.function,
      feedSyncFunction: feedSync.function,
      scanQueue: scan.queue,
      rescanQueue: rescan.queue,
      feedSyncQueue: feedSync.queue,
    });
    const api = buildApi(this, {
      functionDefaults,
      tables,
      reportsBucketName: reportsBucket.bucketName,
      rescanQueue: rescan.queue.queue,
      logRetention: settings.logRetention,
      removalPolicy,
    });
    this.api = api.restApi;
    this.apiFunction = api.function;

    this.alarms.push(
      scan.queue.dlqAlarm,
      rescan.queue.dlqAlarm,
      feedSync.queue.dlqAlarm,
      eventsDlq.alarm,
      scan.ageAlarm,
      scan.function.errorsAlarm,
      rescan.function.errorsAlarm,
      feedSync.function.errorsAlarm,
      backfill.function.errorsAlarm,
    );
    if (webhook !== undefined) this.alarms.push(webhook.function.errorsAlarm);
    if (pass !== undefined) this.alarms.push(pass.function.errorsAlarm);
    if (audit !== undefined) this.alarms.push(audit.function.errorsAlarm);
    this.alarms.push(api.function.errorsAlarm);
    if (props.alarmTopic !== undefined) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
